// Many tus-js-client uploads at once into one gateway process: every object identical on download,
// and the process's peak memory stays bounded.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { dataBuffer, seededRandom } from './helpers/data.js'
import { type GatewayProcess, killGateway, peakRssBytes, removeDir, startGateway, tempDir } from './helpers/gateway-process.js'
import { download, headOffset } from './helpers/http.js'
import { uploadAll } from './helpers/tus-client.js'

/** Per-test hang guard (a stuck socket must fail the run, not stall it); never a performance bound. */
const HANG_GUARD = { timeout: 120_000 }

const KiB = 1024
const MiB = 1024 * KiB
const UPLOADS = 20
/** A sanity ceiling for the gateway's peak RSS, not a benchmark. */
const RSS_CEILING_BYTES = 400 * 1000 * 1000

let dir: string
let gateway: GatewayProcess

before(async () => {
  dir = await tempDir('concurrency')
  gateway = await startGateway({ dataDir: join(dir, 'data') })
})

after(async () => {
  await killGateway(gateway)
  await removeDir(dir)
})

test(`${UPLOADS} concurrent tus-js-client uploads (0–8 MiB, some parallelUploads): all identical, peak RSS bounded`, HANG_GUARD, async () => {
  const rng = seededRandom(20)
  const jobs = Array.from({ length: UPLOADS }, (_, i) => {
    // Edge sizes first (empty, one byte, exactly one 1 MiB stripe), then seeded sizes up to 8 MiB.
    const size = [0, 1, MiB][i] ?? Math.floor(rng() * 8 * MiB)
    // parallelUploads only where every partial gets at least one byte.
    const parallel = i % 4 === 3 && size >= 2 + (i % 3) ? 2 + (i % 3) : 1
    const chunkSize = i % 5 === 4 ? 512 * KiB + 64 : Number.POSITIVE_INFINITY
    return { i, size, parallel, chunkSize, bytes: dataBuffer(size, `concurrent-${i}`) }
  })

  const urls = await Promise.all(
    jobs.map((job) =>
      uploadAll(job.bytes, {
        endpoint: gateway.url,
        metadata: { filename: `f${job.i}.bin` },
        chunkSize: job.chunkSize,
        ...(job.parallel > 1 && { parallelUploads: job.parallel }),
      }),
    ),
  )
  assert.equal(new Set(urls).size, UPLOADS)

  await Promise.all(
    jobs.map(async (job, n) => {
      const url = urls[n]!
      const head = await headOffset(url)
      assert.equal(head.offset, job.size, `upload ${job.i}`)
      if (job.parallel > 1) assert.match(String(head.headers['upload-concat']), /^final;/, `upload ${job.i}`)
      else assert.equal(head.headers['upload-concat'], undefined, `upload ${job.i}`)
      const got = await download(url)
      assert.equal(got.status, 200, `upload ${job.i}: ${got.text}`)
      assert.equal(got.complete, true, `upload ${job.i}`)
      assert.equal(got.sha256, createHash('sha256').update(job.bytes).digest('hex'), `upload ${job.i} (${job.size} bytes)`)
    }),
  )

  const peak = await peakRssBytes(gateway.pid)
  assert.ok(peak < RSS_CEILING_BYTES, `gateway peak RSS ${(peak / 1e6).toFixed(0)} MB ≥ ${RSS_CEILING_BYTES / 1e6} MB`)
  assert.equal(gateway.child.exitCode, null, 'the gateway is still running')
})
