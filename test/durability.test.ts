// Durability of stored bytes against backend loss and corruption, on the gateway process and its
// real backends — once over directories, once over buckets of a real S3 server (scripts/s3-local.sh):
// ≤ m lost or corrupt blocks per stripe never change a byte served; more than m answer 503 (or cut
// the body short), never wrong bytes.
import assert from 'node:assert/strict'
import { createReadStream } from 'node:fs'
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { dataBuffer, dataChunks, sha256Data, writeDataFile } from './helpers/data.js'
import { type GatewayProcess, killGateway, removeDir, startGateway, tempDir, waitForLog, urlOn } from './helpers/gateway-process.js'
import { createUpload, download, headOffset, tusRequest } from './helpers/http.js'
import { rawPatch } from './helpers/raw-patch.js'
import { describeS3 } from '@tessera/storage/testing'
import { fsMedium, s3Medium, type BackendMedium, type StoredBlockRef } from '@tessera/gateway/testing'
import { uploadAll } from './helpers/tus-client.js'

/** Per-test hang guard (a stuck socket must fail the run, not stall it); never a performance bound. */
const HANG_GUARD = { timeout: 60_000 }

const KiB = 1024
const MiB = 1024 * KiB
/** Geometry pinned on the command line (the tests reason about stripe boundaries): 4 + 2 blocks of 256 KiB, one directory each. */
const K = 4
const M = 2
const BLOCK = 256 * KiB
const STRIPE = K * BLOCK
/**
 * Repair off: these tests reason about what the store serves with blocks gone, and the durability
 * engine would restore them mid-test (repair is proven in apps/gateway/test/durability-repair.test.ts).
 */
// Echoes off too: an object read twice is served from memory once its blocks are gone (that is
// apps/gateway/test/read-path.test.ts's to prove), and these tests reason about the blocks.
const GEOMETRY = ['--data-blocks', String(K), '--parity-blocks', String(M), '--block-size', String(BLOCK), '--durability', 'none', '--echo-memory', '0']

const dirs: string[] = []
const media: BackendMedium[] = []
const running = new Set<GatewayProcess>()

after(async () => {
  await Promise.all([...running].map(killGateway))
  await Promise.all(dirs.map(removeDir))
  await Promise.all(media.map((m) => m.dispose()))
})

/** One test's gateway state: a data directory and the medium of its k+m backends. */
interface Setup {
  readonly dir: string
  readonly dataDir: string
  readonly medium: BackendMedium
}

async function start({ dataDir, medium }: Setup, extra: readonly string[] = []): Promise<GatewayProcess> {
  const gateway = await startGateway({ dataDir, args: [...GEOMETRY, ...medium.flags, ...extra] })
  running.add(gateway)
  void gateway.exited.then(() => running.delete(gateway))
  return gateway
}


interface Stored {
  readonly seed: string
  readonly size: number
  readonly path: string
}

/** Sizes around stripe boundaries: sub-block, exactly one stripe, several stripes and a ragged tail. */
const SIZES = [100, STRIPE, 5 * STRIPE + 12_345, 3 * MiB]

async function uploadFiles(gateway: GatewayProcess, tag: string): Promise<Stored[]> {
  const stored: Stored[] = []
  for (const size of SIZES) {
    const seed = `${tag}-${size}`
    const url = await uploadAll(dataBuffer(size, seed), { endpoint: gateway.url, chunkSize: MiB })
    stored.push({ seed, size, path: new URL(url).pathname })
  }
  return stored
}

/** Ranges of a `size`-byte object: first byte, across a stripe boundary, inside a later block, a suffix. */
function rangesOf(size: number): { header: string; start: number; end: number }[] {
  const ranges = [{ header: 'bytes=0-0', start: 0, end: 1 }]
  if (size > STRIPE + 10) ranges.push({ header: `bytes=${STRIPE - 10}-${STRIPE + 9}`, start: STRIPE - 10, end: STRIPE + 10 })
  if (size > 3 * STRIPE) ranges.push({ header: `bytes=${2 * STRIPE + 300 * KiB}-${3 * STRIPE - 1}`, start: 2 * STRIPE + 300 * KiB, end: 3 * STRIPE })
  const suffix = Math.min(size, 70_000)
  ranges.push({ header: `bytes=-${suffix}`, start: size - suffix, end: size })
  return ranges
}

