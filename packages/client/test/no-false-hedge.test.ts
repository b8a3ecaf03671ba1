// A healthy multi-endpoint upload to the real gateway starts no hedge — deterministically.
//
// Why a plain healthy upload could hedge on a noisy machine: an attempt's risk grows with its
// silence (now − last progress) measured against its expected duration (~20 ms for 1 MiB on
// loopback); a 200 ms pause of the machine (GC, the other test file, a build) makes a healthy
// attempt look dead and the hedge is legitimate from what the client can see. So this test takes
// the machine's timing out of what the hedge loop sees, through the client's own ports (`clock`,
// `timers`, `transport`), and keeps everything else real (node:http sockets, the gateway process,
// the models, the scheduler, the default threshold 0.3 and budget 5 %):
//
// - the clock is virtual and advances only with the client's own traffic: 1 ms per request sent
//   and per answer received, 1 ms per 64 KiB of body handed to the socket (a 64 MiB/s link with no
//   jitter). A pause of the machine, or a gateway slow to answer, moves no virtual time;
// - the hedge loop's timer fires at fixed points of that traffic instead of every 250 ms of wall
//   time: when a request starts, after every body slice, when a body has been handed over in full
//   (the attempt waits for the answer) and when the answer is in;
// - one partition at a time (`maxConcurrency: 1`), so no other attempt's bytes advance the clock
//   while an attempt waits: its silence is at most a slice (1 ms) against a progress gap floored at
//   200 ms.
//
// Every score is then a function of the byte sequence alone. Bounds at those points (prior models,
// @tessera/predict `attemptRisk`): a fresh attempt 0.165 (5 % failure prior, 12 % chance its rate is
// below the 10th-percentile deadline), a progressing one less; an attempt whose body went out in full
// is scored by its failure term (≈ 0). So no score reaches 0.3 and the test cannot flake. It fails if
// healthy attempts are mis-scored — e.g. without the "body sent in full ⇒ miss 0" rule, a waiting
// attempt scores 0.49 (1 byte "remaining" explodes the own-rate noise term) and is hedged — or if a
// hedge starts below the threshold. The second test is the control: the same rig with the threshold
// below the fresh-attempt risk hedges at once, so the loop really scores here.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { NodeHttpTransport, upload, type HttpRequest, type HttpTransport, type Timers, type UploadOptions } from '../src/index.js'
import { bytes, download, sha256, startGateway, type Gateway } from './helpers.js'
import { recordEvents } from './helpers/events.js'

const MiB = 1024 * 1024
const REQUEST_MS = 1
const BYTES_PER_MS = 64 * 1024

/** The virtual clock, the hedge loop's timers and the transport that drives both (see the file comment). */
class VirtualLink {
  now = 1_000_000
  /** Hedge-loop rounds run, and rounds run while a PATCH body was in flight or awaiting its answer. */
  rounds = 0
  roundsInPatch = 0
  /** PATCH requests sent. */
  patches = 0
  readonly #pending = new Map<number, () => void>()
  #next = 1
  readonly inner = new NodeHttpTransport()

  readonly clock = (): number => this.now
  readonly timers: Timers = {
    setTimeout: (fn) => {
      const handle = this.#next++
      this.#pending.set(handle, fn)
      return handle
    },
    clearTimeout: (handle) => void this.#pending.delete(handle as number),
  }

  /** Runs the hedge loop's armed round(s) now (each re-arms itself for the next point). */
  #round(inPatch: boolean): void {
    const due = [...this.#pending.values()]
    this.#pending.clear()
    for (const fn of due) {
      this.rounds += 1
      if (inPatch) this.roundsInPatch += 1
      fn()
    }
  }

