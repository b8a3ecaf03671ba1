// Bearer tokens against a real gateway with --auth jwt (child process): static `headers`,
// `getToken` with a refresh on 401 — a token that expires mid-upload, a PATCH refused mid-partition
// resuming from the server's offset — and a second 401 failing the upload with CLIENT_ERR_UNAUTHORIZED.
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { BearerToken } from '../src/bearer-token.js'
import { ClientError, NodeHttpTransport, TusClient, upload, type HttpRequest, type HttpTransport, type UploadOptions } from '../src/index.js'
import { bytes, download, sha256, startGateway, type Gateway } from './helpers.js'
import { countingTransport } from './helpers/fault-proxy.js'
import { JWT_FLAGS, REFUSED_AT_256_KIB, hsToken } from './helpers/jwt.js'

const MiB = 1024 * 1024

/** A `getToken` whose first token expires at the next-but-one whole second (≥ 1 s from now), then a fresh one for good; counts its calls. */
function expiringTokens(): { getToken: () => Promise<string>; calls: () => number; tokens: { expiresMs: number; fresh: string } } {
  const expiresMs = (Math.floor(Date.now() / 1000) + 2) * 1000
  const first = hsToken('alice', 2)
  const fresh = hsToken('alice')
  let calls = 0
  return { getToken: async () => (calls++ === 0 ? first : fresh), calls: () => calls, tokens: { expiresMs, fresh } }
}

/**
 * The node:http transport (with 256 KiB PATCH bodies, as a browser's) recording each request's
 * answer, holding the first request `matches` picks until `untilMs` has passed — so it meets an
 * expired token at the gateway, at a chosen point of the upload.
 */
function holding(matches: (req: HttpRequest) => boolean, untilMs: number): { transport: HttpTransport; answers: { method: string; offset?: string; concat?: string; status: number | string }[] } {
  const counting = countingTransport({ streamsBodies: false })
  const answers: { method: string; offset?: string; concat?: string; status: number | string }[] = []
  let held = false
  const transport: HttpTransport = {
    ...counting.transport,
    async request(req: HttpRequest) {
      if (!held && matches(req)) {
        held = true
        await new Promise((r) => setTimeout(r, untilMs + 200 - Date.now()))
      }
      const entry = { method: req.method, offset: req.headers['upload-offset'], concat: req.headers['upload-concat'], status: 'pending' as number | string }
      answers.push(entry)
      try {
        const res = await counting.transport.request(req)
        entry.status = res.status
        return res
      } catch (err) {
        entry.status = (err as ClientError).code
        throw err
      }
    },
  }
  return { transport, answers }
}

