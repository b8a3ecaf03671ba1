// --auth jwt on every tus route (real HTTP against a real gateway): no token, an expired token, a bad
// signature, another owner's token, the right token. Another owner's upload answers exactly what an
// unknown id answers.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { OCTET, bytes, idOf, startGateway, type TestGateway } from './helpers/gateway.js'
import { SECRET, as, hsToken, renamed, send, unknownId, type Answer } from './helpers/auth.js'

const hour = (): number => Math.floor(Date.now() / 1000) + 3600

let gw: TestGateway
let alice: string
const tokens: Record<string, string> = {}

before(async () => {
  gw = await startGateway(['--auth', 'jwt', '--jwt-secret', SECRET])
  alice = await hsToken({ sub: 'alice' })
  tokens['right'] = alice
  tokens['another owner'] = await hsToken({ sub: 'bob' })
  // Past the default 30 s clock skew.
  tokens['expired'] = await hsToken({ sub: 'alice', exp: Math.floor(Date.now() / 1000) - 120 })
  tokens['bad signature'] = await hsToken({ sub: 'alice', exp: hour() }, 'another-secret-0123456789-abcdefghij')
})
after(() => gw.close())

/** Alice's upload of `data`, `sent` bytes of it already PATCHed (all by default). */
async function aliceUpload(data: Uint8Array, sent = data.length, headers: Record<string, string> = {}): Promise<string> {
  const created = await send('POST', gw.endpoint, as(alice, { 'Upload-Length': String(data.length), ...headers }))
  assert.equal(created.status, 201, created.body)
  const url = created.headers['location']!
  if (sent > 0) {
    const patched = await send('PATCH', url, as(alice, { 'Content-Type': OCTET, 'Upload-Offset': '0' }), data.subarray(0, sent))
    assert.equal(patched.status, 204, patched.body)
  }
  return url
}

/** One route: what it needs of Alice first, the request for a token, and what success looks like. */
interface Route {
  readonly name: string
  /** Alice's upload(s) the request is about; resolves the URL (or the final's partial URLs, comma-joined). */
  readonly setup: () => Promise<string>
  readonly request: (target: string, token: string | undefined) => Promise<Answer>
  readonly success: number
  /** After another owner's attempt: Alice's upload is unchanged. */
  readonly untouched?: (target: string) => Promise<void>
}

const data = bytes(64, 7)
const aliceOffset = async (url: string): Promise<number> => {
  const answer = await send('HEAD', url, as(alice))
  assert.equal(answer.status, 200)
  return Number(answer.headers['upload-offset'])
}

const routes: Route[] = [
  {
    name: 'POST (creation)',
    setup: async () => gw.endpoint,
    request: (endpoint, token) => send('POST', endpoint, as(token, { 'Upload-Length': '10' })),
    success: 201,
  },
  {
    name: 'HEAD',
    setup: () => aliceUpload(data, 20),
    request: (url, token) => send('HEAD', url, as(token)),
    success: 200,
  },
  {
    name: 'PATCH',
    setup: () => aliceUpload(data, 20),
    request: (url, token) => send('PATCH', url, as(token, { 'Content-Type': OCTET, 'Upload-Offset': '20' }), data.subarray(20, 30)),
    success: 204,
    untouched: async (url) => assert.equal(await aliceOffset(url), 20),
  },
  {
    name: 'GET',
    setup: () => aliceUpload(data),
    request: (url, token) => send('GET', url, as(token)),
    success: 200,
  },
  {
    name: 'DELETE',
    setup: () => aliceUpload(data, 20),
    request: (url, token) => send('DELETE', url, as(token)),
    success: 204,
    untouched: async (url) => assert.equal(await aliceOffset(url), 20),
  },
  {
    name: 'final concatenation',
    setup: async () => [await aliceUpload(data.subarray(0, 32), 32, { 'Upload-Concat': 'partial' }), await aliceUpload(data.subarray(32), 32, { 'Upload-Concat': 'partial' })].join(' '),
    request: (parts, token) => send('POST', gw.endpoint, as(token, { 'Upload-Concat': `final;${parts}` })),
    success: 201,
  },
]

/** The unknown-id twin of a request on `target`: the same request, every upload id in it replaced by unknown ones. */
function unknownTwin(target: string): { target: string; ids: [string, string][] } {
  const ids = [...target.matchAll(/[0-9a-f]{32}/g)].map((m): [string, string] => [m[0], unknownId()])
  return { target: ids.reduce((t, [from, to]) => t.replace(from, to), target), ids }
}

