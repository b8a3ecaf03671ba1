// Scale-out over S3 buckets (issue 10): two gateway processes on one Redis prefix and six buckets
// of a real S3 server (Ceph radosgw from scripts/s3-local.sh) — @tessera/client spreading its
// partials over [A, B] with the upload identical from either, and an upload begun on A, which is
// then SIGKILLed, finished on B. Needs Redis (REDIS_URL) and the S3 server (TESSERA_S3_ENDPOINT):
// each skips with its reason when missing, and fails when CI is set. The directory-backed
// scale-out cases are in scale-out.test.ts.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { upload as sdkUpload } from '@tessera/client'
import { TestBuckets, describeS3, s3Flags } from '@tessera/storage/testing'
import { dataBuffer, sha256Data } from './helpers/data.js'
import { type GatewayProcess, killGateway, removeDir, startGateway, tempDir, urlOn } from './helpers/gateway-process.js'
import { createUpload, download, headOffset } from './helpers/http.js'
import { rawPatch } from './helpers/raw-patch.js'
import { REDIS_URL, TestPrefixes, redisSkip } from '@tessera/cluster/testing'

/** Per-test hang guard (a stuck socket must fail the run, not stall it); never a performance bound. */
const HANG_GUARD = { timeout: 60_000 }
const MiB = 1024 * 1024
const GEOMETRY = ['--data-blocks', '4', '--parity-blocks', '2', '--block-size', '256KiB']

const skip = await redisSkip('the scale-out tests')
if (skip) test('scale-out over S3 buckets', { skip }, () => {})
else {
  describeS3('scale-out over S3 buckets: two gateways on one Redis', {}, (env) => {
    const buckets = new TestBuckets(env)
    const prefixes = new TestPrefixes('scale-out-s3')
    const running = new Set<GatewayProcess>()
    let dir: string

    before(async () => {
      dir = await tempDir('scale-out-s3')
    })
    after(async () => {
      await Promise.all([...running].map(killGateway))
      await prefixes.drop()
      await buckets.dispose()
      await removeDir(dir)
    })

    /** Two gateways of a fresh cluster over six fresh buckets. A starts first: it creates the buckets. */
    async function pair(tag: string): Promise<[GatewayProcess, GatewayProcess]> {
      const prefix = prefixes.next(tag)
      const backends = buckets.fresh(6, tag).map((name) => `s3://${name}/t`).join(',')
      const start = async (name: string): Promise<GatewayProcess> => {
        const gateway = await startGateway({
          dataDir: join(dir, `${tag}-${name}`),
          args: [...GEOMETRY, '--backends', backends, ...s3Flags(env), '--redis-url', REDIS_URL, '--redis-prefix', prefix, '--log-level', 'warn'],
        })
        running.add(gateway)
        void gateway.exited.then(() => running.delete(gateway))
        return gateway
      }
      const a = await start('a')
      return [a, await start('b')]
    }

    test('@tessera/client with endpoints [A, B] over S3: partials on both, identical from either', HANG_GUARD, async () => {
      const [a, b] = await pair('sdk')
      const size = 10 * MiB + 3
      const u = sdkUpload(dataBuffer(size, 's3-sdk'), { endpoints: [a.url, b.url], stateStore: null, minPartitionBytes: MiB, initialPartitionBytes: MiB, maxPartitionBytes: 2 * MiB })
      const winners = new Set<string>()
      u.on('attempt-won', (e: { endpoint: string }) => winners.add(e.endpoint))
      const result = await u.done
      assert.deepEqual([...winners].sort(), [a.url, b.url].sort())
      for (const gateway of [a, b]) {
        const got = await download(urlOn(gateway, result.url))
        assert.equal(got.status, 200, got.text)
        assert.equal(got.sha256, sha256Data('s3-sdk', size))
      }
    })

    test('begun on A, A SIGKILLed between PATCHes, finished on B: nothing acknowledged lost, byte-identical', HANG_GUARD, async () => {
      const [a, b] = await pair('kill')
      const size = 5 * MiB + 21
      const bytes = dataBuffer(size, 's3-kill')
      const url = await createUpload(a.url, size)
      const first = await rawPatch(url, 0, 2 * MiB + 7, [bytes.subarray(0, 2 * MiB + 7)]).outcome
      assert.equal(first.kind === 'response' && first.status, 204)
      const acked = first.kind === 'response' ? first.offset : assert.fail('no answer')
      assert.equal(await a.stop('SIGKILL'), 'SIGKILL')
      const head = await headOffset(urlOn(b, url))
      assert.equal(head.status, 200)
      assert.equal(head.offset, acked)
      const rest = await rawPatch(urlOn(b, url), acked, size - acked, [bytes.subarray(acked)]).outcome
      assert.equal(rest.kind === 'response' && rest.status, 204)
      const got = await download(urlOn(b, url))
      assert.equal(got.status, 200, got.text)
      assert.equal(got.sha256, sha256Data('s3-kill', size))
    })
  })
}
