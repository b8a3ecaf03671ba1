// --auth jwt key sources and claims: HS256 with --jwt-secret, RS256/ES256 through a JWKS file and
// through --jwks-url (served by a local HTTP server here); exp, nbf, iss, aud, sub, the clock skew,
// and algorithms a key source must refuse.
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { JWK } from 'jose'
import { startGateway, type TestGateway } from './helpers/gateway.js'
import { SECRET, as, hsToken, keyToken, send, signingKey, type SigningKey } from './helpers/auth.js'

const nowS = (): number => Math.floor(Date.now() / 1000)

/** Status and the `error_description` of a POST with `token`. */
async function create(gw: TestGateway, token: string): Promise<{ status: number; description: string | undefined }> {
  const answer = await send('POST', gw.endpoint, as(token, { 'Upload-Length': '1' }))
  return { status: answer.status, description: /error_description="([^"]*)"/.exec(answer.headers['www-authenticate'] ?? '')?.[1] }
}

/** A local JWKS server: serves `keys` at /jwks.json and counts the fetches. */
async function jwksServer(keys: JWK[]): Promise<{ url: string; fetches: () => number; server: Server }> {
  let fetches = 0
  const server = createServer((req, res) => {
    fetches += 1
    if (req.url !== '/jwks.json') return void res.writeHead(404).end()
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`, fetches: () => fetches, server }
}

describe('--jwt-secret (HS256): claims', () => {
  let gw: TestGateway
  before(async () => {
    gw = await startGateway(['--auth', 'jwt', '--jwt-secret', SECRET, '--jwt-issuer', 'https://id.example', '--jwt-audience', 'tessera', '--jwt-clock-skew', '10s'])
  })
  after(() => gw.close())
  const good = { sub: 'alice', iss: 'https://id.example', aud: 'tessera' }

  const cases: { name: string; claims: () => Parameters<typeof hsToken>[0]; status: number; description?: RegExp }[] = [
    { name: 'valid', claims: () => good, status: 201 },
    { name: 'expired 5 s ago: within the 10 s skew', claims: () => ({ ...good, exp: nowS() - 5 }), status: 201 },
    { name: 'expired 60 s ago', claims: () => ({ ...good, exp: nowS() - 60 }), status: 401, description: /expired/ },
    { name: 'nbf in 60 s', claims: () => ({ ...good, nbf: nowS() + 60 }), status: 401, description: /not valid yet/ },
    { name: 'nbf in 5 s: within the skew', claims: () => ({ ...good, nbf: nowS() + 5 }), status: 201 },
    { name: 'wrong issuer', claims: () => ({ ...good, iss: 'https://evil.example' }), status: 401, description: /issuer/ },
    { name: 'wrong audience', claims: () => ({ ...good, aud: 'someone-else' }), status: 401, description: /aud/ },
    { name: 'no sub', claims: () => ({ iss: good.iss, aud: good.aud }), status: 401, description: /no sub claim/ },
    { name: 'no exp', claims: () => ({ ...good, exp: null }), status: 401, description: /no exp claim/ },
  ]
  for (const c of cases) {
    test(c.name, async () => {
      const answer = await create(gw, await hsToken(c.claims()))
      assert.equal(answer.status, c.status)
      if (c.description) assert.match(answer.description ?? '', c.description)
    })
  }

  test('malformed tokens and headers', async () => {
    assert.equal((await create(gw, 'not-a-jwt')).status, 401)
    const answer = await send('POST', gw.endpoint, as(undefined, { 'Upload-Length': '1', Authorization: 'Bearer a b' }))
    assert.equal(answer.status, 401)
    assert.match(answer.headers['www-authenticate']!, /error="invalid_token"/)
    // Another scheme is no bearer token at all: no error attribute.
    const basic = await send('POST', gw.endpoint, as(undefined, { 'Upload-Length': '1', Authorization: 'Basic YWxpY2U6c2VjcmV0' }))
    assert.equal(basic.status, 401)
    assert.equal(basic.headers['www-authenticate'], 'Bearer realm="tessera"')
  })

  test('an RS256 token is refused by a secret (no algorithm confusion)', async () => {
    const key = await signingKey('RS256')
    const answer = await create(gw, await keyToken(key, good))
    assert.equal(answer.status, 401)
    assert.match(answer.description!, /algorithm/)
  })
})

for (const alg of ['RS256', 'ES256'] as const) {
  describe(`${alg} through a JWKS`, () => {
    let key: SigningKey
    let stranger: SigningKey
    before(async () => {
      key = await signingKey(alg)
      stranger = await signingKey(alg)
    })

    /** Valid, signed by a key not in the set, HS256 signed with the public key's bytes as a secret. */
    async function check(gw: TestGateway): Promise<void> {
      assert.equal((await create(gw, await keyToken(key, { sub: 'alice' }))).status, 201)
      assert.equal((await create(gw, await keyToken(key, { sub: 'alice', exp: nowS() - 120 }))).status, 401)
      const unknown = await create(gw, await keyToken(stranger, { sub: 'alice' }))
      assert.equal(unknown.status, 401)
      assert.match(unknown.description!, /no key of the key set/)
      const confused = await create(gw, await hsToken({ sub: 'alice' }, JSON.stringify(key.jwk)))
      assert.equal(confused.status, 401)
    }

    test('--jwks-file', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'tessera-jwks-'))
      const file = join(dir, 'jwks.json')
      await writeFile(file, JSON.stringify({ keys: [key.jwk] }))
      const gw = await startGateway(['--auth', 'jwt', '--jwks-file', file])
      try {
        await check(gw)
      } finally {
        await gw.close()
        await rm(dir, { recursive: true, force: true })
      }
    })

    test('--jwks-url: fetched on first use, cached after', async () => {
      const jwks = await jwksServer([key.jwk])
      const gw = await startGateway(['--auth', 'jwt', '--jwks-url', jwks.url])
      try {
        assert.equal(jwks.fetches(), 0, 'no I/O before the first token')
        await check(gw)
        // One fetch for the set, and jose's cooldown keeps the unknown kid from refetching at once.
        assert.ok(jwks.fetches() >= 1 && jwks.fetches() <= 2, String(jwks.fetches()))
      } finally {
        await gw.close()
        jwks.server.close()
      }
    })
  })
}

test('--jwks-url unreachable: 503 (the request was fine), not 401', async () => {
  const jwks = await jwksServer([])
  jwks.server.close()
  const gw = await startGateway(['--auth', 'jwt', '--jwks-url', jwks.url])
  try {
    const key = await signingKey('ES256')
    const answer = await send('POST', gw.endpoint, as(await keyToken(key, { sub: 'alice' }), { 'Upload-Length': '1' }))
    assert.equal(answer.status, 503)
    assert.equal(answer.headers['tessera-error-code'], 'TESSERA_ERR_UNAVAILABLE')
  } finally {
    await gw.close()
  }
})
