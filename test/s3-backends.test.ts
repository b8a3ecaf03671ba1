// The gateway process with S3 backends — buckets of a real S3 server (Ceph radosgw from
// scripts/s3-local.sh) beside directories, each one failure domain: uploads served back
// byte-identical and resumed across kill -9; a start that cannot reach a backend fails with one
// line per backend; S3 going away under a running gateway answers 503 with a reason, loses nothing
// acknowledged, and the gateway recovers when it returns. (Loss and corruption over S3 backends:
// durability.test.ts runs its whole suite over them too.)
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { dataBuffer, sha256Data } from './helpers/data.js'
import { type GatewayProcess, killGateway, removeDir, runGatewayToExit, startGateway, tempDir } from './helpers/gateway-process.js'
import { createUpload, download, headOffset } from './helpers/http.js'
import { type PatchOutcome, rawPatch } from './helpers/raw-patch.js'
import { TestBuckets, describeS3, s3Flags } from '@tessera/storage/testing'
import { TcpRelay } from '@tessera/fault-proxy'
import { uploadAll } from './helpers/tus-client.js'

/** Per-test hang guard (a stuck socket must fail the run, not stall it); never a performance bound. */
const HANG_GUARD = { timeout: 60_000 }
const KiB = 1024
const MiB = 1024 * KiB
const STRIPE = 4 * 256 * KiB
const GEOMETRY = ['--data-blocks', '4', '--parity-blocks', '2', '--block-size', '256KiB']
const PREFIX = 'tessera'

