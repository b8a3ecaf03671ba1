// Codec throughput per core: Reed-Solomon encode and reconstruct for 4+2 and 10+4 on 1 MiB blocks,
// and the per-block xxhash64 checksum. GB/s = 1e9 bytes/s counted over the k data blocks
// (over the hashed bytes for the checksum). Medians of several timed runs after a warm-up.
//
//   node --import tsx bench/codec.ts [--quick]
//
// Prints a markdown table and writes bench/results/codec.json.
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { performance } from 'node:perf_hooks'
import { createBlockChecksum, ReedSolomon } from '@tessera/erasure'
import { seededBytes } from './lib/seeded-file.js'
import { median } from './lib/stats.js'

const quick = process.argv.includes('--quick')
const RUNS = quick ? 3 : 7
/** Minimum duration of one timed run; iterations are repeated until it is reached. */
const RUN_MS = quick ? 150 : 400
const BLOCK_BYTES = 1 << 20

interface Row {
  case: string
  dataBlocks: number
  parityBlocks: number
  lostBlocks: number
  blockBytes: number
  kernel: string
  gbPerSecond: number
  runsGbPerSecond: number[]
}

/** GB/s of `fn`, which processes `bytes` bytes per call: median over RUNS runs of ≥ RUN_MS each. */
function measure(bytes: number, fn: () => void): number[] {
  const warmUntil = performance.now() + RUN_MS
  while (performance.now() < warmUntil) fn()
  const results: number[] = []
  for (let r = 0; r < RUNS; r++) {
    let iterations = 0
    const start = performance.now()
    let elapsed = 0
    do {
      fn()
      iterations++
      elapsed = performance.now() - start
    } while (elapsed < RUN_MS)
    results.push((bytes * iterations) / (elapsed / 1000) / 1e9)
  }
  return results
}

const rows: Row[] = []
for (const [k, m, lost] of [
  [4, 2, 2],
  [10, 4, 4],
] as const) {
  const rs = await ReedSolomon.create({ dataBlocks: k, parityBlocks: m })
  const data = Array.from({ length: k }, (_, i) => seededBytes(BLOCK_BYTES, i + 1))
  const parity = Array.from({ length: m }, () => new Uint8Array(BLOCK_BYTES))
  const encodeRuns = measure(k * BLOCK_BYTES, () => rs.encode(data, parity))
  rows.push({ case: `encode ${k}+${m}`, dataBlocks: k, parityBlocks: m, lostBlocks: 0, blockBytes: BLOCK_BYTES, kernel: rs.kernel, gbPerSecond: median(encodeRuns), runsGbPerSecond: encodeRuns })

  const stripe: (Uint8Array | undefined)[] = [...data, ...parity]
  for (let i = 0; i < lost; i++) stripe[i] = undefined
  const rebuilt = rs.reconstruct(stripe)
  if (!data.every((d, i) => Buffer.compare(d, rebuilt[i]!) === 0)) throw new Error(`reconstruct ${k}+${m} produced wrong bytes`)
  const reconstructRuns = measure(k * BLOCK_BYTES, () => rs.reconstruct(stripe))
  rows.push({ case: `reconstruct ${k}+${m}, ${lost} data blocks lost`, dataBlocks: k, parityBlocks: m, lostBlocks: lost, blockBytes: BLOCK_BYTES, kernel: rs.kernel, gbPerSecond: median(reconstructRuns), runsGbPerSecond: reconstructRuns })
  // The same with reused output buffers: what a gateway that pools its block buffers sees.
  const targets = stripe.map((b) => (b === undefined ? new Uint8Array(BLOCK_BYTES) : undefined))
  const reuseRuns = measure(k * BLOCK_BYTES, () => rs.reconstruct(stripe, { targets }))
  rows.push({ case: `reconstruct ${k}+${m}, ${lost} data blocks lost, reused targets`, dataBlocks: k, parityBlocks: m, lostBlocks: lost, blockBytes: BLOCK_BYTES, kernel: rs.kernel, gbPerSecond: median(reuseRuns), runsGbPerSecond: reuseRuns })
}

const checksum = await createBlockChecksum()
const block = seededBytes(BLOCK_BYTES, 99)
const checksumRuns = measure(BLOCK_BYTES, () => checksum(block))
rows.push({ case: 'checksum xxhash64', dataBlocks: 1, parityBlocks: 0, lostBlocks: 0, blockBytes: BLOCK_BYTES, kernel: 'hash-wasm', gbPerSecond: median(checksumRuns), runsGbPerSecond: checksumRuns })

const environment = { node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, runs: RUNS, runMs: RUN_MS, quick }
console.log(`\nCodec throughput, one core, ${BLOCK_BYTES >> 20} MiB blocks, median of ${RUNS} runs (${environment.cpu}, Node ${environment.node})\n`)
console.log('| case | kernel | GB/s (median) | runs |')
console.log('|---|---|---:|---|')
for (const row of rows) {
  console.log(`| ${row.case} | ${row.kernel} | ${row.gbPerSecond.toFixed(2)} | ${row.runsGbPerSecond.map((x) => x.toFixed(2)).join(' ')} |`)
}
const resultsDir = new URL('./results/', import.meta.url)
mkdirSync(resultsDir, { recursive: true })
writeFileSync(new URL('codec.json', resultsDir), JSON.stringify({ benchmark: 'codec', unit: 'GB/s (1e9 bytes/s of data blocks)', environment, results: rows }, null, 2) + '\n')
console.log('\nwrote bench/results/codec.json')
