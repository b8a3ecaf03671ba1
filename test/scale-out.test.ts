// Scale-out (issue 10): two gateway processes on one Redis (`--redis-url`, a `--redis-prefix` of
// their own) and one set of backend directories serve any request for any upload — tus-js-client's
// parallel partials on A with its final on B; an upload resumed on B after A was SIGKILLed while
// holding its lock (B waits at most the lease), or paused past its lease (fenced: 423), or stopped
// with SIGTERM (its lease freed at once); @tessera/client spreading partials over [A, B]; and
// a gateway whose Redis goes away answers 503 with a reason, never hangs or crashes, and recovers.
// Needs Redis (REDIS_URL, default redis://127.0.0.1:6379): skipped with the reason when it is
// unreachable, failed when CI is set.
import assert from 'node:assert/strict'
import { createReadStream } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { upload as sdkUpload } from '@tessera/client'
import * as tus from 'tus-js-client'
import { dataBuffer, sha256Data, writeDataFile } from './helpers/data.js'
import { TestClusters } from './helpers/cluster.js'
import { type GatewayProcess, runGatewayToExit, urlOn } from './helpers/gateway-process.js'
import { createUpload, download, headOffset, tusRequest } from './helpers/http.js'
import { type PatchOutcome, rawPatch } from './helpers/raw-patch.js'
import { REDIS_URL, redisSkip } from '@tessera/cluster/testing'
import { TcpRelay } from '@tessera/fault-proxy'
import { uploadAll } from './helpers/tus-client.js'

/** Per-test hang guard (a stuck socket must fail the run, not stall it); never a performance bound. */
const HANG_GUARD = { timeout: 60_000 }
const MiB = 1024 * 1024
/** The gateway's default lock lease (`RedisLocker`), ms: a dead holder blocks an upload at most this long. */
const LEASE_MS = 10_000

const skip = await redisSkip('the scale-out tests')

/**
 * A PATCH at `from` declaring the rest of `bytes` that sends them up to `stallAt` and then stays
 * open mid-body: the gateway holds the upload's lock. Resolves once those bytes are on the socket
 * and the gateway had a moment to store them (or once it answered early: `outcome` tells).
 */
async function stalledPatch(url: string, bytes: Uint8Array, from: number, stallAt: number): Promise<{ outcome: Promise<PatchOutcome> }> {
  let stalled!: () => void
  const reached = new Promise<void>((resolve) => (stalled = resolve))
  async function* body(): AsyncGenerator<Uint8Array> {
    for (let at = from; at < stallAt; at += 256 * 1024) yield bytes.subarray(at, Math.min(at + 256 * 1024, stallAt))
    stalled()
    await new Promise(() => undefined) // the rest never comes
  }
  const { outcome } = rawPatch(url, from, bytes.length - from, body())
  await Promise.race([reached, outcome])
  await new Promise((resolve) => setTimeout(resolve, 300))
  return { outcome }
}

