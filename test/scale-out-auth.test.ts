// --auth jwt in a cluster (two gateway processes on one Redis, one set of backends): the owner is in
// the upload record the cluster shares, so either gateway answers the owner and 404s everyone else;
// and hedged attempts of two owners naming one partition on different gateways stay apart.
// Needs Redis (REDIS_URL): skipped with the reason when it is unreachable, failed when CI is set.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { redisSkip } from '@tessera/cluster/testing'
import { JWT_FLAGS, hsToken } from '../packages/client/test/helpers/jwt.js'
import { TestClusters } from './helpers/cluster.js'
import { dataBuffer } from './helpers/data.js'
import { urlOn } from './helpers/gateway-process.js'
import { download, tusRequest } from './helpers/http.js'

const HANG_GUARD = { timeout: 60_000 }
const skip = await redisSkip('the scale-out auth tests')

const bearer = (sub: string): Record<string, string> => ({ Authorization: `Bearer ${hsToken(sub)}` })
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')
const b64 = (s: string): string => Buffer.from(s).toString('base64')

/** A PATCH of `body` at `offset` with `headers`; resolves the status. */
async function patch(url: string, offset: number, body: Uint8Array, headers: Record<string, string>): Promise<number> {
  const res = await fetch(url, { method: 'PATCH', headers: { 'Tus-Resumable': '1.0.0', 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(offset), ...headers }, body })
  await res.arrayBuffer()
  return res.status
}

describe('scale-out with --auth jwt', { skip }, () => {
  let clusters: TestClusters
  before(async () => {
    clusters = await TestClusters.open('scale-out-auth')
  })
  after(() => clusters.close())

  test('created on A, resumed on B by its owner; another user gets 404 on either', HANG_GUARD, async () => {
    const { start } = clusters.cluster('owner', [...JWT_FLAGS])
    const [a, b] = await Promise.all([start('a'), start('b')])
    const alice = bearer('alice')
    const bytes = dataBuffer(3 * 1024 * 1024 + 7, 'scale-out-auth')
    const created = await tusRequest('POST', a.url, { ...alice, 'Upload-Length': String(bytes.length) })
    assert.equal(created.status, 201)
    const onA = new URL(created.headers.location!, a.url).href
    const half = 1024 * 1024
    assert.equal(await patch(onA, 0, bytes.subarray(0, half), alice), 204)
    const onB = urlOn(b, onA)
    const head = await tusRequest('HEAD', onB, alice)
    assert.equal(head.status, 200)
    assert.equal(head.headers['upload-offset'], String(half))
    for (const url of [onA, onB]) assert.equal((await tusRequest('HEAD', url, bearer('bob'))).status, 404)
    assert.equal(await patch(onB, half, bytes.subarray(half), bearer('bob')), 404)
    assert.equal(await patch(onB, half, bytes.subarray(half), alice), 204)
    const got = await download(onA, { headers: alice })
    assert.equal(got.status, 200, got.text)
    assert.equal(got.sha256, sha256(bytes))
  })

  test('two owners, one partition id, one on each gateway: both attempts win their own partition', HANG_GUARD, async () => {
    const { start } = clusters.cluster('partition', [...JWT_FLAGS])
    const [a, b] = await Promise.all([start('a'), start('b')])
    const attempt = async (gateway: typeof a, sub: string, bytes: Uint8Array): Promise<number> => {
      const digest = createHash('sha256').update(bytes).digest('base64')
      const metadata = `tessera-partition ${b64('shared/0')},tessera-offset ${b64('0')},tessera-attempt ${b64('0')},tessera-sha256 ${b64(digest)}`
      const created = await tusRequest('POST', gateway.url, { ...bearer(sub), 'Upload-Concat': 'partial', 'Upload-Length': String(bytes.length), 'Upload-Metadata': metadata })
      assert.equal(created.status, 201, created.text)
      return patch(new URL(created.headers.location!, gateway.url).href, 0, bytes, bearer(sub))
    }
    // Bob's wins first on B; with one partition for both, Alice's on A would then be superseded (410).
    assert.equal(await attempt(b, 'bob', dataBuffer(8192, 'bob')), 204)
    assert.equal(await attempt(a, 'alice', dataBuffer(8192, 'alice')), 204)
  })
})
