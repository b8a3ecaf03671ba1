// Crash durability of the gateway process: SIGKILL mid-PATCH at seeded points (once or three times
// on one upload, or mid checksummed PATCH) loses no acknowledged byte, and the upload resumes from
// HEAD to a byte-identical object — also by tus-js-client's own retries; SIGTERM mid-PATCH exits 0
// and commits or cleanly rejects what it received. Acknowledged = a 204's Upload-Offset.
import assert from 'node:assert/strict'
import { createReadStream } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { seededRandom, sha256Of, writeDataFile } from './helpers/data.js'
import { type GatewayProcess, killGateway, removeDir, startGateway, tempDir, urlOn } from './helpers/gateway-process.js'
import { createUpload, download, headOffset } from './helpers/http.js'
import { rawPatch } from './helpers/raw-patch.js'
import { uploadAll } from './helpers/tus-client.js'

/** Per-test hang guard (a stuck socket must fail the run, not stall it); never a performance bound. */
const HANG_GUARD = { timeout: 120_000 }

const MiB = 1024 * 1024
const SIZE = 96 * MiB + 4321

let dir: string
let file: string
let expected: string
const running = new Set<GatewayProcess>()

before(async () => {
  dir = await tempDir('crash')
  file = join(dir, 'source.bin')
  expected = await writeDataFile(file, SIZE, 'crash')
})

after(async () => {
  await Promise.all([...running].map(killGateway))
  await removeDir(dir)
})

async function start(dataDir: string): Promise<GatewayProcess> {
  const gateway = await startGateway({ dataDir })
  running.add(gateway)
  void gateway.exited.then(() => running.delete(gateway))
  return gateway
}

/** The same upload path on another gateway process (the port changes across restarts). */

/** Bytes `[from, to)` of the source file. */
const slice = (from: number, to: number): AsyncIterable<Uint8Array> => createReadStream(file, { start: from, end: to - 1 })

/**
 * Bytes `[from, to)` of the source file, pausing for good once `pauseAt` (absolute) is reached:
 * the request then stays open mid-body. `paused` resolves at that moment; `release()` ends the body.
 */
function pausingSlice(from: number, to: number, pauseAt: number): { body: AsyncIterable<Uint8Array>; paused: Promise<void>; release: () => void } {
  let onPaused!: () => void
  let release!: () => void
  const paused = new Promise<void>((resolve) => (onPaused = resolve))
  const released = new Promise<void>((resolve) => (release = resolve))
  async function* body(): AsyncGenerator<Uint8Array> {
    let position = from
    for await (const chunk of slice(from, to) as AsyncIterable<Buffer>) {
      if (position + chunk.length >= pauseAt) {
        if (pauseAt > position) yield chunk.subarray(0, pauseAt - position)
        onPaused()
        await released
        return
      }
      position += chunk.length
      yield chunk
    }
  }
  return { body: body(), paused, release }
}

/** Sends the rest of the file from the server's offset in one PATCH and checks the download. */
async function resumeAndVerify(url: string, offset: number): Promise<void> {
  if (offset < SIZE) {
    const { outcome } = rawPatch(url, offset, SIZE - offset, slice(offset, SIZE))
    const done = await outcome
    assert.equal(done.kind, 'response', done.kind === 'error' ? done.error.message : '')
    assert.equal(done.status, 204, done.text)
    assert.equal(done.offset, SIZE)
  }
  const got = await download(url)
  assert.equal(got.status, 200, got.text)
  assert.equal(got.complete, true)
  assert.equal(got.bytes, SIZE)
  assert.equal(got.sha256, expected)
}

/**
 * Sends the file from `from` in PATCHes of `patchBytes()` bytes, each acknowledged (204) before the
 * next, until the body reaches `killAt`; there, mid-PATCH, waits a seeded moment and SIGKILLs the
 * gateway. Resolves the highest offset the server acknowledged.
 */