describe('scale-out: gateways sharing Redis and backends', { skip }, () => {
  let clusters: TestClusters

  before(async () => {
    clusters = await TestClusters.open('scale-out')
  })

  after(() => clusters.close())

  test('tus-js-client parallelUploads: 4 on A; its final concatenation goes to B; GET on B is byte-identical', HANG_GUARD, async () => {
    const { start } = clusters.cluster('tusjs')
    const [a, b] = await Promise.all([start('a'), start('b')])
    const size = 9 * MiB + 333
    const file = join(clusters.dir, 'tusjs.bin')
    const expected = await writeDataFile(file, size, 'scale-out-tusjs')
    const sent: { method: string; url: string }[] = []
    // tus-js-client sends its final to its own endpoint; this stack sends that one request to B
    // instead, naming the partials by their path on B (a gateway resolves only its own origin's URLs).
    const url = await uploadAll(createReadStream(file), { endpoint: a.url, parallelUploads: 4, httpStack: new FinalTo(b, sent) })
    const partials = sent.filter((r) => r.method === 'POST' && !r.url.startsWith(b.url))
    assert.equal(partials.length, 4, JSON.stringify(sent))
    assert.ok(sent.filter((r) => r.method === 'PATCH').every((r) => r.url.startsWith(a.url.replace(/\/files$/, ''))), 'every PATCH went to A')
    assert.ok(url.startsWith(b.url.replace(/\/files$/, '')), `the final's URL is B's: ${url}`)
    const head = await headOffset(url)
    assert.equal(head.status, 200)
    assert.match(String(head.headers['upload-concat']), /^final;/)
    assert.equal(head.offset, size)
    for (const gateway of [b, a]) {
      const got = await download(urlOn(gateway, url))
      assert.equal(got.status, 200, got.text)
      assert.equal(got.complete, true)
      assert.equal(got.sha256, expected)
    }
  })

  test('A is SIGKILLed mid-PATCH holding the lock: HEAD + PATCH on B resume within the lease, nothing acknowledged lost, byte-identical', HANG_GUARD, async () => {
    const { start } = clusters.cluster('kill')
    const [a, b] = await Promise.all([start('a'), start('b')])
    const size = 12 * MiB + 77
    const bytes = dataBuffer(size, 'scale-out-kill')
    const url = await createUpload(a.url, size)
    // Two acknowledged PATCHes on A.
    let acked = 0
    for (const end of [3 * MiB, 5 * MiB + 11]) {
      const done = await rawPatch(url, acked, end - acked, [bytes.subarray(acked, end)]).outcome
      assert.equal(done.kind, 'response')
      assert.equal(done.status, 204, done.text)
      assert.equal(done.offset, end)
      acked = end
    }
    // A third one stays open mid-body (A holds the upload's lock) when A is killed.
    const cutAt = acked + 4 * MiB
    const third = await stalledPatch(url, bytes, acked, cutAt)
    assert.equal(await a.stop('SIGKILL'), 'SIGKILL')
    assert.equal((await third.outcome).kind, 'error')

    const started = Date.now()
    const head = await headOffset(urlOn(b, url))
    const waitedMs = Date.now() - started
    assert.equal(head.status, 200, 'B got the lock: A’s lease lapsed, not the 20 s lock wait (that would be 423)')
    assert.ok(waitedMs < LEASE_MS + 2_000, `B waited ${waitedMs} ms for the lock of a dead holder (lease ${LEASE_MS} ms)`)
    assert.ok(head.offset >= acked && head.offset <= cutAt, `offset ${head.offset}: acknowledged ${acked}, sent ${cutAt}`)

    const rest = await rawPatch(urlOn(b, url), head.offset, size - head.offset, [bytes.subarray(head.offset)]).outcome
    assert.equal(rest.kind, 'response')
    assert.equal(rest.status, 204, rest.text)
    assert.equal(rest.offset, size)
    const got = await download(urlOn(b, url))
    assert.equal(got.status, 200, got.text)
    assert.equal(got.sha256, sha256Data('scale-out-kill', size))
  })

  test('A paused (SIGSTOP) past its lease mid-PATCH: B takes over and finishes; A, resumed, is fenced (423) and commits nothing over B', HANG_GUARD, async () => {
    const { start } = clusters.cluster('fence')
    const [a, b] = await Promise.all([start('a'), start('b')])
    const size = 8 * MiB + 9
    const bytes = dataBuffer(size, 'scale-out-fence')
    const url = await createUpload(a.url, size)
    const cutAt = 3 * MiB + 100
    // The rest never comes: A must answer by itself.
    const stale = await stalledPatch(url, bytes, 0, cutAt)
    a.child.kill('SIGSTOP')
    try {
      const head = await headOffset(urlOn(b, url))
      assert.equal(head.status, 200, 'B took the lock once A’s lease lapsed')
      assert.ok(head.offset <= cutAt, `offset ${head.offset}, sent ${cutAt}`)
      const rest = await rawPatch(urlOn(b, url), head.offset, size - head.offset, [bytes.subarray(head.offset)]).outcome
      assert.equal(rest.kind === 'response' && rest.status, 204)
    } finally {
      a.child.kill('SIGCONT')
    }
    // A's renewal finds its lease taken: the request is stopped and its commit refused.
    const answer = await stale.outcome
    assert.equal(answer.kind, 'response', answer.kind === 'error' ? answer.error.message : '')
    assert.equal(answer.status, 423, answer.text)
    assert.equal(answer.headers['tessera-error-code'], 'TESSERA_ERR_LOCKED')
    assert.match(answer.text, /taken over/)
    for (const gateway of [a, b]) {
      const head = await headOffset(urlOn(gateway, url))
      assert.equal(head.offset, size)
      const got = await download(urlOn(gateway, url))
      assert.equal(got.bytes, size)
      assert.equal(got.sha256, sha256Data('scale-out-fence', size))
    }
  })

  test('SIGTERM of A mid-PATCH: A commits what it received, exits 0 (queue, locker, Redis closed), and B gets the upload without waiting a lease', HANG_GUARD, async () => {
    const { start } = clusters.cluster('term')
    const [a, b] = await Promise.all([start('a'), start('b')])
    const size = 6 * MiB + 1
    const bytes = dataBuffer(size, 'scale-out-term')
    const url = await createUpload(a.url, size)
    const cutAt = 2 * MiB + 5
    const inflight = await stalledPatch(url, bytes, 0, cutAt)
    assert.equal(await a.stop('SIGTERM'), 0)
    const answer = await inflight.outcome
    assert.equal(answer.kind, 'response', answer.kind === 'error' ? answer.error.message : '')
    assert.equal(answer.status, 204, answer.text)
    // What A had received is committed and acknowledged (the 204's offset) before it lets go.
    assert.ok(answer.offset > 0 && answer.offset <= cutAt, `acknowledged ${answer.offset} of ${cutAt} sent`)
    const acked = answer.offset

    const started = Date.now()
    const head = await headOffset(urlOn(b, url))
    const waitedMs = Date.now() - started
    assert.equal(head.status, 200)
    assert.equal(head.offset, acked, 'nothing acknowledged lost')
    // A freed its lease when it closed: B did not wait for it to lapse (that takes LEASE_MS).
    assert.ok(waitedMs < LEASE_MS / 2, `B waited ${waitedMs} ms for a lock A had released`)
    const rest = await rawPatch(urlOn(b, url), acked, size - acked, [bytes.subarray(acked)]).outcome
    assert.equal(rest.kind === 'response' && rest.status, 204)
    assert.equal((await download(urlOn(b, url))).sha256, sha256Data('scale-out-term', size))
  })

  test('a PATCH on B that outlasts --expire-after is not expired by A: neither its sweep nor a HEAD of its own expires an upload B holds the lock of', HANG_GUARD, async () => {
    const { start } = clusters.cluster('expiry', ['--expire-after', '2s'])
    const [a, b] = await Promise.all([start('a'), start('b')])
    const size = 3 * MiB + 7
    const bytes = dataBuffer(size, 'scale-out-expiry')
    const url = await createUpload(b.url, size)
    const cutAt = MiB + 3
    const held = await stalledPatch(url, bytes, 0, cutAt)
    // Past the upload's expiry, and past several rounds of A's sweep (every second at 2 s).
    await new Promise((resolve) => setTimeout(resolve, 3500))
    const head = await headOffset(urlOn(a, url)) // asks B to release: B commits what it received
    assert.equal(head.status, 200, 'A expired an upload B was writing to')
    const answer = await held.outcome
    assert.equal(answer.kind === 'response' && answer.status, 204)
    assert.equal(head.offset, answer.kind === 'response' ? answer.offset : -1, 'nothing acknowledged lost')
    const rest = await rawPatch(urlOn(a, url), head.offset, size - head.offset, [bytes.subarray(head.offset)]).outcome
    assert.equal(rest.kind === 'response' && rest.status, 204)
    assert.equal((await download(urlOn(b, url))).sha256, sha256Data('scale-out-expiry', size))
  })

  test('@tessera/client with endpoints [A, B]: partials on both, the final on one, identical from either', HANG_GUARD, async () => {
    const { start } = clusters.cluster('sdk')
    const [a, b] = await Promise.all([start('a'), start('b')])
    const size = 20 * MiB + 5
    const bytes = dataBuffer(size, 'scale-out-sdk')
    const u = sdkUpload(bytes, { endpoints: [a.url, b.url], stateStore: null, minPartitionBytes: MiB, initialPartitionBytes: 2 * MiB, maxPartitionBytes: 4 * MiB })
    const winners = new Set<string>()
    u.on('attempt-won', (e: { endpoint: string }) => winners.add(e.endpoint))
    const result = await u.done
    assert.deepEqual([...winners].sort(), [a.url, b.url].sort(), 'partials completed on both gateways')
    const finalOn = [a, b].filter((g) => result.url.startsWith(g.url))
    assert.equal(finalOn.length, 1, `the final ${result.url} is on one of them`)
    for (const gateway of [a, b]) {
      const got = await download(urlOn(gateway, result.url))
      assert.equal(got.status, 200, got.text)
      assert.equal(got.sha256, sha256Data('scale-out-sdk', size))
    }
  })

  test('Redis unreachable: a start fails at once with the reason; a running gateway answers 503 with a reason, stays up, and recovers', HANG_GUARD, async () => {
    // A closed port at start: no gateway without its cluster state (the supervisor restarts it).
    const closed = await TcpRelay.start(REDIS_URL)
    await closed.cut()
    const refused = await runGatewayToExit({ dataDir: join(clusters.dir, 'down-refused'), args: ['--redis-url', `redis://127.0.0.1:${closed.port}`, '--backends', clusters.backends] })
    assert.equal(refused.code, 1, refused.stderr)
    assert.match(refused.stderr, /Redis cannot be reached/)

    const relay = await TcpRelay.start(REDIS_URL)
    try {
      const { start } = clusters.cluster('down')
      const viaRelay = relay.url('redis')
      const c = await start('c', { redisUrl: viaRelay })
      const peer = await start('peer')
      const url = await createUpload(c.url, 2 * MiB)
      const first = await rawPatch(url, 0, MiB, [dataBuffer(MiB, 'down')]).outcome
      assert.equal(first.kind === 'response' && first.status, 204)

      // A request on C waiting for a lock when Redis goes away answers 503, not 423 (busy): the
      // lock is held on the peer by a PATCH whose process is paused, so it cannot let go when asked.
      const held = await createUpload(peer.url, 2 * MiB)
      const holder = await stalledPatch(held, dataBuffer(2 * MiB, 'held'), 0, 64 * 1024)
      peer.child.kill('SIGSTOP')
      let waiting: Awaited<ReturnType<typeof tusRequest>>
      try {
        const head = tusRequest('HEAD', urlOn(c, held)) // its record is read, then it waits for the lock
        await new Promise((resolve) => setTimeout(resolve, 500))
        await relay.cut()
        waiting = await head
      } finally {
        peer.child.kill('SIGCONT')
      }
      assert.equal(waiting.status, 503, 'a lock that cannot be taken because Redis is down is not 423')
      assert.equal(waiting.headers['tessera-error-code'], 'TESSERA_ERR_UNAVAILABLE')
      await holder.outcome // the peer's lease lapsed while it was paused: it stops that request

      const answers = [
        await tusRequest('HEAD', url),
        await tusRequest('POST', c.url, { 'Upload-Length': '10' }),
        await tusRequest('DELETE', url),
      ]
      const patch = await rawPatch(url, MiB, MiB, [dataBuffer(2 * MiB, 'down').subarray(MiB)]).outcome
      assert.equal(patch.kind, 'response')
      for (const res of [...answers, patch.kind === 'response' ? patch : assert.fail('no answer')]) {
        assert.equal(res.status, 503)
        assert.equal(res.headers['tessera-error-code'], 'TESSERA_ERR_UNAVAILABLE')
      }
      // Only the HEAD has a body-less answer; the others say why.
      for (const res of [answers[1]!, answers[2]!]) assert.match(res.text, /redis unavailable/)
      assert.equal(c.child.exitCode, null, 'the gateway is still running')
      // The other gateway of the cluster still serves the upload.
      assert.equal((await headOffset(urlOn(peer, url))).offset, MiB)

      await relay.restore()
      let head = await headOffset(url)
      for (let i = 0; i < 50 && head.status !== 200; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100))
        head = await headOffset(url)
      }
      assert.equal(head.status, 200, 'served again once Redis is back')
      assert.equal(head.offset, MiB, 'nothing acknowledged lost')
      const rest = await rawPatch(url, MiB, MiB, [dataBuffer(2 * MiB, 'down').subarray(MiB)]).outcome
      assert.equal(rest.kind === 'response' && rest.status, 204)
      assert.equal((await download(urlOn(peer, url))).sha256, sha256Data('down', 2 * MiB))
    } finally {
      await relay.cut()
    }
  })
})