describeS3('gateway processes with S3 backends', {}, (env) => {
  const buckets = new TestBuckets(env)
  const dirs: string[] = []
  const running = new Set<GatewayProcess>()
  const relays: TcpRelay[] = []
  after(async () => {
    await Promise.all([...running].map(killGateway))
    await Promise.all(relays.map((r) => r.cut()))
    await Promise.all(dirs.map(removeDir))
    await buckets.dispose()
  })

  /** A data dir, and 4 fresh buckets interleaved with 2 directories: `--backends` for 4+2. */
  async function mixed(tag: string): Promise<{ dataDir: string; names: string[]; backends: string }> {
    const dir = await tempDir(tag)
    dirs.push(dir)
    const names = buckets.fresh(4, tag)
    const [a, b, c, d] = names.map((n) => `s3://${n}/${PREFIX}`)
    return { dataDir: join(dir, 'data'), names, backends: [a, join(dir, 'd0'), b, c, join(dir, 'd1'), d].join(',') }
  }

  async function start(dataDir: string, args: readonly string[], port?: number): Promise<GatewayProcess> {
    const gateway = await startGateway({ dataDir, port, args: [...GEOMETRY, ...args] })
    running.add(gateway)
    void gateway.exited.then(() => running.delete(gateway))
    return gateway
  }

  /** The backend ids of every block of an upload, stripe by stripe, from its manifest file. */
  async function placement(dataDir: string, url: string): Promise<string[][]> {
    const id = new URL(url).pathname.split('/').pop()!
    const lines = (await readFile(join(dataDir, 'meta', 'manifests', `${id}.manifest`), 'utf8')).trim().split('\n')
    type Stripe = { blocks: ({ backend: string } | null)[] }
    const stripes = lines.map((l) => JSON.parse(l) as { stripes?: Stripe[]; append?: Stripe[] }).flatMap((l) => l.stripes ?? l.append ?? [])
    return stripes.map((s) => s.blocks.map((b) => b?.backend ?? 'none'))
  }

  const s3Ids = (names: readonly string[]): string[] => names.map((n) => `s3:${n}/${PREFIX}`)

  test('4 buckets and 2 directories (4+2): a tus-js-client upload is served back byte-identical; after kill -9 the same config serves it and resumes an unfinished one', HANG_GUARD, async () => {
    const { dataDir, names, backends } = await mixed('mix')
    const args = ['--backends', backends, ...s3Flags(env)]
    let gateway = await start(dataDir, args)
    const size = 3 * STRIPE + 333
    const url = await uploadAll(dataBuffer(size, 'mix'), { endpoint: gateway.url, chunkSize: MiB })
    const got = await download(url)
    assert.equal(got.status, 200, got.text)
    assert.equal(got.complete, true)
    assert.equal(got.sha256, sha256Data('mix', size))

    // Every stripe spans six distinct backends, buckets and directories alike; a bucket's id is its bucket and prefix.
    const stripes = await placement(dataDir, url)
    assert.equal(stripes.length, 4)
    for (const blocks of stripes) assert.equal(new Set(blocks).size, 6, blocks.join(' '))
    const ids = new Set(stripes.flat())
    for (const id of s3Ids(names)) assert.ok(ids.has(id), `${id} holds blocks: ${[...ids].join(' ')}`)
    assert.equal([...ids].filter((i) => i.startsWith('fs-')).length, 2)
    const uploadId = new URL(url).pathname.split('/').pop()!
    for (const name of names) assert.equal((await buckets.keys(name, `${PREFIX}/${uploadId}/`)).length, 4, `${name} holds one block of each stripe`)

    // An unfinished upload, one acknowledged PATCH in; then kill -9.
    const size2 = 2 * STRIPE + 5
    const partial = await createUpload(gateway.url, size2)
    const acked = STRIPE + 17
    const first = await answered(rawPatch(partial, 0, acked, [dataBuffer(size2, 'partial').subarray(0, acked)]).outcome)
    assert.equal(first.status, 204, first.text)
    const port = Number(new URL(gateway.url).port)
    assert.equal(await gateway.stop('SIGKILL'), 'SIGKILL')

    gateway = await start(dataDir, args, port)
    const again = await download(url)
    assert.equal(again.complete, true)
    assert.equal(again.sha256, sha256Data('mix', size))
    assert.equal((await headOffset(partial)).offset, acked)
    const rest = await answered(rawPatch(partial, acked, size2 - acked, [dataBuffer(size2, 'partial').subarray(acked)]).outcome)
    assert.equal(rest.status, 204, rest.text)
    const whole = await download(partial)
    assert.equal(whole.complete, true)
    assert.equal(whole.sha256, sha256Data('partial', size2))
    assert.deepEqual(new Set((await placement(dataDir, url)).flat()), ids, 'the restart found every backend under its old id')
  })

  test('a backend that cannot be opened stops the start: exit 1, one line per backend with its code — missing bucket, refused credentials, unreachable server', HANG_GUARD, async () => {
    const { dataDir, names, backends } = await mixed('fail')
    for (const name of names.slice(1)) await buckets.create(name)
    const noCreate = s3Flags(env).filter((f) => f !== '--s3-create-buckets')

    const missing = await runGatewayToExit({ dataDir, args: [...GEOMETRY, '--backends', backends, ...noCreate] })
    assert.equal(missing.code, 1, missing.stderr)
    assert.doesNotMatch(missing.stdout, /listening/)
    const lines = missing.stderr.trim().split('\n')
    assert.match(lines.at(-2)!, /^tessera gateway: 1 of 6 backends could not be opened:$/)
    assert.match(lines.at(-1)!, new RegExp(`^  - s3://${names[0]}/${PREFIX}: .*bucket ${names[0]} does not exist.*\\(STORAGE_ERR_UNAVAILABLE\\)$`))

    const denied = await runGatewayToExit({ dataDir, args: [...GEOMETRY, '--backends', backends, ...s3Flags(env)], env: { AWS_SECRET_ACCESS_KEY: 'not-the-secret-0123456789' } })
    assert.equal(denied.code, 1, denied.stderr)
    assert.match(denied.stderr, /^tessera gateway: 4 of 6 backends could not be opened:$/m)
    for (const name of names) assert.match(denied.stderr, new RegExp(`^  - s3://${name}/${PREFIX}: .*\\(STORAGE_ERR_ACCESS_DENIED\\)$`, 'm'))

    const relay = await TcpRelay.start(env.endpoint)
    relays.push(relay)
    await relay.cut() // a port nobody listens on
    const unreachable = await runGatewayToExit({ dataDir, args: [...GEOMETRY, '--backends', backends, ...s3Flags(env), '--s3-endpoint', relay.url('http')] })
    assert.equal(unreachable.code, 1, unreachable.stderr)
    assert.match(unreachable.stderr, /^tessera gateway: 4 of 6 backends could not be opened:$/m)
    for (const name of names) assert.match(unreachable.stderr, new RegExp(`^  - s3://${name}/${PREFIX}: .*ECONNREFUSED.*\\(STORAGE_ERR_UNAVAILABLE\\)$`, 'm'))
  })

  test('S3 gone under a running gateway: PATCH and GET answer 503 with a reason, HEAD still answers, nothing acknowledged is lost; when S3 returns, the upload resumes and all reads back', HANG_GUARD, async () => {
    const { dataDir, names, backends } = await mixed('outage')
    const relay = await TcpRelay.start(env.endpoint)
    relays.push(relay)
    const gateway = await start(dataDir, ['--backends', backends, ...s3Flags(env), '--s3-endpoint', relay.url('http'), '--probe-interval', '200ms'])
    const origin = new URL(gateway.url).origin
    const size = 2 * STRIPE + 99
    const done = await uploadAll(dataBuffer(size, 'done'), { endpoint: gateway.url })
    const size2 = 3 * STRIPE
    const partial = await createUpload(gateway.url, size2)
    const bytes2 = dataBuffer(size2, 'partial')
    const first = await answered(rawPatch(partial, 0, STRIPE, [bytes2.subarray(0, STRIPE)]).outcome)
    assert.equal(first.status, 204, first.text)

    await relay.cut()
    // Four of six backends gone (m = 2): no stripe can be written or read; the gateway says so at once.
    const refused = await answered(rawPatch(partial, STRIPE, STRIPE, [bytes2.subarray(STRIPE, 2 * STRIPE)]).outcome)
    assert.equal(refused.status, 503, refused.text)
    assert.equal(refused.headers['tessera-error-code'], 'TESSERA_ERR_UNAVAILABLE')
    assert.match(refused.text, /^storage unavailable: /)
    const unreadable = await download(done)
    assert.equal(unreadable.status, 503, unreadable.text)
    assert.equal(unreadable.headers['tessera-error-code'], 'TESSERA_ERR_UNAVAILABLE')
    assert.match(unreadable.text, /^storage unavailable: /)
    assert.equal((await headOffset(partial)).offset, STRIPE, 'the refused PATCH committed nothing')
    const health = await waitForHealth(origin, (h) => h.status === 'unavailable')
    assert.deepEqual([...health.backends.down].sort(), s3Ids(names).sort())
    assert.equal(gateway.child.exitCode, null, 'the gateway is still running')

    await relay.restore()
    // Every backend answers probes again (the summary stays `degraded` for a while: repairs failed during the outage).
    const back = await waitForHealth(origin, (h) => h.backends.down.length === 0)
    assert.equal(back.ready, true)
    const again = await download(done)
    assert.equal(again.complete, true)
    assert.equal(again.sha256, sha256Data('done', size))
    const rest = await answered(rawPatch(partial, STRIPE, size2 - STRIPE, [bytes2.subarray(STRIPE)]).outcome)
    assert.equal(rest.status, 204, rest.text)
    const whole = await download(partial)
    assert.equal(whole.complete, true)
    assert.equal(whole.sha256, sha256Data('partial', size2))
  })
})

/** The server's answer to a raw PATCH (a transport error fails the test). */
async function answered(outcome: Promise<PatchOutcome>): Promise<Extract<PatchOutcome, { kind: 'response' }>> {
  const o = await outcome
  if (o.kind !== 'response') throw new Error(`PATCH got no answer: ${o.error.message}`)
  return o
}

interface Health {
  readonly status: string
  readonly ready: boolean
  readonly backends: { readonly down: readonly string[] }
}

/** Polls `GET /_tessera/health` until `until` holds; a hang guard (20 s), not a timing assertion. */
async function waitForHealth(origin: string, until: (h: Health) => boolean): Promise<Health> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const health = (await (await fetch(`${origin}/_tessera/health`)).json()) as Health
    if (until(health)) return health
    if (Date.now() > deadline) throw new Error(`hang guard: health never matched; last ${JSON.stringify(health)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