async function sendAndKill(gateway: GatewayProcess, url: string, from: number, killAt: number, patchBytes: () => number, rng: () => number): Promise<number> {
  let acked = from
  for (;;) {
    const to = Math.min(SIZE, acked + patchBytes())
    const body = to >= killAt ? pausingSlice(acked, to, killAt) : { body: slice(acked, to), paused: new Promise<void>(() => undefined), release: () => undefined }
    const { outcome } = rawPatch(url, acked, to - acked, body.body)
    const first = await Promise.race([outcome, body.paused.then(() => 'paused' as const)])
    if (first === 'paused') {
      // Give the gateway a seeded moment to store part of what is in flight, then kill it hard.
      await new Promise((resolve) => setTimeout(resolve, Math.floor(200 * rng())))
      assert.equal(await gateway.stop('SIGKILL'), 'SIGKILL')
      body.release()
      const cut = await outcome
      assert.equal(cut.kind, 'error', 'a PATCH cut by SIGKILL cannot have been answered')
      return acked
    }
    assert.equal(first.kind, 'response', first.kind === 'error' ? first.error.message : '')
    assert.equal(first.status, 204, first.text)
    assert.equal(first.offset, to)
    acked = first.offset
  }
}

/** Restarts on `dataDir` and checks HEAD against what was acknowledged and what was sent. */
async function restartAndCheck(dataDir: string, url: string, acked: number, sent: number): Promise<{ gateway: GatewayProcess; url: string; offset: number }> {
  const gateway = await start(dataDir)
  const resumed = urlOn(gateway, url)
  const head = await headOffset(resumed)
  assert.equal(head.status, 200)
  assert.ok(head.offset >= acked, `HEAD offset ${head.offset} < acknowledged ${acked} (kill at ${sent})`)
  assert.ok(head.offset <= sent, `HEAD offset ${head.offset} > the ${sent} bytes sent`)
  return { gateway, url: resumed, offset: head.offset }
}