/**
 * tus-js-client's Node HTTP stack, except that the final concatenation POST goes to gateway `to`,
 * with its partials' URLs rebased there. Records every request's method and URL.
 */
class FinalTo implements tus.HttpStack {
  readonly #inner = new tus.DefaultHttpStack({})
  constructor(
    private readonly to: GatewayProcess,
    private readonly sent: { method: string; url: string }[],
  ) {}

  createRequest(method: string, url: string): tus.HttpRequest {
    const headers = new Map<string, string>()
    let progress: ((bytes: number) => void) | undefined
    let real: tus.HttpRequest | undefined
    return {
      getMethod: () => method,
      getURL: () => url,
      setHeader: (name, value) => void headers.set(name, value),
      getHeader: (name) => headers.get(name),
      setProgressHandler: (handler) => (progress = handler),
      send: (body: unknown) => {
        let target = url
        const concat = headers.get('Upload-Concat')
        if (method === 'POST' && concat?.startsWith('final;')) {
          target = this.to.url
          headers.set('Upload-Concat', `final;${concat.slice('final;'.length).split(' ').map((u) => urlOn(this.to, u)).join(' ')}`)
        }
        this.sent.push({ method, url: target })
        real = this.#inner.createRequest(method, target)
        for (const [name, value] of headers) real.setHeader(name, value)
        if (progress) real.setProgressHandler(progress)
        return real.send(body)
      },
      abort: () => real?.abort() ?? Promise.resolve(),
      getUnderlyingObject: () => real?.getUnderlyingObject(),
    }
  }

  getName(): string {
    return 'FinalTo'
  }
}