  readonly transport: HttpTransport = {
    request: async (req: HttpRequest) => {
      const patch = req.method === 'PATCH'
      if (patch) this.patches += 1
      this.now += REQUEST_MS
      this.#round(patch)
      const body = req.body
      const metered =
        body === undefined
          ? undefined
          : async function* (this: VirtualLink): AsyncGenerator<Uint8Array> {
              for await (const piece of body instanceof Uint8Array ? [body] : body) {
                yield piece
                this.now += piece.length / BYTES_PER_MS
                this.#round(patch)
              }
              this.#round(patch) // handed over in full: the attempt now waits for the answer
            }.call(this)
      const res = await this.inner.request(metered === undefined ? req : { ...req, body: metered })
      this.#round(patch) // the answer is in, not yet seen by the attempt
      this.now += REQUEST_MS
      return res
    },
    close: () => this.inner.close(),
  }
}

describe('a healthy upload over two endpoints, the hedge loop on a virtual clock', () => {
  let gw: Gateway
  before(async () => {
    gw = await startGateway()
  })
  after(async () => {
    await gw.stop()
  })

  const options = (link: VirtualLink, extra: Partial<UploadOptions> = {}): UploadOptions => ({
    // The same gateway under two names: partitions alternate between them.
    endpoints: [gw.url, gw.url.replace('127.0.0.1', 'localhost')],
    stateStore: null,
    clock: link.clock,
    timers: link.timers,
    transport: link.transport,
    minPartitionBytes: MiB,
    initialPartitionBytes: MiB,
    maxPartitionBytes: MiB,
    chunkBytes: 256 * 1024,
    initialConcurrency: 1,
    minConcurrency: 1,
    maxConcurrency: 1,
    ...extra,
  })

  test('default threshold and budget: every attempt is scored at every point of its traffic, and no hedge starts', { timeout: 30_000 }, async (t) => {
    const link = new VirtualLink()
    const data = bytes(12 * MiB, 4242)
    const u = upload(data, options(link))
    const ev = recordEvents(u)
    const result = await u.done
    await link.transport.close()

    assert.deepEqual(ev['hedge-start'], [], `hedges on a healthy link: ${JSON.stringify(ev['hedge-start'])}`)
    assert.equal(ev.done[0]!.hedgesStarted, 0)
    // The loop did run, in every PATCH of the 12 partitions: at least when it started, when its
    // body was handed over in full, and when its answer came.
    assert.equal(ev['attempt-done'].length, 12)
    assert.ok(link.patches >= 12 && link.roundsInPatch >= link.patches * 3, `hedge rounds during ${link.patches} PATCHes: ${link.roundsInPatch}`)
    assert.deepEqual(new Set(ev['attempt-start'].map((e) => e.endpoint)), new Set(options(link).endpoints), 'both endpoints carried partitions')
    assert.equal(ev.partition.length, 12)
    assert.equal(result.sha256, undefined, 'parallel mode hashes no whole file: the final carries the partition list')
    assert.deepEqual(await download(result.url), { sha256: sha256(data), size: data.length })
    t.diagnostic(`${link.rounds} hedge rounds (${link.roundsInPatch} during ${link.patches} PATCHes), virtual time ${link.now - 1_000_000} ms, 0 hedges`)
  })

  test('control: the same rig with the threshold below a fresh attempt\'s risk (0.165) hedges', { timeout: 30_000 }, async (t) => {
    const link = new VirtualLink()
    const data = bytes(4 * MiB, 4343)
    const u = upload(data, options(link, { hedgeThreshold: 0.1 }))
    const ev = recordEvents(u)
    const result = await u.done
    await link.transport.close()
    assert.ok(ev['hedge-start'].length >= 1, 'a hedge started')
    // (No upper bound: once a hedge runs beside its primary, their bytes advance the clock together.)
    for (const h of ev['hedge-start']) assert.ok(h.risk >= 0.1, `risk ${h.risk}`)
    assert.equal(result.sha256, undefined, 'parallel mode hashes no whole file: the final carries the partition list')
    assert.deepEqual(await download(result.url), { sha256: sha256(data), size: data.length })
    t.diagnostic(`${ev['hedge-start'].length} hedges, risks ${ev['hedge-start'].map((h) => h.risk.toFixed(3)).join(', ')}`)
  })
})
