// Preloaded (`node -r`) into the gateway by bench/alloc-cpu.sh: the first SIGWINCH (which close-with-grace, under fastify start, leaves alone, unlike SIGUSR2) opens a
// measuring window, the second closes it and prints, on stderr, one JSON line with the CPU time
// (process.cpuUsage) and the bytes allocated on the V8 heap in the window (the heap in use at the
// end less at the start, plus what every GC in between freed, from v8.GCProfiler), and the
// number of scavenges and of mark-compacts. A loaded machine stretches wall time, much less
// these: a request allocates the same bytes and runs nearly the same instructions either way.
'use strict'
const v8 = require('node:v8')
let open = null
process.on('SIGWINCH', () => {
  if (open === null) {
    const profiler = new v8.GCProfiler()
    profiler.start()
    open = { profiler, cpu: process.cpuUsage(), used: v8.getHeapStatistics().used_heap_size }
    return
  }
  const cpu = process.cpuUsage(open.cpu)
  const used = v8.getHeapStatistics().used_heap_size
  const { statistics } = open.profiler.stop()
  let freed = 0
  let scavenges = 0
  let marks = 0
  for (const gc of statistics) {
    freed += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize
    if (/Scavenge|MinorMarkSweep/.test(gc.gcType)) scavenges++
    else marks++
  }
  process.stderr.write(JSON.stringify({ window: true, userUs: cpu.user, sysUs: cpu.system, allocated: used - open.used + freed, scavenges, marks }) + '\n')
  open = null
})

// ALLOC_SAMPLE=FILE: the window also samples where the heap bytes are allocated (V8's sampling
// heap profiler, keeping the samples of objects the GC has collected since: short-lived
// allocation is the point), written to FILE as a .heapprofile (bench/alloc-summary.js reads it).
if (process.env.ALLOC_SAMPLE) {
  const inspector = require('node:inspector')
  const fs = require('node:fs')
  const session = new inspector.Session()
  session.connect()
  let sampling = false
  process.on('SIGWINCH', () => {
    if (!sampling) {
      sampling = true
      session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
      return
    }
    sampling = false
    session.post('HeapProfiler.stopSampling', (err, res) => {
      if (err) process.stderr.write(`sampling failed: ${err.message}\n`)
      else fs.writeFileSync(process.env.ALLOC_SAMPLE, JSON.stringify(res.profile))
    })
  })
}