/** Full and Range downloads of every stored file are byte-identical. */
async function assertAllIdentical(gateway: GatewayProcess, stored: readonly Stored[]): Promise<void> {
  for (const file of stored) {
    const url = new URL(file.path, gateway.url).href
    const full = await download(url)
    assert.equal(full.status, 200, `${file.seed}: ${full.text}`)
    assert.equal(full.complete, true, file.seed)
    assert.equal(full.sha256, sha256Data(file.seed, file.size), file.seed)
    for (const range of rangesOf(file.size)) {
      const part = await download(url, { range: range.header })
      assert.equal(part.status, 206, `${file.seed} ${range.header}: ${part.text}`)
      assert.equal(part.complete, true)
      assert.equal(part.headers['content-range'], `bytes ${range.start}-${range.end - 1}/${file.size}`)
      assert.equal(part.sha256, sha256Data(file.seed, file.size, range.start, range.end), `${file.seed} ${range.header}`)
    }
  }
}

interface ManifestLine {
  readonly stripes?: { blockBytes: number; blocks: (StoredBlockRef | null)[] }[]
  readonly append?: { blockBytes: number; blocks: (StoredBlockRef | null)[] }[]
}

/** The stripes of an upload, from its manifest file (JSON lines: a header, then appends). */
async function stripesOf(dataDir: string, id: string) {
  const lines = (await readFile(join(dataDir, 'meta', 'manifests', `${id}.manifest`), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as ManifestLine)
  return lines.flatMap((l) => l.stripes ?? l.append ?? [])
}

/** The suite over one kind of backend: `newSetup(name)` makes a test's data directory and backends. */
function durabilityTests(newSetup: (name: string) => Promise<Setup>): void {
  test(`m = ${M} backends removed: full and Range downloads identical, before and after a restart; m + 1 gone: 503, never wrong bytes`, HANG_GUARD, async () => {
    const setup = await newSetup('loss')
    const { medium } = setup
    let gateway = await start(setup)
    const stored = await uploadFiles(gateway, 'loss')
    await assertAllIdentical(gateway, stored)

    await medium.lose(await medium.idOf(1))
    await medium.lose(await medium.idOf(4))
    await assertAllIdentical(gateway, stored)
    await waitForLog(gateway, (l) => l.level === 40 && l.msg === 'block unusable, reading around it')

    assert.equal(await gateway.stop('SIGTERM'), 0)
    gateway = await start(setup)
    await assertAllIdentical(gateway, stored)

    // A third directory: more than m blocks of every stripe are gone, at least one of them a data
    // block, so no whole object can be served; a Range over surviving data blocks still can.
    await medium.lose(await medium.idOf(2))
    for (const file of stored) {
      const url = new URL(file.path, gateway.url).href
      const full = await download(url)
      assert.ok(!(full.status < 300 && full.complete), `${file.seed}: a complete ${full.status} body after losing m + 1 blocks of every stripe`)
      // Stripe 0 is read before the status line, and it is unrecoverable: a clean 503.
      assert.equal(full.status, 503, file.seed)
      assert.equal(full.headers['tessera-error-code'], 'TESSERA_ERR_UNAVAILABLE', file.seed)
      for (const range of rangesOf(file.size)) {
        const got = await download(url, { range: range.header })
        const what = `${file.seed} ${range.header}`
        // Each Range is served (whole, or cut short) with the right bytes, or cleanly refused: nothing else.
        if (got.status === 206) {
          assert.equal(got.sha256, sha256Data(file.seed, file.size, range.start, range.start + got.bytes), `${what}: wrong bytes`)
          if (got.complete) assert.equal(got.bytes, range.end - range.start, what)
        } else {
          assert.equal(got.status, 503, `${what}: ${got.text}`)
          assert.equal(got.headers['tessera-error-code'], 'TESSERA_ERR_UNAVAILABLE', what)
        }
      }
    }
  })

  test('one flipped byte in a data block: download identical, checksum caught it, warning logged', HANG_GUARD, async () => {
    const setup = await newSetup('corrupt')
    const { dataDir, medium } = setup
    const gateway = await start(setup)
    const size = 2 * STRIPE + 999
    const seed = 'corrupt'
    const url = await uploadAll(dataBuffer(size, seed), { endpoint: gateway.url })
    // Flip a byte in the middle of a data block (index < k) of the first stripe, found through the manifest.
    const [first] = await stripesOf(dataDir, new URL(url).pathname.split('/').pop()!)
    await medium.corrupt(first!.blocks[1]!, first!.blockBytes >> 1)

    const got = await download(url)
    assert.equal(got.status, 200, got.text)
    assert.equal(got.complete, true)
    assert.equal(got.sha256, sha256Data(seed, size))
    const warning = await waitForLog(gateway, (l) => l.level === 40 && l.kind === 'corrupt')
    assert.equal(warning.code, 'STORAGE_ERR_CORRUPT')
  })

  test('m + 1 corrupt blocks in a later stripe: the body is cut short against Content-Length, never wrong bytes', HANG_GUARD, async () => {
    const setup = await newSetup('cut')
    const { dataDir, medium } = setup
    const gateway = await start(setup)
    const size = 5 * STRIPE + 4321
    const seed = 'cut'
    const url = await uploadAll(dataBuffer(size, seed), { endpoint: gateway.url })
    const id = new URL(url).pathname.split('/').pop()!
    const stripes = await stripesOf(dataDir, id)
    assert.equal(stripes.length, 6)
    // Stripe 3 loses three blocks (two of them data) to corruption; stripes 0–2 stay intact.
    for (const index of [0, 2, 5]) await medium.corrupt(stripes[3]!.blocks[index]!, 7)
    const got = await download(url)
    assert.equal(got.status, 200)
    assert.equal(got.headers['content-length'], String(size))
    assert.equal(got.complete, false)
    assert.ok(got.bytes <= 3 * STRIPE, `${got.bytes} bytes served; only the 3 intact stripes may be`)
    const range = await download(url, { range: `bytes=${STRIPE}-${4 * STRIPE - 1}` })
    assert.ok(!(range.complete && range.status === 206), 'a Range over the corrupt stripe cannot complete')
    const intact = await download(url, { range: `bytes=0-${3 * STRIPE - 1}` })
    assert.equal(intact.status, 206)
    assert.equal(intact.sha256, sha256Data(seed, size, 0, 3 * STRIPE))
    await waitForLog(gateway, (l) => l.level === 50 && l.msg === 'download aborted by a storage failure')
  })

  test('a backend removed during an upload: the upload completes, download identical', HANG_GUARD, async () => {
    const setup = await newSetup('during')
    const { dir, medium } = setup
    const gateway = await start(setup)
    const size = 24 * MiB + 77
    const file = join(dir, 'source.bin')
    const expected = await writeDataFile(file, size, 'during')
    const victim = await medium.idOf(3)
    let removed: Promise<void> | undefined
    let patches = 0
    const url = await uploadAll(createReadStream(file), {
      endpoint: gateway.url,
      chunkSize: 4 * MiB,
      onChunkComplete: (_chunk, accepted) => {
        // After the first acknowledged chunk, while the next PATCH streams.
        if (accepted >= 4 * MiB && !removed) removed = medium.lose(victim)
      },
      // The third PATCH waits for the removal to be over (a bucket takes longer to go than a
      // directory: it must be emptied first, while the second PATCH adds to it), so the rest of the
      // upload is written with the backend gone, whatever the medium.
      onBeforeRequest: async (req) => {
        if (req.getMethod() === 'PATCH' && ++patches >= 3) await removed
      },
    })
    assert.ok(removed, 'the backend was removed mid-upload')
    assert.ok(patches >= 3, `${patches} PATCHes: the upload went on after the removal`)
    await removed
    const got = await download(url)
    assert.equal(got.status, 200, got.text)
    assert.equal(got.complete, true)
    assert.equal(got.sha256, expected)
    await waitForLog(gateway, (l) => l.level === 40 && l.msg === 'block write failed')
  })

  test('m backends gone before an upload: the PATCH answers 503 UNAVAILABLE (write quorum k + 1), commits nothing, leaves no blocks; resumes after a restart', HANG_GUARD, async () => {
    const setup = await newSetup('quorum')
    const { medium } = setup
    let gateway = await start(setup)
    await medium.lose(await medium.idOf(0))
    await medium.lose(await medium.idOf(5))
    const size = 3 * STRIPE + 5
    const seed = 'quorum'
    const url = await createUpload(gateway.url, size)
    const refused = await rawPatch(url, 0, size, dataChunks(size, seed)).outcome
    assert.equal(refused.kind, 'response')
    assert.equal(refused.status, 503, refused.text)
    assert.equal(refused.headers['tessera-error-code'], 'TESSERA_ERR_UNAVAILABLE')
    assert.equal((await headOffset(url)).offset, 0)
    for (let i = 1; i < K + M - 1; i++) assert.deepEqual(await medium.keys(await medium.idOf(i)), [], `b${i} keeps no block of a refused stripe`)

    assert.equal(await gateway.stop('SIGTERM'), 0)
    gateway = await start(setup)
    const resumed = urlOn(gateway, url)
    assert.equal((await headOffset(resumed)).offset, 0)
    const done = await rawPatch(resumed, 0, size, dataChunks(size, seed)).outcome
    assert.equal(done.kind, 'response')
    assert.equal(done.status, 204, done.text)
    const got = await download(resumed)
    assert.equal(got.complete, true)
    assert.equal(got.sha256, sha256Data(seed, size))
  })

  test('a concatenation (parallelUploads) outlives its deleted partials and m lost backends; deleting it frees every block', HANG_GUARD, async () => {
    const setup = await newSetup('concat')
    const { dataDir, medium } = setup
    let gateway = await start(setup)
    const size = 3 * STRIPE + 17
    const seed = 'concat'
    const url = await uploadAll(dataBuffer(size, seed), { endpoint: gateway.url, parallelUploads: 4 })
    const parts = String((await headOffset(url)).headers['upload-concat']).slice('final;'.length).split(' ')
    assert.equal(parts.length, 4)
    // Ranges across the partials' boundaries (each partial ends in a short stripe of its own).
    const quarter = Math.floor(size / 4)
    for (const [start, end] of [[quarter - 5, quarter + 5], [2 * quarter - 1000, 3 * quarter + 1000], [size - 3, size]] as const) {
      const part = await download(url, { range: `bytes=${start}-${end - 1}` })
      assert.equal(part.status, 206)
      assert.equal(part.sha256, sha256Data(seed, size, start, end), `bytes ${start}-${end - 1}`)
    }
    for (const part of parts) assert.equal((await tusRequest('DELETE', new URL(part, gateway.url).href)).status, 204)
    await medium.lose(await medium.idOf(2))
    await medium.lose(await medium.idOf(3))
    assert.equal((await download(url)).sha256, sha256Data(seed, size))

    assert.equal(await gateway.stop('SIGTERM'), 0)
    gateway = await start(setup)
    const final = urlOn(gateway, url)
    const got = await download(final)
    assert.equal(got.complete, true)
    assert.equal(got.sha256, sha256Data(seed, size))
    assert.equal((await tusRequest('DELETE', final)).status, 204)
    for (let i = 0; i < K + M; i++) assert.deepEqual(await medium.keys(await medium.idOf(i)), [], `b${i} is empty once the final is deleted`)
    assert.deepEqual(await readdir(join(dataDir, 'meta', 'manifests')), [])
  })

  test('a PATCH that outlasts --expire-after keeps every byte: the upload is not expired under it', HANG_GUARD, async () => {
    const setup = await newSetup('expiry')
    // Sweeps every second; the body below takes ~5 s, stripes committing along the way.
    const gateway = await start(setup, ['--expire-after', '2s'])
    const size = 8 * STRIPE
    const seed = 'expiry'
    const bytes = dataBuffer(size, seed)
    const url = await createUpload(gateway.url, size)
    const slow = async function* (): AsyncGenerator<Uint8Array> {
      for (let offset = 0; offset < size; offset += STRIPE) {
        yield bytes.subarray(offset, offset + STRIPE)
        await new Promise((resolve) => setTimeout(resolve, 600))
      }
    }
    const done = await rawPatch(url, 0, size, slow()).outcome
    assert.equal(done.kind, 'response')
    assert.equal(done.status, 204, done.text)
    assert.equal(done.offset, size)
    assert.equal((await headOffset(url)).offset, size, 'HEAD agrees with the acknowledged offset')
    const got = await download(url)
    assert.equal(got.status, 200, got.text)
    assert.equal(got.sha256, sha256Data(seed, size))
    assert.ok(!gateway.logs.some((l) => l.msg === 'upload expired'))
  })
}

async function dataDirFor(name: string): Promise<{ dir: string; dataDir: string }> {
  const dir = await tempDir(name)
  dirs.push(dir)
  return { dir, dataDir: join(dir, 'data') }
}

describe('backend loss and corruption, over directories', () =>
  durabilityTests(async (name) => {
    const { dir, dataDir } = await dataDirFor(name)
    return { dir, dataDir, medium: fsMedium(Array.from({ length: K + M }, (_, i) => join(dataDir, 'backends', `b${i}`))) }
  }))

describeS3('backend loss and corruption, over S3 buckets', {}, (env) =>
  durabilityTests(async (name) => {
    const { dir, dataDir } = await dataDirFor(name)
    const medium = s3Medium(env, K + M, name)
    media.push(medium)
    return { dir, dataDir, medium }
  }))
