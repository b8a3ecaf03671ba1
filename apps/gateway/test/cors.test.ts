// --cors-origins over real HTTP: the default (any origin), an origin list (allowed, other origin,
// preflights of both), every header of @tessera/protocol allowed and exposed, operator routes
// never answering CORS; and the option's parsing.
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import * as protocol from '@tessera/protocol'
import { loadConfig } from '../src/config.js'
import { startDurabilityGateway, type DurabilityGateway } from './helpers/durability-gateway.js'
import { TUS } from './helpers/gateway.js'

const open: DurabilityGateway[] = []
after(() => Promise.all(open.map((g) => g.close())))

async function start(flags: readonly string[] = []): Promise<DurabilityGateway> {
  const gw = await startDurabilityGateway(['--block-size', '4KiB', ...flags])
  open.push(gw)
  return gw
}

/** Every header name the wire contract defines: TusHeader's values and each `*_HEADER` constant. */
const WIRE_HEADERS = [
  ...Object.values(protocol.TusHeader),
  ...Object.entries(protocol).filter(([name, value]) => name.endsWith('_HEADER') && typeof value === 'string').map(([, value]) => value as string),
]

const list = (res: Response, name: string): string[] => (res.headers.get(name) ?? '').toLowerCase().split(',').map((s) => s.trim()).filter(Boolean)
const CORS_HEADERS = ['access-control-allow-origin', 'access-control-allow-credentials', 'access-control-allow-methods', 'access-control-allow-headers', 'access-control-expose-headers', 'access-control-max-age']
const noCors = (res: Response, what: string): void => {
  for (const h of CORS_HEADERS) assert.equal(res.headers.get(h), null, `${what}: ${h}`)
}

function preflight(url: string, origin: string, method = 'PATCH'): Promise<Response> {
  return fetch(url, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': 'authorization,tus-resumable,upload-offset,content-type' } })
}

describe('CORS', { timeout: 60_000 }, () => {
  test('default *: any origin is echoed (Vary: Origin), without credentials; the preflight is cached and allows and exposes every wire header', async () => {
    const gw = await start()
    assert.ok(WIRE_HEADERS.length > 15 && WIRE_HEADERS.includes('tessera-sha256'), WIRE_HEADERS.join())
    const pre = await preflight(gw.endpoint, 'https://anywhere.example')
    assert.equal(pre.status, 204)
    assert.equal(pre.headers.get('access-control-allow-origin'), 'https://anywhere.example')
    assert.equal(pre.headers.get('access-control-allow-credentials'), null)
    assert.equal(pre.headers.get('access-control-max-age'), '86400')
    assert.ok(list(pre, 'vary').includes('origin'))
    for (const m of ['post', 'get', 'head', 'patch', 'delete', 'options']) assert.ok(list(pre, 'access-control-allow-methods').includes(m), m)
    const allowed = list(pre, 'access-control-allow-headers')
    for (const h of [...WIRE_HEADERS, 'authorization', 'content-type', 'x-http-method-override', 'range']) assert.ok(allowed.includes(h), `allowed: ${h}`)

    const post = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, Origin: 'http://localhost:5173', 'Upload-Length': '3' } })
    assert.equal(post.status, 201)
    assert.equal(post.headers.get('access-control-allow-origin'), 'http://localhost:5173')
    const exposed = list(post, 'access-control-expose-headers')
    for (const h of [...WIRE_HEADERS, 'content-range', 'www-authenticate']) assert.ok(exposed.includes(h), `exposed: ${h}`)
    assert.ok(list(await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '3' } }), 'vary').includes('origin'), 'a cache keeps answers per Origin')
  })

  test('an origin list: a listed origin is echoed with credentials; another gets no CORS headers (its request still runs: simple requests cannot be stopped), its preflight 403', async () => {
    const gw = await start(['--cors-origins', 'https://app.example, http://localhost:5173'])
    const pre = await preflight(gw.endpoint, 'https://app.example')
    assert.equal(pre.status, 204)
    assert.equal(pre.headers.get('access-control-allow-origin'), 'https://app.example')
    assert.equal(pre.headers.get('access-control-allow-credentials'), 'true')
    const post = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, Origin: 'http://localhost:5173', 'Upload-Length': '3' } })
    assert.equal(post.status, 201)
    assert.equal(post.headers.get('access-control-allow-origin'), 'http://localhost:5173')
    assert.equal(post.headers.get('access-control-allow-credentials'), 'true')

    for (const origin of ['https://evil.example', 'https://app.example:8443', 'http://app.example', 'null']) {
      const other = await preflight(gw.endpoint, origin)
      assert.equal(other.status, 403, origin)
      assert.equal(other.headers.get('tessera-error-code'), 'TESSERA_ERR_FORBIDDEN')
      noCors(other, `preflight from ${origin}`)
      const simple = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, Origin: origin, 'Upload-Length': '3' } })
      assert.equal(simple.status, 201, origin)
      noCors(simple, `POST from ${origin}`)
    }
    // tus OPTIONS (discovery, no Access-Control-Request-Method) is not a preflight: answered by tus.
    const discovery = await fetch(gw.endpoint, { method: 'OPTIONS', headers: { Origin: 'https://app.example' } })
    assert.equal(discovery.status, 204)
    assert.ok(discovery.headers.get('tus-extension'))
  })

  test('operator routes never answer CORS, not even to a listed origin or a preflight', async () => {
    const gw = await start(['--cors-origins', 'https://app.example'])
    for (const path of ['/_tessera/live', '/_tessera/ready', '/_tessera/health', '/_tessera/durability', '/_tessera/uploads', '/_tessera/dashboard']) {
      noCors(await fetch(`${gw.origin}${path}`, { headers: { Origin: 'https://app.example' } }), `GET ${path}`)
      const pre = await preflight(`${gw.origin}${path}`, 'https://app.example', 'GET')
      assert.ok(pre.status >= 400, `preflight of ${path}: ${pre.status}`)
      noCors(pre, `preflight of ${path}`)
    }
  })

  test('--cors-origins parsing: *, a list normalised as browsers send Origin, problems named', () => {
    assert.deepEqual(loadConfig([], {}, '/tmp').cors, { origins: '*' })
    assert.deepEqual(loadConfig(['--cors-origins', '*'], {}, '/tmp').cors, { origins: '*' })
    assert.deepEqual(loadConfig([], { TESSERA_CORS_ORIGINS: 'HTTPS://App.Example:443/,http://127.0.0.1:8080,https://app.example' }, '/tmp').cors, { origins: ['https://app.example', 'http://127.0.0.1:8080'] })
    for (const bad of ['https://app.example/path', 'app.example', 'ftp://app.example', '*,https://app.example', 'https://u:p@app.example', ',', 'https://app.example?x']) {
      assert.throws(() => loadConfig(['--cors-origins', bad], {}, '/tmp'), (err: Error) => err.message.includes('--cors-origins'), bad)
    }
  })
})