describe('gateway crash durability', () => {
  // Seed 3 sends the whole file as one long PATCH (nothing acknowledged before the kill); the others
  // send seeded 2–16 MiB PATCHes, so some are acknowledged first.
  for (const seed of [1, 2, 3]) {
    test(`SIGKILL mid-PATCH at a seeded point (seed ${seed}) keeps every acknowledged byte`, HANG_GUARD, async () => {
      const rng = seededRandom(seed)
      const killAt = Math.floor((0.1 + 0.8 * rng()) * SIZE)
      const patchBytes = (): number => (seed === 3 ? SIZE : Math.floor((2 + 14 * rng()) * MiB))
      const dataDir = join(dir, `kill-${seed}`)
      const first = await start(dataDir)
      const url = await createUpload(first.url, SIZE)
      const acked = await sendAndKill(first, url, 0, killAt, patchBytes, rng)
      const { gateway, url: resumed, offset } = await restartAndCheck(dataDir, url, acked, killAt)
      await resumeAndVerify(resumed, offset)
      assert.equal(await gateway.stop('SIGTERM'), 0)
    })
  }

  test('three SIGKILLs on one upload (seed 4), each restart resuming from HEAD', HANG_GUARD, async () => {
    const rng = seededRandom(4)
    const dataDir = join(dir, 'kill-thrice')
    let gateway = await start(dataDir)
    let url = await createUpload(gateway.url, SIZE)
    let offset = 0
    for (let round = 1; round <= 3; round++) {
      const killAt = offset + Math.floor((0.05 + 0.2 * rng()) * (SIZE - offset))
      const acked = await sendAndKill(gateway, url, offset, killAt, () => Math.floor((1 + 7 * rng()) * MiB), rng)
      ;({ gateway, url, offset } = await restartAndCheck(dataDir, url, acked, killAt))
    }
    await resumeAndVerify(url, offset)
    assert.equal(await gateway.stop('SIGTERM'), 0)
  })

  test('SIGKILL mid-PATCH with Upload-Checksum: the checksummed PATCH commits nothing, earlier ones stay', HANG_GUARD, async () => {
    const dataDir = join(dir, 'kill-checksum')
    const first = await start(dataDir)
    const url = await createUpload(first.url, SIZE)
    const acked = 8 * MiB + 3
    const plain = await rawPatch(url, 0, acked, slice(0, acked)).outcome
    assert.equal(plain.kind === 'response' && plain.status, 204)
    const to = acked + 24 * MiB
    const digest = Buffer.from(await sha256Of(slice(acked, to)), 'hex').toString('base64')
    const body = pausingSlice(acked, to, acked + 20 * MiB)
    const { outcome } = rawPatch(url, acked, to - acked, body.body, { 'Upload-Checksum': `sha256 ${digest}` })
    await body.paused
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(await first.stop('SIGKILL'), 'SIGKILL')
    body.release()
    assert.equal((await outcome).kind, 'error')

    const { gateway, url: resumed, offset } = await restartAndCheck(dataDir, url, acked, acked + 20 * MiB)
    assert.equal(offset, acked, 'an unverified checksummed body is never committed')
    await resumeAndVerify(resumed, offset)
    assert.equal(await gateway.stop('SIGTERM'), 0)
  })

  test('tus-js-client (parallelUploads: 2, retryDelays) rides through a SIGKILL and a restart on the same port', HANG_GUARD, async () => {
    const dataDir = join(dir, 'kill-client')
    let gateway = await start(dataDir)
    // The same port, so the URLs the client holds stay valid across the restart.
    const port = Number(new URL(gateway.url).port)
    let restarted: Promise<GatewayProcess> | undefined
    let retries = 0
    const url = await uploadAll(createReadStream(file), {
      endpoint: gateway.url,
      parallelUploads: 2,
      chunkSize: 4 * MiB,
      retryDelays: [100, 300, 600, 1000, 2000, 4000],
      onShouldRetry: () => {
        retries++
        return true
      },
      onChunkComplete: (_chunk, accepted) => {
        if (restarted || accepted < 24 * MiB) return
        restarted = (async () => {
          assert.equal(await gateway.stop('SIGKILL'), 'SIGKILL')
          gateway = await startGateway({ dataDir, port })
          running.add(gateway)
          return gateway
        })()
      },
    })
    assert.ok(restarted, 'the gateway was killed mid-upload')
    await restarted
    assert.ok(retries > 0, 'the client saw the kill and retried')
    assert.match(String((await headOffset(url)).headers['upload-concat']), /^final;/)
    const got = await download(url)
    assert.equal(got.complete, true)
    assert.equal(got.sha256, expected)
    assert.equal(await gateway.stop('SIGTERM'), 0)
  })

  test('SIGTERM mid-PATCH: exit 0, received bytes committed and answered (or cleanly rejected), resume works', HANG_GUARD, async () => {
    const dataDir = join(dir, 'term')
    let gateway = await start(dataDir)
    const url = await createUpload(gateway.url, SIZE)
    const pauseAt = Math.floor(SIZE * 0.4) + 777
    const body = pausingSlice(0, SIZE, pauseAt)
    const { outcome } = rawPatch(url, 0, SIZE, body.body)
    await body.paused
    // Let the gateway take in the bytes on the wire; what it has not stored yet is simply not acknowledged.
    await new Promise((resolve) => setTimeout(resolve, 300))
    const exit = gateway.stop('SIGTERM')
    const answer = await outcome
    body.release()
    assert.equal(await exit, 0)

    gateway = await start(dataDir)
    const resumed = urlOn(gateway, url)
    const head = await headOffset(resumed)
    assert.equal(head.status, 200)
    assert.ok(head.offset <= pauseAt, `HEAD offset ${head.offset} > the ${pauseAt} bytes sent`)
    if (answer.kind === 'response') {
      // The stopped PATCH was answered: with the offset it committed, which HEAD must agree with.
      assert.equal(answer.status, 204, answer.text)
      assert.equal(head.offset, answer.offset)
    }
    await resumeAndVerify(resumed, head.offset)
    assert.equal(await gateway.stop('SIGTERM'), 0)
  })
})
