// Paired ratios from a bench/variants.sh CSV: for each round and scenario, each variant's CPU
// µs per request divided by the first variant's in the same round, then the median of those
// ratios. Rounds interleave, so a ratio within a round cancels most of the host's drift.
//   node bench/paired.js <variants-*.csv> [baseline-name]
const fs = require('fs')
const rows = fs.readFileSync(process.argv[2], 'utf8').trim().split('\n').slice(1).map(l => l.split(','))
const base = process.argv[3] ?? rows[0][1]
const cell = {}
for (const [round, sut, sc, , , p99, , cpu] of rows) (cell[sc] ??= {})[round + '|' + sut] = { cpu: +cpu, p99: +p99 }
const med = a => { const s = a.filter(x => Number.isFinite(x)).sort((x, y) => x - y); return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN }
const suts = [...new Set(rows.map(r => r[1]))]
const rounds = [...new Set(rows.map(r => r[0]))]
console.log(`| scenario | variant | CPU µs/req (median) | ÷ ${base}, per round | median ratio |`)
console.log('|---|---|---:|---|---:|')
for (const sc of Object.keys(cell)) {
  for (const s of suts) {
    const ratios = rounds.map(r => cell[sc][r + '|' + s]?.cpu / cell[sc][r + '|' + base]?.cpu)
    const cpus = rounds.map(r => cell[sc][r + '|' + s]?.cpu)
    console.log(`| ${sc} | ${s} | ${med(cpus)} | ${ratios.map(x => x.toFixed(2)).join(' ')} | ${med(ratios).toFixed(3)} |`)
  }
}
