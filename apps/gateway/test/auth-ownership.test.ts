// Ownership under --auth jwt beyond single routes: reconciliation of hedged attempts stays within
// one owner (a partition id another owner also uses never collides), and uploads made under
// --auth none are nobody's once a gateway on the same data turns --auth jwt on.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { TesseraMetadataKey } from '@tessera/protocol'
import { OCTET, TUS, bytes, idOf, metadata, startGateway, type TestGateway } from './helpers/gateway.js'
import { attemptMetadata, partitionsSha256, sha256 } from './helpers/reconciliation.js'
import { SECRET, as, hsToken, renamed, send, unknownId } from './helpers/auth.js'

let gw: TestGateway
let alice: string
let bob: string
before(async () => {
  gw = await startGateway(['--auth', 'jwt', '--jwt-secret', SECRET])
  alice = await hsToken({ sub: 'alice' })
  bob = await hsToken({ sub: 'bob' })
})
after(() => gw.close())

/** Creates a Tessera attempt of `data` (partition `<session>/0`, the whole file) as `token`; resolves its URL. */
async function attempt(token: string, session: string, n: number, data: Uint8Array): Promise<string> {
  const created = await send('POST', gw.endpoint, as(token, {
    'Upload-Concat': 'partial',
    'Upload-Length': String(data.length),
    'Upload-Metadata': attemptMetadata({ partition: `${session}/0`, offset: 0, attempt: n, sha256: sha256(data) }),
  }))
  assert.equal(created.status, 201, created.body)
  return created.headers['location']!
}

const patchAll = (token: string, url: string, data: Uint8Array) => send('PATCH', url, as(token, { 'Content-Type': OCTET, 'Upload-Offset': '0' }), data)

/** A final of the single partition `url` carries; resolves the answer. */
const finalOf = (token: string, url: string, data: Uint8Array) =>
  send('POST', gw.endpoint, as(token, {
    'Upload-Concat': `final;${url}`,
    'Upload-Metadata': metadata({ [TesseraMetadataKey.partitionsSha256]: partitionsSha256(data, [0, data.length]) }),
  }))

describe('--auth jwt: reconciliation per owner', () => {
  test('two owners using one partition id: each wins its own, neither supersedes the other', async () => {
    const mine = bytes(4096, 1)
    const theirs = bytes(4096, 2)
    const a = await attempt(alice, 'shared-session', 0, mine)
    const b = await attempt(bob, 'shared-session', 0, theirs)
    // Bob finishes first: with one index entry for both, Alice's attempt would now lose to his.
    assert.equal((await patchAll(bob, b, theirs)).status, 204)
    const done = await patchAll(alice, a, mine)
    assert.equal(done.status, 204, done.body)
    assert.equal(done.headers['tessera-winner'], undefined)
    assert.equal((await send('HEAD', a, as(alice))).status, 200)
    assert.equal((await send('HEAD', b, as(bob))).status, 200)

    // Each final gets its owner's bytes.
    for (const [token, url, data] of [[alice, a, mine], [bob, b, theirs]] as const) {
      const final = await finalOf(token, url, data)
      assert.equal(final.status, 201, final.body)
      const got = await fetch(final.headers['location']!, { headers: as(token) })
      assert.deepEqual(Buffer.from(await got.arrayBuffer()), Buffer.from(data))
    }
  })

  test('a final naming another owner\'s attempt: the unknown partial\'s answer', async () => {
    const data = bytes(2048, 3)
    const a = await attempt(alice, 'alice-only', 0, data)
    assert.equal((await patchAll(alice, a, data)).status, 204)
    const stolen = await finalOf(bob, a, data)
    const missing = unknownId()
    const unknown = await finalOf(bob, `${gw.endpoint}/${missing}`, data)
    assert.equal(stolen.status, 400)
    assert.deepEqual(renamed(stolen, idOf(a), missing), unknown)
  })

  test('hedged attempts of one owner still reconcile: the first verified wins, the other is superseded', async () => {
    const data = bytes(4096, 4)
    const first = await attempt(alice, 'hedged', 0, data)
    const hedge = await attempt(alice, 'hedged', 1, data)
    assert.equal((await patchAll(alice, first, data)).status, 204)
    const late = await patchAll(alice, hedge, data)
    assert.equal(late.status, 410)
    assert.equal(late.headers['tessera-error-code'], 'TESSERA_ERR_SUPERSEDED')
    assert.equal(late.headers['tessera-winner'], new URL(first).pathname)
    // Bob attempting the same partition id later neither sees nor disturbs Alice's winner.
    const bobs = await attempt(bob, 'hedged', 2, data)
    assert.equal((await patchAll(bob, bobs, data)).status, 204)
    assert.equal((await send('HEAD', first, as(alice))).status, 200)
  })
})

test('uploads made under --auth none are nobody\'s under --auth jwt: 404 to every token', async () => {
  const data = await mkdtemp(join(tmpdir(), 'tessera-auth-switch-'))
  try {
    const open = await startGateway(['--data', data])
    const created = await fetch(open.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '3' } })
    const path = new URL(created.headers.get('location')!).pathname
    await open.close()

    const closed = await startGateway(['--data', data, '--auth', 'jwt', '--jwt-secret', SECRET])
    try {
      const head = await send('HEAD', `${closed.origin}${path}`, as(alice))
      const missing = unknownId()
      const unknown = await send('HEAD', `${closed.endpoint}/${missing}`, as(alice))
      assert.equal(head.status, 404)
      assert.deepEqual(renamed(head, idOf(`${closed.origin}${path}`), missing), unknown)
    } finally {
      await closed.close()
    }
    // Back under --auth none it is there as before.
    const reopened = await startGateway(['--data', data])
    try {
      assert.equal((await fetch(`${reopened.origin}${path}`, { method: 'HEAD', headers: TUS })).status, 200)
    } finally {
      await reopened.close()
    }
  } finally {
    await rm(data, { recursive: true, force: true })
  }
})