describe('upload with a token to a gateway with --auth jwt', () => {
  let gw: Gateway
  before(async () => {
    // No clock skew: a token is refused the second its exp passes.
    gw = await startGateway([...JWT_FLAGS, '--jwt-clock-skew', '0s'])
  })
  after(() => gw.stop())

  const options = (extra: Partial<UploadOptions>): UploadOptions => ({ endpoints: [gw.url], stateStore: null, ...extra })

  test('a static Authorization in `headers`', async () => {
    const data = bytes(3 * MiB, 1)
    const token = hsToken('alice')
    const result = await upload(data, options({ headers: { Authorization: `Bearer ${token}` } })).done
    assert.deepEqual(await download(result.url, { authorization: `Bearer ${token}` }), { sha256: sha256(data), size: data.length })
    // Another subject cannot read it.
    assert.equal((await fetch(result.url, { headers: { authorization: `Bearer ${hsToken('bob')}` } })).status, 404)
  })

  test('no token: the upload fails with CLIENT_ERR_UNAUTHORIZED', async () => {
    await assert.rejects(upload(bytes(1000), options({})).done, (err: unknown) => err instanceof ClientError && err.code === 'CLIENT_ERR_UNAUTHORIZED' && err.status === 401)
  })

  test('getToken refused twice: CLIENT_ERR_UNAUTHORIZED after exactly one refresh', async () => {
    let calls = 0
    const getToken = (): string => {
      calls += 1
      return hsToken('alice', 3600, 'a-secret-the-gateway-does-not-know-0123456789')
    }
    await assert.rejects(upload(bytes(1000), options({ getToken })).done, (err: unknown) => err instanceof ClientError && err.code === 'CLIENT_ERR_UNAUTHORIZED')
    assert.equal(calls, 2)
  })

  test('a token that expires mid-upload: one refresh, the upload completes intact', async () => {
    const data = bytes(MiB, 2)
    // The first token expires 2 s from now; the second PATCH is held until it has, so it is refused
    // by the gateway's own exp check, mid-partition.
    const { getToken, calls, tokens } = expiringTokens()
    const { transport, answers } = holding((req) => req.method === 'PATCH' && req.headers['upload-offset'] !== '0', tokens.expiresMs)
    // One partition of four 256 KiB PATCHes (as a browser sends them), no hedges.
    const u = upload(data, options({ getToken, transport, chunkBytes: 256 * 1024, minPartitionBytes: MiB, maxPartitionBytes: MiB, initialPartitionBytes: MiB, hedging: false, splitting: false }))
    const failed: string[] = []
    u.on('attempt-failed', (e) => failed.push(e.code))
    const result = await u.done
    assert.equal(calls(), 2, 'getToken: once at the start, once after the 401')
    assert.deepEqual(failed, ['CLIENT_ERR_TOKEN_REFRESHED'])
    const patches = answers.filter((a) => a.method !== 'OPTIONS' && a.method !== 'POST')
    // Refused at 256 KiB, the attempt asks the server where it is, and goes on from there — not from 0.
    assert.deepEqual(patches.map((a) => [a.method, a.offset, a.status]), REFUSED_AT_256_KIB)
    assert.deepEqual(await download(result.url, { authorization: `Bearer ${tokens.fresh}` }), { sha256: sha256(data), size: data.length })
  })

  test('a token that expires just before the final: the final is retried with the refreshed one', async () => {
    const data = bytes(2 * MiB, 4)
    const { getToken, calls, tokens } = expiringTokens()
    const { transport, answers } = holding((req) => req.method === 'POST' && (req.headers['upload-concat'] ?? '').startsWith('final'), tokens.expiresMs)
    const result = await upload(data, options({ getToken, transport, minPartitionBytes: MiB, maxPartitionBytes: MiB, initialPartitionBytes: MiB, hedging: false })).done
    assert.equal(calls(), 2)
    const finals = answers.filter((a) => a.concat?.startsWith('final'))
    assert.deepEqual(finals.map((a) => a.status), [401, 201])
    assert.deepEqual(await download(result.url, { authorization: `Bearer ${tokens.fresh}` }), { sha256: sha256(data), size: data.length })
  })

  test('concurrent requests refused with one token share one refresh', async () => {
    const data = bytes(6 * MiB, 3)
    let calls = 0
    const getToken = (): string => (calls++ === 0 ? hsToken('alice', -60) : hsToken('alice'))
    const result = await upload(data, options({ getToken, minPartitionBytes: MiB, maxPartitionBytes: MiB, initialPartitionBytes: MiB, initialConcurrency: 4 })).done
    assert.equal(calls, 2)
    assert.deepEqual(await download(result.url, { authorization: `Bearer ${hsToken('alice')}` }), { sha256: sha256(data), size: data.length })
  })
})

describe('TusClient: a 401 on OPTIONS, HEAD and DELETE is retried once with a fresh token', () => {
  let server: Server
  let base: string
  const seen: string[] = []
  before(async () => {
    // A tus server (OPTIONS, HEAD, DELETE) that accepts only `Bearer fresh`.
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.headers.authorization}`)
      if (req.headers.authorization !== 'Bearer fresh') return void res.writeHead(401, { 'www-authenticate': 'Bearer realm="t"' }).end()
      if (req.method === 'OPTIONS') return void res.writeHead(204, { 'tus-resumable': '1.0.0', 'tus-version': '1.0.0', 'tus-extension': 'creation,termination' }).end()
      if (req.method === 'HEAD') return void res.writeHead(200, { 'tus-resumable': '1.0.0', 'upload-offset': '7', 'upload-length': '9' }).end()
      res.writeHead(204, { 'tus-resumable': '1.0.0' }).end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/files`
  })
  after(() => server.close())

  test('each request: stale → 401 → refresh → fresh', async () => {
    const transport = new NodeHttpTransport()
    const signal = new AbortController().signal
    for (const [name, call] of [
      ['OPTIONS', (tus: TusClient) => tus.capabilities(base)],
      ['HEAD', (tus: TusClient) => tus.head(`${base}/x`)],
      ['DELETE', (tus: TusClient) => tus.terminate(`${base}/x`)],
    ] as const) {
      let calls = 0
      const token = new BearerToken(() => (calls++ === 0 ? 'stale' : 'fresh'))
      const tus = new TusClient(transport, { headers: { Authorization: 'Bearer static' }, stallTimeoutMs: 5000, signal: () => signal, token })
      seen.length = 0
      await (call as (tus: TusClient) => Promise<unknown>)(tus)
      assert.deepEqual(seen, [`${name} Bearer stale`, `${name} Bearer fresh`], name)
      assert.equal(calls, 2)
    }
    await transport.close()
  })

  test('a getToken that throws or gives no token: CLIENT_ERR_UNAUTHORIZED', async () => {
    const transport = new NodeHttpTransport()
    for (const getToken of [() => Promise.reject(new Error('signed out')), () => 'two words', () => 42 as unknown as string]) {
      const tus = new TusClient(transport, { headers: {}, stallTimeoutMs: 5000, signal: () => new AbortController().signal, token: new BearerToken(getToken) })
      await assert.rejects(tus.capabilities(base), (err: unknown) => err instanceof ClientError && err.code === 'CLIENT_ERR_UNAUTHORIZED')
    }
    await transport.close()
  })
})
