// --cors-origins over real HTTP: the default (any origin), an origin list (allowed, other origin,
// preflights of both), every header of @tessera/protocol allowed and exposed, operator routes
// never answering CORS; and the option's parsing. Then in headless Chromium: a page of a listed
// origin uploads and reads the answer; a page of another origin fails cleanly, and so does either
// reading an operator route.
import assert from 'node:assert/strict'
import { readdir } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { chromiumMissing as noBrowser, launchChromium } from '../../../packages/client/test/helpers/chromium.js'
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

/** A page server on a port of its own: another origin than the gateway's. */
async function site(): Promise<{ origin: string; server: Server }> {
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>site</title>'))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { origin: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server }
}

/** What a page's tus creation, PATCH and operator fetch came to: statuses and headers read, or the error the browser raised. */
interface PageOutcome {
  readonly created?: { status: number; location: string | null }
  readonly patched?: { status: number; offset: string | null }
  readonly ready?: number
  readonly errors: string[]
}

describe('CORS in headless Chromium', { skip: noBrowser, timeout: 60_000 }, () => {
  test('a listed origin creates and PATCHes (with Authorization) and reads the tus headers; another origin fails cleanly; neither reads an operator route', async () => {
    const allowed = await site()
    const other = await site()
    const gw = await start(['--cors-origins', allowed.origin])
    const browser = await launchChromium()
    try {
      const run = async (origin: string): Promise<PageOutcome> => {
        const page = await browser.newPage()
        await page.goto(origin)
        // The function runs in the page (plain fetch, the browser enforcing CORS).
        return page.evaluate(async (endpoint: string): Promise<PageOutcome> => {
          const errors: string[] = []
          const out: { created?: PageOutcome['created']; patched?: PageOutcome['patched']; ready?: number } = {}
          try {
            const r = await fetch(endpoint, { method: 'POST', headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': '3', Authorization: 'Bearer not-checked-here' } })
            out.created = { status: r.status, location: r.headers.get('location') }
            const p = await fetch(out.created.location!, { method: 'PATCH', headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' }, body: new Uint8Array([1, 2, 3]) })
            out.patched = { status: p.status, offset: p.headers.get('upload-offset') }
          } catch (err) {
            errors.push(`tus: ${String(err)}`)
          }
          try {
            out.ready = (await fetch(new URL('/_tessera/ready', endpoint))).status
          } catch (err) {
            errors.push(`ready: ${String(err)}`)
          }
          return { ...out, errors }
        }, gw.endpoint)
      }
      const ok = await run(allowed.origin)
      assert.equal(ok.created?.status, 201)
      assert.match(ok.created?.location ?? '', /\/files\/[0-9a-f]{32}$/)
      assert.deepEqual(ok.patched, { status: 204, offset: '3' })
      assert.equal(ok.ready, undefined)
      assert.deepEqual(ok.errors.map((e) => e.split(':')[0]), ['ready'])
      const records = async (): Promise<number> => (await readdir(join(gw.config.dataDir, 'meta', 'uploads'))).filter((f) => f.endsWith('.json')).length
      assert.equal(await records(), 1)
      const refused = await run(other.origin)
      assert.equal(refused.created, undefined)
      assert.equal(await records(), 1, 'the refused preflight kept the POST from being sent')
      assert.deepEqual(refused.errors.map((e) => e.split(':')[0]), ['tus', 'ready'])
      assert.match(refused.errors[0]!, /TypeError: Failed to fetch/)
    } finally {
      await browser.close()
      for (const s of [allowed, other]) await new Promise<void>((resolve) => s.server.close(() => resolve()))
    }
  })
})
