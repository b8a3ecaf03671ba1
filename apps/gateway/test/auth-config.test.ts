// The --auth options of loadConfig: defaults, each key source, and every problem listed at once.
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { loadConfig } from '../src/config.js'
import { problems as listed } from './helpers/config-problems.js'

const SECRET = 's'.repeat(32)

const problems = (argv: string[], env: NodeJS.ProcessEnv = {}, cwd = tmpdir()): string[] => listed(() => loadConfig(argv, env, cwd))

describe('loadConfig: --auth', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-auth-config-'))
    await writeFile(join(dir, 'jwks.json'), JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] }))
    await writeFile(join(dir, 'private.json'), JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd' }] }))
    await writeFile(join(dir, 'empty.json'), JSON.stringify({ keys: [] }))
  })
  after(() => rm(dir, { recursive: true, force: true }))

  test('default: none', () => {
    assert.deepEqual(loadConfig([], {}, dir).auth, { mode: 'none' })
  })

  test('jwt with a secret; 30 s skew by default; issuer and audience', () => {
    assert.deepEqual(loadConfig(['--auth', 'jwt', '--jwt-secret', SECRET, '--jwt-issuer', 'https://id', '--jwt-audience', 'up'], {}, dir).auth, {
      mode: 'jwt',
      keys: { kind: 'secret', secret: SECRET },
      issuer: 'https://id',
      audience: 'up',
      clockSkewMs: 30_000,
    })
  })

  test('from the environment, a JWKS file relative to cwd, and a skew with units', () => {
    const auth = loadConfig([], { TESSERA_AUTH: 'jwt', TESSERA_JWKS_FILE: 'jwks.json', TESSERA_JWT_CLOCK_SKEW: '2m' }, dir).auth
    assert.equal(auth.mode, 'jwt')
    assert.ok(auth.mode === 'jwt' && auth.keys.kind === 'jwks' && auth.keys.source === join(dir, 'jwks.json'))
    assert.equal(auth.mode === 'jwt' && auth.clockSkewMs, 120_000)
    const remote = loadConfig(['--auth', 'jwt', '--jwks-url', 'https://id.example/.well-known/jwks.json'], {}, dir).auth
    assert.deepEqual(remote.mode === 'jwt' && remote.keys, { kind: 'jwks-url', url: 'https://id.example/.well-known/jwks.json' })
  })

  test('every problem at once, naming where it came from — and never the secret', () => {
    const listed = problems(['--auth', 'jwt', '--jwt-secret', 'short-secret', '--jwt-clock-skew', 'soon', '--jwt-audience', ''], {}, dir)
    assert.equal(listed.length, 3, listed.join('\n'))
    assert.match(listed[0]!, /--jwt-secret: an HS256 secret must be at least 32 bytes, got 12/)
    assert.match(listed[1]!, /--jwt-clock-skew: expected a duration/)
    assert.match(listed[2]!, /--jwt-audience: must not be empty/)
    assert.doesNotMatch(listed.join('\n'), /short-secret/)
  })

  test('exactly one key source', () => {
    assert.match(problems(['--auth', 'jwt'], {}, dir)[0]!, /exactly one of --jwt-secret, --jwks-file, --jwks-url, got none/)
    assert.match(problems(['--auth', 'jwt', '--jwt-secret', SECRET, '--jwks-url', 'https://x/j'], {}, dir)[0]!, /got --jwt-secret and --jwks-url/)
  })

  test('bad key sources', () => {
    assert.match(problems(['--auth', 'jwt', '--jwks-url', 'ftp://x/j'], {}, dir)[0]!, /--jwks-url: expected an http: or https: URL/)
    assert.match(problems(['--auth', 'jwt', '--jwks-file', 'missing.json'], {}, dir)[0]!, /--jwks-file: .*missing\.json: ENOENT/)
    assert.match(problems(['--auth', 'jwt', '--jwks-file', 'empty.json'], {}, dir)[0]!, /not a JWKS document/)
    assert.match(problems(['--auth', 'jwt', '--jwks-file', 'private.json'], {}, dir)[0]!, /private key/)
  })

  test('an unknown mode, and JWT options without --auth jwt (they would be ignored)', () => {
    assert.match(problems(['--auth', 'basic'], {}, dir)[0]!, /--auth: expected 'none' or 'jwt', got "basic"/)
    const listed = problems(['--jwt-secret', SECRET], { TESSERA_JWT_ISSUER: 'https://id' }, dir)
    assert.deepEqual(listed.map((l) => l.trim()), ['- --jwt-secret is set but --auth is not jwt: it would be ignored', '- TESSERA_JWT_ISSUER is set but --auth is not jwt: it would be ignored'])
  })
})
