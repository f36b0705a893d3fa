import type { Readable } from 'node:stream'

/**
 * Timers that tell a client that stalled from one that is merely waiting on us, so that a slow
 * backend never gets a client cut as a hostile one.
 * Both read a stream's own 'pause' and 'resume' events, which Readable#pipe and our body
 * view emit when the consumer is full and when it drains; neither adds a 'data' listener
 * to a stream that is not already flowing, so neither changes how the stream is read.
 */

/**
 * nginx's client_body_timeout: `onStall` runs when `body` is being read (flowing) and no
 * chunk arrives for `ms`. The timer stops while the reader holds the body back (paused: the
 * backend is slow to take it, or no connection is free yet) and ends with the body.
 */
export function watchReceive (body: Readable, ms: number, onStall: () => void): void {
  const timer = new Deadline(ms, () => {
    done()
    onStall()
  })
  const onData = () => timer.refresh()
  const start = () => timer.start()
  const stop = () => timer.stop()
  const done = () => {
    timer.stop()
    body.removeListener('data', onData).removeListener('pause', stop).removeListener('resume', start)
      .removeListener('end', done).removeListener('close', done)
  }
  // Call it once the body flows (its reader attached): a 'data' listener set before that would set it flowing.
  body.on('data', onData).on('pause', stop).on('resume', start).once('end', done).once('close', done)
  if (body.readableFlowing === true) start()
}

/**
 * nginx's send_timeout: `onStall` runs when `source`, piped to a client, stays paused for
 * `ms` because the client's connection takes no more bytes (Readable#pipe pauses its source
 * when the destination is full, and resumes it on 'drain'). A source that is idle on its own
 * (a slow backend, a quiet event stream) is not paused, so its wait is not counted.
 */
export function watchSend<T> (source: Readable, ms: number, onStall: (arg: T) => void, arg?: T): void {
  // Most answers never pause (a small body fits the socket at once): one shared listener and
  // one small record on the source until the first pause, and the timer and its listeners only
  // from then on (≈4 listeners added and removed, a timer object and three closures less per
  // request: measurable on the hot path). `arg` is handed to onStall, so that a caller can pass
  // a shared function instead of a closure made per request.
  (source as Watched)[kWatch] = { ms, onStall: onStall as (arg: unknown) => void, arg }
  source.on('pause', onFirstPause)
}

const kWatch = Symbol('gatehouse.sendWatch')
type Watched = Readable & { [kWatch]?: { ms: number, onStall: (arg: unknown) => void, arg: unknown } }

function onFirstPause (this: Watched): void {
  this.removeListener('pause', onFirstPause)
  const watch = this[kWatch]
  this[kWatch] = undefined
  // unpipe() pauses a source that has ended or failed: nothing is left to watch then.
  if (watch === undefined || this.readableEnded || this.destroyed) return
  watchPaused(this, watch.ms, () => watch.onStall(watch.arg))
}

/**
 * The send watch proper, from a pause of `source` on. A 1 MiB answer pauses and resumes about
 * sixteen times (every 64 KiB chunk fills the response's buffer, and pipe waits for 'drain'),
 * so a pause and a resume only note the time and a flag: one timer runs, re-armed when it
 * fires, instead of a setTimeout and a clearTimeout per chunk. It fires `ms` after the pause
 * that is still in force, as a timer per pause would.
 */
function watchPaused (source: Readable, ms: number, onStall: () => void): void {
  let paused = true
  let pausedAt = performance.now()
  let timer: NodeJS.Timeout | undefined
  const check = (): void => {
    timer = undefined
    // Resumed since: the next pause arms it again.
    if (!paused) return
    const left = ms - (performance.now() - pausedAt)
    if (left > 0) {
      timer = setTimeout(check, left)
      return
    }
    done()
    onStall()
  }
  const pause = (): void => {
    paused = true
    pausedAt = performance.now()
    timer ??= setTimeout(check, ms)
  }
  const resume = (): void => { paused = false }
  const done = (): void => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    source.removeListener('pause', pause).removeListener('resume', resume).removeListener('end', done).removeListener('close', done)
  }
  source.on('pause', pause).on('resume', resume).once('end', done).once('close', done)
  timer = setTimeout(check, ms)
}

/** A timer that runs only between start() and stop(), at most one at a time. */
class Deadline {
  private timer: NodeJS.Timeout | undefined

  constructor (private readonly ms: number, private readonly onFire: () => void) {}

  start (): void {
    this.timer ??= setTimeout(this.fire, this.ms)
  }

  stop (): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }

  refresh (): void {
    this.timer?.refresh()
  }

  private readonly fire = (): void => {
    this.timer = undefined
    this.onFire()
  }
}
