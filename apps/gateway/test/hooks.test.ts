// HTTP hooks (docs/hooks.md) against a real local HTTP server: every hook with tusd's body,
// pre-create rejecting and changing metadata, a slow, an unreachable and a failing hook.
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, describe, test } from 'node:test'
import { parseMetadata } from '@tessera/protocol'
import { loadConfig } from '../src/config.js'
import type { HookRequestBody } from '../src/hooks/hook-request.js'
import { TUS, bytes, create, eventually, head, idOf, metadata, patch, startGateway, type TestGateway } from './helpers/gateway.js'
import { SECRET, as, hsToken } from './helpers/auth.js'
import { parsePrometheusText } from './helpers/prometheus-text.js'
import { createAttempt, postFinal } from './helpers/reconciliation.js'

/** A hook endpoint: keeps every request body, answers each with `answer` (default: 200, empty JSON). */
class HookReceiver {
  readonly received: HookRequestBody[] = []
  answer: (body: HookRequestBody, res: ServerResponse) => void = (_b, res) => json(res, 200, {})
  private constructor(readonly server: Server) {}

  static async start(): Promise<HookReceiver> {
    const receiver: HookReceiver = new HookReceiver(
      createServer((req: IncomingMessage, res) => {
        const chunks: Buffer[] = []
        req.on('data', (c: Buffer) => chunks.push(c))
        req.on('end', () => {
          assert.equal(req.method, 'POST')
          assert.equal(req.headers['content-type'], 'application/json')
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as HookRequestBody
          receiver.received.push(body)
          receiver.answer(body, res)
        })
      }),
    )
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve))
    return receiver
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`
  }

  of(type: string): HookRequestBody[] {
    return this.received.filter((b) => b.Type === type)
  }

  close(): Promise<void> {
    this.server.closeAllConnections()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body))
}

const cleanup: (() => Promise<void>)[] = []
after(async () => {
  for (const close of cleanup.reverse()) await close()
})

async function setUp(flags: readonly string[] = [], options: { now?: () => number } = {}): Promise<{ gw: TestGateway; hooks: HookReceiver }> {
  const hooks = await HookReceiver.start()
  cleanup.push(() => hooks.close())
  const gw = await startGateway(['--block-size', '4KiB', '--hooks-url', hooks.url, ...flags], options)
  cleanup.push(() => gw.close())
  return { gw, hooks }
}

/** `tessera_hook_request_duration_seconds_count` of `hook` and `outcome` on the gateway's /metrics. */
async function hookCount(gw: TestGateway, hook: string, outcome: string): Promise<number> {
  const text = await (await fetch(`${gw.origin}/metrics`)).text()
  return parsePrometheusText(text).value('tessera_hook_request_duration_seconds_count', { hook, outcome })
}

/** Upload records the gateway holds (tombstones too). */
function records(gw: TestGateway): Promise<string[]> {
  return gw.deps!.records.list!()
}

describe('HTTP hooks', { timeout: 60_000 }, () => {
  test('every hook, with tusd\'s body; post-receive at most once a second per upload, not for an empty write nor the one that finishes', async () => {
    let clock = Date.parse('2026-01-01T00:00:00Z')
    const { gw, hooks } = await setUp([], { now: () => clock })
    const body = bytes(4_000, 5)
    const url = await create(gw, { 'Upload-Length': '4000', 'Upload-Metadata': metadata({ filename: 'a.txt', empty: null }) })
    const id = idOf(url)
    assert.equal((await patch(url, 0, body.subarray(0, 1_000))).status, 204)
    assert.equal((await patch(url, 1_000, body.subarray(1_000, 2_000))).status, 204) // same second: throttled
    clock += 1_000
    assert.equal((await patch(url, 2_000, new Uint8Array(0))).status, 204) // stores nothing: no post-receive
    assert.equal((await patch(url, 2_000, body.subarray(2_000, 3_000))).status, 204)
    assert.equal((await patch(url, 3_000, body.subarray(3_000))).status, 204) // finishes: post-finish only
    const doomed = await create(gw, { 'Upload-Defer-Length': '1' })
    assert.equal((await fetch(doomed, { method: 'DELETE', headers: TUS })).status, 204)
    // post-* hooks are not awaited by the requests: wait for every one expected, in any order.
    await eventually(() => hooks.of('post-create').length === 2 && hooks.of('post-receive').length === 2 && hooks.of('post-finish').length === 1 && hooks.of('post-terminate').length === 1)

    const [pre] = hooks.of('pre-create')
    assert.deepEqual(pre!.Event.Upload, { ID: '', Size: 4000, SizeIsDeferred: false, Offset: 0, MetaData: { filename: 'a.txt', empty: '' }, IsPartial: false, IsFinal: false, PartialUploads: null, Storage: null })
    const request = pre!.Event.HTTPRequest
    assert.equal(request.Method, 'POST')
    assert.equal(request.URI, '/files')
    assert.match(request.RemoteAddr, /^127\.0\.0\.1:\d+$/)
    assert.deepEqual(request.Header['Upload-Length'], ['4000'])
    assert.deepEqual(request.Header['Tus-Resumable'], ['1.0.0'])

    const mine = (type: string) => hooks.of(type).filter((b) => b.Event.Upload.ID === id)
    assert.deepEqual(mine('post-create').map((b) => [b.Event.Upload.Offset, b.Event.Upload.MetaData]), [[0, { filename: 'a.txt', empty: '' }]])
    assert.deepEqual(mine('post-receive').map((b) => b.Event.Upload.Offset), [1_000, 3_000])
    assert.deepEqual(mine('post-receive').map((b) => [b.Event.HTTPRequest.Method, b.Event.HTTPRequest.URI]), [['PATCH', `/files/${id}`], ['PATCH', `/files/${id}`]])
    assert.deepEqual(mine('post-finish').map((b) => [b.Event.Upload.Offset, b.Event.Upload.Size]), [[4_000, 4_000]])
    const [terminated] = hooks.of('post-terminate')
    assert.equal(terminated!.Event.Upload.ID, idOf(doomed))
    assert.equal(terminated!.Event.Upload.SizeIsDeferred, true)
    assert.deepEqual(terminated!.Event.Upload.Tessera, { Reason: 'terminated' })
    assert.equal(terminated!.Event.HTTPRequest.Method, 'DELETE')
    assert.equal(hooks.of('pre-create').length, 2)
  })

  test('post-receive during one long PATCH (tus-js-client sends a file in one), at most once a second, with the bytes received so far', async () => {
    let clock = Date.parse('2026-01-01T00:00:00Z')
    const { gw, hooks } = await setUp([], { now: () => clock })
    const url = await create(gw, { 'Upload-Length': '4000' })
    const id = idOf(url)
    let body!: ReadableStreamDefaultController<Uint8Array>
    const answered = patch(url, 0, new ReadableStream<Uint8Array>({ start: (c) => void (body = c) }))
    const receives = () => hooks.of('post-receive').filter((b) => b.Event.Upload.ID === id).map((b) => b.Event.Upload.Offset)
    body.enqueue(bytes(1_000, 1))
    await eventually(() => receives().length === 1) // mid-PATCH: the request has not ended
    clock += 1_000
    body.enqueue(bytes(1_000, 2))
    await eventually(() => receives().length === 2)
    body.enqueue(bytes(1_000, 3)) // within the second: throttled
    body.enqueue(bytes(1_000, 4)) // finishes it: post-finish only
    body.close()
    assert.equal((await answered).status, 204)
    await eventually(() => hooks.of('post-finish').length === 1)
    const [first, second] = receives()
    assert.ok(first! > 0 && first! <= 1_000, `first ${first}`)
    assert.ok(second! > 1_000 && second! <= 2_000, `second ${second}`)
    assert.equal(receives().length, 2)
    assert.equal(hooks.of('post-receive')[0]!.Event.HTTPRequest.Method, 'PATCH')
  })

  test('pre-create rejecting: the hook\'s status, body and headers reach the client, nothing is created', async () => {
    const { gw, hooks } = await setUp()
    hooks.answer = (_b, res) => json(res, 200, { RejectUpload: true, HTTPResponse: { StatusCode: 403, Body: '{"message":"quota exceeded"}', Header: { 'Content-Type': 'application/json', 'X-Quota': 'none left', 'Content-Length': '1' } } })
    const res = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '10' } })
    assert.equal(res.status, 403)
    assert.equal(await res.text(), '{"message":"quota exceeded"}')
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
    assert.equal(res.headers.get('x-quota'), 'none left')
    assert.equal(res.headers.get('tessera-error-code'), 'TESSERA_ERR_HOOK_REJECTED')
    assert.equal(res.headers.get('location'), null)
    // RejectUpload alone: tusd's 400 and message.
    hooks.answer = (_b, r) => json(r, 200, { RejectUpload: true })
    const plain = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '10' } })
    assert.equal(plain.status, 400)
    assert.equal(await plain.text(), 'upload creation has been rejected by server')
    assert.deepEqual(await records(gw), [])
    assert.equal(hooks.of('post-create').length, 0)
    assert.equal(await hookCount(gw, 'pre-create', 'rejected'), 2)
  })

  test('pre-create changing the metadata: HEAD and the later hooks show the hook\'s', async () => {
    const { gw, hooks } = await setUp()
    hooks.answer = (b, res) => json(res, 200, b.Type === 'pre-create' ? { ChangeFileInfo: { MetaData: { filename: 'renamed.txt', project: 'p-7' } } } : {})
    const url = await create(gw, { 'Upload-Length': '10', 'Upload-Metadata': metadata({ filename: 'original.txt' }) })
    const res = await head(url)
    assert.deepEqual({ ...parseMetadata(res.headers.get('upload-metadata') ?? '') }, { filename: 'renamed.txt', project: 'p-7' })
    await eventually(() => hooks.of('post-create').length === 1)
    assert.deepEqual(hooks.of('post-create')[0]!.Event.Upload.MetaData, { filename: 'renamed.txt', project: 'p-7' })
  })

  test('a slow pre-create hook (past --hooks-timeout), an unreachable one and one answering 5xx: 500, a stable code, nothing created', async () => {
    const { gw, hooks } = await setUp(['--hooks-timeout', '200ms'])
    const stalled: ServerResponse[] = []
    hooks.answer = (_b, res) => void stalled.push(res) // never answers (until cleanup)
    cleanup.push(async () => void stalled.forEach((r) => r.destroy()))
    const slow = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '10' } })
    assert.equal(slow.status, 500)
    assert.equal(slow.headers.get('tessera-error-code'), 'TESSERA_ERR_HOOK_FAILED')
    assert.match(await slow.text(), /pre-create hook failed \(no answer within 200 ms\); no upload was created/)

    hooks.answer = (_b, res) => json(res, 503, { error: 'down' })
    const failing = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '10' } })
    assert.equal(failing.status, 500)
    assert.match(await failing.text(), /answered 503/)

    hooks.answer = (_b, res) => json(res, 200, { HTTPResponse: { Body: 'x'.repeat(20_000) } })
    const huge = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '10' } })
    assert.equal(huge.status, 500)
    assert.match(await huge.text(), /answered more than 10240 bytes/)

    hooks.answer = (_b, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"RejectUpload": "yes"}')
    const malformed = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '10' } })
    assert.equal(malformed.status, 500)
    assert.match(await malformed.text(), /RejectUpload must be a boolean/)
    assert.deepEqual(await records(gw), [])

    const closed = await HookReceiver.start()
    const deadUrl = closed.url
    await closed.close()
    const dead = await startGateway(['--block-size', '4KiB', '--hooks-url', deadUrl])
    cleanup.push(() => dead.close())
    const unreachable = await fetch(dead.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '10' } })
    assert.equal(unreachable.status, 500)
    assert.equal(unreachable.headers.get('tessera-error-code'), 'TESSERA_ERR_HOOK_FAILED')
    assert.match(await unreachable.text(), /unreachable: ECONNREFUSED/)
    assert.deepEqual(await records(dead), [])
    assert.ok(dead.log.errors.some((l) => (l.obj as { code?: string }).code === 'TESSERA_ERR_HOOK_FAILED'))
  })

  test('a failing post-finish hook does not fail the upload, and is logged', async () => {
    const { gw, hooks } = await setUp()
    hooks.answer = (b, res) => (b.Type === 'post-finish' ? json(res, 500, {}) : json(res, 200, {}))
    const url = await create(gw, { 'Upload-Length': '100' })
    assert.equal((await patch(url, 0, bytes(100))).status, 204)
    await eventually(() => gw.log.lines.some((l) => l.msg === 'hook failed'))
    const line = gw.log.lines.find((l) => l.msg === 'hook failed')!
    assert.equal(line.level, 'warn')
    assert.deepEqual(line.obj, { hook: 'post-finish', uploadId: idOf(url), reason: 'answered 500' })
    assert.equal((await head(url)).headers.get('upload-offset'), '100')
    assert.equal(await hookCount(gw, 'post-finish', 'failed'), 1)
    assert.equal(await hookCount(gw, 'pre-create', 'ok'), 1)
  })

  test('--hooks-events: only the hooks named are sent (no pre-create here: creation does not wait)', async () => {
    const { gw, hooks } = await setUp(['--hooks-events', 'post-finish'])
    const url = await create(gw, { 'Upload-Length': '10' })
    assert.equal((await patch(url, 0, bytes(10))).status, 204)
    await eventually(() => hooks.received.length === 1)
    assert.deepEqual(hooks.received.map((b) => b.Type), ['post-finish'])
  })

  test('hedged partials and the final: partials are hooked as tusd hooks them, a superseded attempt gets post-terminate, the final pre-create, post-create and post-finish', async () => {
    const { gw, hooks } = await setUp()
    const data = bytes(2_000, 9)
    const loser = await createAttempt(gw.endpoint, 'hook-session/0', 0, 0, data)
    const winner = await createAttempt(gw.endpoint, 'hook-session/0', 0, 1, data)
    assert.equal((await patch(winner, 0, data)).status, 204)
    const final = await postFinal(gw.endpoint, [winner])
    assert.equal(final.status, 201)
    const finalId = idOf(final.headers.get('location')!)
    await eventually(() => hooks.of('post-terminate').length === 1 && hooks.of('post-finish').length === 2 && hooks.of('post-create').length === 3)
    const terminated = hooks.of('post-terminate')[0]!.Event.Upload
    assert.equal(terminated.ID, idOf(loser))
    assert.equal(terminated.IsPartial, true)
    assert.deepEqual(terminated.Tessera, { Partition: 'hook-session/0', Attempt: 0, Reason: 'superseded' })
    const pre = hooks.of('pre-create').map((b) => b.Event.Upload)
    assert.deepEqual(pre.map((u) => [u.IsPartial, u.IsFinal, u.Size]), [[true, false, 2_000], [true, false, 2_000], [false, true, 2_000]])
    assert.deepEqual(pre[2]!.PartialUploads, [idOf(winner)])
    assert.deepEqual(hooks.of('post-finish').map((b) => b.Event.Upload.ID).sort(), [idOf(winner), finalId].sort())
    assert.deepEqual(hooks.of('post-create').find((b) => b.Event.Upload.ID === finalId)!.Event.Upload.Offset, 2_000)
  })

  test('under --auth jwt every hook names the owner (the token\'s sub) in Tessera.Owner', async () => {
    const { gw, hooks } = await setUp(['--auth', 'jwt', '--jwt-secret', SECRET])
    const token = await hsToken({ sub: 'alice' })
    const created = await fetch(gw.endpoint, { method: 'POST', headers: as(token, { 'Upload-Length': '5' }) })
    assert.equal(created.status, 201)
    const url = created.headers.get('location')!
    assert.equal((await patch(url, 0, bytes(5), { Authorization: `Bearer ${token}` })).status, 204)
    await eventually(() => hooks.received.length === 3)
    // post-* hooks are not awaited: their order of arrival is not guaranteed (as with tusd).
    assert.deepEqual(hooks.received.map((b) => [b.Type, b.Event.Upload.Tessera?.Owner]).sort(), [['post-create', 'alice'], ['post-finish', 'alice'], ['pre-create', 'alice']])
  })

  test('configuration: an unknown hook, a URL that is not http(s), a timeout that is not a duration, hook options without --hooks-url', () => {
    assert.throws(() => loadConfig(['--hooks-url', 'ftp://x', '--hooks-events', 'post-create,pre-finish', '--hooks-timeout', 'soon'], {}), (err: Error) => {
      assert.match(err.message, /--hooks-url: expected an http:\/\/ or https:\/\/ URL, got "ftp:\/\/x"/)
      assert.match(err.message, /--hooks-events: unknown hook "pre-finish"/)
      assert.match(err.message, /--hooks-timeout: expected a positive duration/)
      return true
    })
    assert.throws(() => loadConfig(['--hooks-events', 'post-create'], {}), /--hooks-events is set but --hooks-url/)
    const config = loadConfig(['--hooks-url', 'http://127.0.0.1:9/h'], {})
    assert.deepEqual([...config.hooks!.events], ['pre-create', 'post-create', 'post-receive', 'post-finish', 'post-terminate'])
    assert.equal(config.hooks!.timeoutMs, 15_000)
  })
})