describe('--auth jwt: every route against every kind of token', () => {
  for (const route of routes) {
    describe(route.name, () => {
      test('no token: 401, WWW-Authenticate without an error (RFC 6750 §3.1)', async () => {
        const answer = await route.request(await route.setup(), undefined)
        assert.equal(answer.status, 401)
        assert.equal(answer.headers['www-authenticate'], 'Bearer realm="tessera"')
        assert.equal(answer.headers['tessera-error-code'], 'TESSERA_ERR_UNAUTHORIZED')
      })
      for (const bad of ['expired', 'bad signature']) {
        test(`${bad} token: 401 invalid_token`, async () => {
          const target = await route.setup()
          const answer = await route.request(target, tokens[bad])
          assert.equal(answer.status, 401)
          assert.match(answer.headers['www-authenticate']!, /^Bearer realm="tessera", error="invalid_token", error_description="[^"\\]+"$/)
          assert.equal(answer.headers['tessera-error-code'], 'TESSERA_ERR_UNAUTHORIZED')
          await route.untouched?.(target)
        })
      }
      test('another owner: answered exactly as an unknown id is', async () => {
        const target = await route.setup()
        const answer = await route.request(target, tokens['another owner'])
        if (route.name === 'POST (creation)') {
          // Creating is anyone's right; the upload is Bob's own.
          assert.equal(answer.status, 201)
          assert.equal((await gw.deps!.records.get(idOf(answer.headers['location']!)))?.owner, 'bob')
          return
        }
        const twin = unknownTwin(target)
        const unknown = await route.request(twin.target, tokens['another owner'])
        assert.ok(unknown.status === 404 || unknown.status === 400, `unknown: ${unknown.status}`)
        assert.deepEqual(twin.ids.reduce((a, [from, to]) => renamed(a, from, to), answer), unknown)
        await route.untouched?.(target)
      })
      test('the right token: the route works', async () => {
        const answer = await route.request(await route.setup(), tokens['right'])
        assert.equal(answer.status, route.success, answer.body)
      })
    })
  }
})

describe('--auth jwt: ownership', () => {
  test('the owner is the token sub, kept in the record and in its tombstone', async () => {
    const url = await aliceUpload(data, 0)
    assert.equal((await gw.deps!.records.get(idOf(url)))?.owner, 'alice')
    assert.equal((await send('DELETE', url, as(alice))).status, 204)
    assert.equal((await gw.deps!.records.get(idOf(url)))?.owner, 'alice')
    // Gone for its owner (410), still nothing at all for anyone else (404, as unknown).
    assert.equal((await send('HEAD', url, as(alice))).status, 410)
    const bob = await send('HEAD', url, as(tokens['another owner']))
    const unknown = await send('HEAD', `${gw.endpoint}/${unknownId()}`, as(tokens['another owner']))
    assert.equal(bob.status, 404)
    assert.deepEqual({ ...bob, body: '' }, { ...unknown, body: '' })
  })

  test('a final is the owner\'s too, and only its owner reads it', async () => {
    const a = await aliceUpload(data.subarray(0, 32), 32, { 'Upload-Concat': 'partial' })
    const b = await aliceUpload(data.subarray(32), 32, { 'Upload-Concat': 'partial' })
    const final = await send('POST', gw.endpoint, as(alice, { 'Upload-Concat': `final;${a} ${b}` }))
    assert.equal(final.status, 201)
    const url = final.headers['location']!
    assert.equal((await gw.deps!.records.get(idOf(url)))?.owner, 'alice')
    const got = await fetch(url, { headers: as(alice) })
    assert.deepEqual(Buffer.from(await got.arrayBuffer()), data)
    assert.equal((await send('GET', url, as(tokens['another owner']))).status, 404)
  })

  test('a final mixing the owner\'s partials with another owner\'s: the unknown partial\'s answer', async () => {
    const mine = await aliceUpload(data.subarray(0, 32), 32, { 'Upload-Concat': 'partial' })
    const bobs = await send('POST', gw.endpoint, as(tokens['another owner'], { 'Upload-Length': '32', 'Upload-Concat': 'partial' }))
    const bobUrl = bobs.headers['location']!
    assert.equal((await send('PATCH', bobUrl, as(tokens['another owner'], { 'Content-Type': OCTET, 'Upload-Offset': '0' }), data.subarray(32))).status, 204)
    const mixed = await send('POST', gw.endpoint, as(alice, { 'Upload-Concat': `final;${mine} ${bobUrl}` }))
    const missing = unknownId()
    const unknown = await send('POST', gw.endpoint, as(alice, { 'Upload-Concat': `final;${mine} ${gw.endpoint}/${missing}` }))
    assert.equal(mixed.status, 400)
    assert.deepEqual(renamed(mixed, idOf(bobUrl), missing), unknown)
  })

  test('OPTIONS needs no token (preflights and discovery carry none)', async () => {
    const res = await fetch(gw.endpoint, { method: 'OPTIONS' })
    assert.equal(res.status, 204)
    assert.ok(res.headers.get('tus-extension')?.includes('creation'))
  })

  test('the 401 reaches a browser: CORS headers are on it', async () => {
    const res = await fetch(gw.endpoint, { method: 'POST', headers: { ...as(undefined, { 'Upload-Length': '1' }), Origin: 'http://app.example' } })
    assert.equal(res.status, 401)
    assert.equal(res.headers.get('access-control-allow-origin'), 'http://app.example')
  })
})
