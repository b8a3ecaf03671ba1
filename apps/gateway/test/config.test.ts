// loadConfig: defaults, precedence, and every problem reported at once.
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { loadConfig } from '../src/config.js'
import { problems } from './helpers/config-problems.js'

describe('loadConfig', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-config-'))
  })
  after(() => rm(dir, { recursive: true, force: true }))

  test('defaults: 127.0.0.1:1080, 4+2, ./data with 6 backend dirs, 256 KiB blocks, 24 h expiry', () => {
    const c = loadConfig([], {}, dir)
    assert.equal(c.port, 1080)
    assert.equal(c.host, '127.0.0.1')
    assert.equal(c.dataBlocks, 4)
    assert.equal(c.parityBlocks, 2)
    assert.equal(c.dataDir, resolve(dir, 'data'))
    assert.equal(c.backends.length, 6)
    assert.equal(new Set(c.backends.map((b) => b.kind === 'fs' && b.dir)).size, 6)
    for (const b of c.backends) assert.ok(b.kind === 'fs' && b.dir.startsWith(`${resolve(dir, 'data')}/`), JSON.stringify(b))
    assert.deepEqual(c.s3, { endpoint: undefined, forcePathStyle: false, region: undefined, createBuckets: false })
    assert.equal(c.blockBytes, 1024 * 1024)
    assert.equal(c.maxSize, undefined)
    assert.equal(c.expireAfterMs, 24 * 3600e3)
    assert.equal(c.fsync, 'never')
    assert.equal(c.basePath, '/files')
    assert.equal(c.reconciliationLog, resolve(dir, 'data', 'events', 'reconciliation.jsonl'))
  })

  test('reconciliation log path: flag, environment, relative to cwd', () => {
    assert.equal(loadConfig(['--reconciliation-log', 'ev/r.jsonl'], {}, dir).reconciliationLog, resolve(dir, 'ev', 'r.jsonl'))
    assert.equal(loadConfig([], { TESSERA_RECONCILIATION_LOG: '/tmp/x.jsonl' }, dir).reconciliationLog, '/tmp/x.jsonl')
  })

  test('backend dirs follow k+m', () => {
    assert.equal(loadConfig(['--data-blocks', '6', '--parity-blocks', '3'], {}, dir).backends.length, 9)
  })

  test('sizes and durations with units', () => {
    const c = loadConfig(['--block-size', '4KiB', '--max-size', '1.5GB', '--expire-after', '90s'], {}, dir)
    assert.equal(c.blockBytes, 4096)
    assert.equal(c.maxSize, 1.5e9)
    assert.equal(c.expireAfterMs, 90_000)
  })

  test('precedence: flag > environment > file', async () => {
    const file = join(dir, 'precedence.json')
    await writeFile(file, JSON.stringify({ port: 1111, host: '10.0.0.1', dataBlocks: 3, parityBlocks: 1, logLevel: 'warn' }))
    const env = { TESSERA_CONFIG: file, TESSERA_PORT: '2222', TESSERA_HOST: '10.0.0.2', TESSERA_DATA_BLOCKS: '5' }
    const c = loadConfig(['--port', '3333'], env, dir)
    assert.equal(c.port, 3333) // flag over env over file
    assert.equal(c.host, '10.0.0.2') // env over file
    assert.equal(c.dataBlocks, 5) // env over file
    assert.equal(c.parityBlocks, 1) // file only
    assert.equal(c.logLevel, 'warn')
    // --config wins over TESSERA_CONFIG.
    const other = join(dir, 'other.json')
    await writeFile(other, JSON.stringify({ parityBlocks: 3 }))
    assert.equal(loadConfig(['--config', other], env, dir).parityBlocks, 3)
  })

  test('an empty environment variable does not count as set', () => {
    assert.equal(loadConfig([], { TESSERA_PORT: '' }, dir).port, 1080)
  })

  test('the config file may list backends as an array; relative paths resolve against cwd', async () => {
    const file = join(dir, 'backends.json')
    await writeFile(file, JSON.stringify({ dataBlocks: 2, parityBlocks: 1, backends: ['a', 'b', 'c'] }))
    const c = loadConfig(['--config', 'backends.json'], {}, dir)
    assert.deepEqual(c.backends, ['a', 'b', 'c'].map((d) => ({ kind: 'fs', dir: resolve(dir, d) })))
  })

  test('every bad value is reported at once, each naming where it came from', () => {
    const found = problems(() =>
      loadConfig(
        ['--port', '70000', '--data-blocks', '0', '--parity-blocks', 'x', '--block-size', '100', '--max-size', 'big', '--expire-after', 'soon', '--fsync', 'sometimes', '--log-level', 'loud', '--base-path', 'files/'],
        { TESSERA_HOST: '0.0.0.0' },
        dir,
      ),
    )
    for (const needle of ['--port', '--data-blocks', '--parity-blocks', 'block size', '--max-size', '--expire-after', '--fsync', '--log-level', '--base-path']) {
      assert.ok(found.some((p) => p.includes(needle)), `${needle} not reported in:\n${found.join('\n')}`)
    }
    assert.ok(found.length >= 9)
  })

  test('values from the environment and the file are reported with their source', async () => {
    const file = join(dir, 'bad-values.json')
    await writeFile(file, JSON.stringify({ dataBlocks: -1 }))
    const found = problems(() => loadConfig(['--config', file], { TESSERA_PORT: 'eighty' }, dir))
    assert.ok(found.some((p) => p.includes('TESSERA_PORT')))
    assert.ok(found.some((p) => p.includes('dataBlocks')))
  })

  test('an unknown config-file field is a problem, reported with the others', async () => {
    const file = join(dir, 'unknown.json')
    await writeFile(file, JSON.stringify({ prot: 1080, dataBlocks: 0 }))
    const found = problems(() => loadConfig(['--config', file], {}, dir))
    assert.ok(found.some((p) => p.includes('"prot"')))
    assert.ok(found.some((p) => p.includes('dataBlocks')))
  })

  test('a config file that is missing, not JSON, or not an object is a problem', async () => {
    await writeFile(join(dir, 'broken.json'), '{ nope')
    await writeFile(join(dir, 'array.json'), '[1]')
    for (const f of ['missing.json', 'broken.json', 'array.json']) {
      const found = problems(() => loadConfig(['--config', f], {}, dir))
      assert.ok(found.some((p) => p.includes(f)), f)
    }
  })

  test('too few --backends for k+m, or the same directory twice, is a problem', () => {
    let found = problems(() => loadConfig(['--backends', 'a,b,c'], {}, dir))
    assert.ok(found.some((p) => p.includes('--backends')))
    found = problems(() => loadConfig(['--data-blocks', '2', '--parity-blocks', '1', '--backends', 'a,b,./a'], {}, dir))
    assert.ok(found.some((p) => p.includes('--backends')))
  })

  test('s3://bucket[/prefix] entries of --backends are S3 backends, beside directories, in order', () => {
    const c = loadConfig(['--backends', 's3://bucket-a/tessera/blocks/,s3://bucket-b,data/d0,s3://bucket-a/other,/srv/d1,s3://bucket.c/x'], {}, dir)
    assert.deepEqual(c.backends, [
      { kind: 's3', bucket: 'bucket-a', prefix: 'tessera/blocks' },
      { kind: 's3', bucket: 'bucket-b', prefix: '' },
      { kind: 'fs', dir: resolve(dir, 'data/d0') },
      { kind: 's3', bucket: 'bucket-a', prefix: 'other' },
      { kind: 'fs', dir: '/srv/d1' },
      { kind: 's3', bucket: 'bucket.c', prefix: 'x' },
    ])
  })

  test('S3 options: flags, environment and file; the default region is AWS_REGION, else us-east-1 with an endpoint, else the AWS chain', async () => {
    const flags = ['--s3-endpoint', 'http://127.0.0.1:7480', '--s3-force-path-style', '--s3-region', 'eu-west-3', '--s3-create-buckets']
    assert.deepEqual(loadConfig(flags, {}, dir).s3, { endpoint: 'http://127.0.0.1:7480', forcePathStyle: true, region: 'eu-west-3', createBuckets: true })
    const env = { TESSERA_S3_ENDPOINT: 'https://s3.example.net', TESSERA_S3_FORCE_PATH_STYLE: 'true', TESSERA_S3_REGION: 'r1', TESSERA_S3_CREATE_BUCKETS: 'false' }
    assert.deepEqual(loadConfig([], env, dir).s3, { endpoint: 'https://s3.example.net', forcePathStyle: true, region: 'r1', createBuckets: false })
    // A switch takes =false, and the flag wins over the environment.
    assert.equal(loadConfig(['--s3-force-path-style=false'], env, dir).s3.forcePathStyle, false)
    const file = join(dir, 's3.json')
    await writeFile(file, JSON.stringify({ s3Endpoint: 'http://minio:9000', s3ForcePathStyle: true, s3CreateBuckets: true }))
    assert.deepEqual(loadConfig(['--config', file], {}, dir).s3, { endpoint: 'http://minio:9000', forcePathStyle: true, region: 'us-east-1', createBuckets: true })
    assert.equal(loadConfig(['--config', file], { AWS_REGION: 'ap-south-1' }, dir).s3.region, 'ap-south-1')
    assert.equal(loadConfig(['--config', file, '--s3-region', 'x-1'], { AWS_REGION: 'ap-south-1' }, dir).s3.region, 'x-1')
    assert.equal(loadConfig([], { AWS_REGION: 'ap-south-1' }, dir).s3.region, 'ap-south-1')
    assert.equal(loadConfig([], {}, dir).s3.region, undefined, 'AWS itself: the SDK reads the profile')
  })

  test('every bad S3 value is reported at once, with the others, each naming where it came from', () => {
    const found = problems(() =>
      loadConfig(
        ['--backends', 's3://Bad_Bucket,s3://ok-bucket/a//b,s3:/missing-slash,s3://ok-bucket/x,s3://ok-bucket/x/y,s3://twice,s3://twice/,d1,d2',
          '--s3-endpoint', 'ftp://host', '--s3-region', 'eu west', '--port', 'x'],
        { TESSERA_S3_FORCE_PATH_STYLE: 'sometimes', TESSERA_S3_CREATE_BUCKETS: '2' },
        dir,
      ),
    )
    const expected = ['s3://Bad_Bucket: Expected `bucket`', 's3://ok-bucket/a//b: Expected `prefix`', '"s3:/missing-slash" is not s3://bucket[/prefix]',
      's3://ok-bucket/x/y lies inside s3://ok-bucket/x', 'distinct, got s3://twice', '--s3-endpoint', '--s3-region', 'TESSERA_S3_FORCE_PATH_STYLE', 'TESSERA_S3_CREATE_BUCKETS', '--port']
    for (const needle of expected) assert.ok(found.some((p) => p.includes(needle)), `${needle} not reported in:\n${found.join('\n')}`)
    assert.equal(found.length, expected.length, found.join('\n'))
    // A whole-bucket backend overlaps every prefix of the same bucket.
    assert.ok(problems(() => loadConfig(['--data-blocks', '1', '--parity-blocks', '1', '--backends', 's3://b-1,s3://b-1/p'], {}, dir)).some((p) => p.includes('lies inside s3://b-1')))
    // A switch given a separate value: the value is a stray argument.
    assert.ok(problems(() => loadConfig(['--s3-force-path-style', 'true'], {}, dir)).some((p) => p.includes('unexpected argument "true"')))
  })

  test('an unknown flag, a flag without value and a positional are reported together with bad values', () => {
    const found = problems(() => loadConfig(['--bogus', '1', '--port', 'abc', '--data-blocks', '0', 'stray'], {}, dir))
    assert.ok(found.some((p) => p.includes('--bogus')), found.join('\n'))
    assert.ok(found.some((p) => p.includes('--port')), found.join('\n'))
    assert.ok(found.some((p) => p.includes('--data-blocks')), found.join('\n'))
    assert.ok(found.some((p) => p.includes('stray')), found.join('\n'))
    const mixed = problems(() => loadConfig(['--bogus', '--port', 'abc', 'stray', '--nope=1', 'stray2'], {}, dir))
    for (const needle of ['--bogus', '--port', 'stray', '--nope', 'stray2']) assert.ok(mixed.some((p) => p.includes(needle)), `${needle}:\n${mixed.join('\n')}`)
    const missing = problems(() => loadConfig(['--port'], {}, dir))
    assert.ok(missing.some((p) => p.includes('--port')), missing.join('\n'))
  })

  test('k+m above 256 is a problem; expire-after must be positive', () => {
    assert.ok(problems(() => loadConfig(['--data-blocks', '128', '--parity-blocks', '129'], {}, dir)).length >= 1)
    assert.ok(problems(() => loadConfig(['--expire-after', '0s'], {}, dir)).some((p) => p.includes('expire')))
  })

  test('durability defaults: reactive, 60 s evaluations and windows, write probes every 30 s, 64 stripes per 5 min scrub, 16 MiB/s, one task at a time', () => {
    const c = loadConfig([], {}, dir)
    assert.deepEqual(c.durability, {
      policy: 'reactive',
      evaluateIntervalMs: 60_000,
      healthWindowMs: 60_000,
      probe: 'write',
      probeIntervalMs: 30_000,
      scrubIntervalMs: 300_000,
      scrubStripesPerPass: 64,
      repairBytesPerSecond: 16 * 2 ** 20,
      repairConcurrency: 1,
      maxExtraParity: 2,
      scrubLedger: resolve(dir, 'data', 'meta', 'scrub-ledger.json'),
      rebalanceThreshold: 1,
      rebalanceMoves: 4,
      rebalanceCooldownMs: 600_000,
    })
    assert.equal(c.operatorToken, undefined)
    assert.equal(c.redis, undefined, 'embedded default: no Redis')
  })

  test('durability options from flags, environment and file', async () => {
    const file = join(dir, 'durability.json')
    await writeFile(file, JSON.stringify({ durability: 'predictive', scrubStripes: 8, repairRate: '4MiB', maxExtraParity: 1, operatorToken: 'file-token-0123456789', rebalanceCooldown: '1m' }))
    const c = loadConfig(
      ['--config', file, '--evaluate-interval', '30s', '--probe', 'stat', '--probe-interval', '5s', '--scrub-ledger', 'x/ledger.json', '--rebalance-threshold', '2.5'],
      { TESSERA_SCRUB_INTERVAL: '1h', TESSERA_HEALTH_WINDOW: '2m', TESSERA_REPAIR_CONCURRENCY: '3', TESSERA_REBALANCE_MOVES: '0' },
      dir,
    )
    assert.deepEqual(c.durability, {
      policy: 'predictive',
      evaluateIntervalMs: 30_000,
      healthWindowMs: 120_000,
      probe: 'stat',
      probeIntervalMs: 5_000,
      scrubIntervalMs: 3_600_000,
      scrubStripesPerPass: 8,
      repairBytesPerSecond: 4 * 2 ** 20,
      repairConcurrency: 3,
      maxExtraParity: 1,
      scrubLedger: resolve(dir, 'x', 'ledger.json'),
      rebalanceThreshold: 2.5,
      rebalanceMoves: 0,
      rebalanceCooldownMs: 60_000,
    })
    assert.equal(c.operatorToken, 'file-token-0123456789')
    assert.equal(loadConfig([], { TESSERA_DURABILITY: 'none' }, dir).durability.policy, 'none')
  })

  test('every bad durability value is reported at once, with the others', () => {
    const found = problems(() =>
      loadConfig(
        ['--durability', 'eager', '--evaluate-interval', '0s', '--health-window', 'often', '--probe', 'ping', '--probe-interval', '-1s', '--scrub-interval', '0',
          '--scrub-stripes', '0', '--repair-rate', 'fast', '--repair-concurrency', '0', '--max-extra-parity', 'x', '--operator-token', 'short', '--port', 'x'],
        {},
        dir,
      ),
    )
    for (const needle of ['--durability', '--evaluate-interval', '--health-window', '--probe:', '--probe-interval', '--scrub-interval', '--scrub-stripes', '--repair-rate', '--repair-concurrency', '--max-extra-parity', 'operator token', '--port']) {
      assert.ok(found.some((p) => p.includes(needle)), `${needle} not reported in:\n${found.join('\n')}`)
    }
    assert.equal(found.length, 12, found.join('\n'))
    assert.ok(problems(() => loadConfig([], { TESSERA_REPAIR_RATE: '0' }, dir)).some((p) => p.includes('TESSERA_REPAIR_RATE')))
  })

  test('scale-out: --redis-url, --redis-prefix and the task lease timing from flags, environment and file; defaults tessera, BullTaskQueue’s 30 s lease and 15 s stalled check', async () => {
    const timing = { repairLeaseMs: 30_000, repairStalledCheckMs: 15_000 }
    assert.deepEqual(loadConfig(['--redis-url', 'redis://10.0.0.5:6380/2'], {}, dir).redis, { url: 'redis://10.0.0.5:6380/2', keyPrefix: 'tessera', ...timing })
    const env = { TESSERA_REDIS_URL: 'rediss://u:secret@redis.example.net:6379', TESSERA_REDIS_PREFIX: 'eu-1', TESSERA_REPAIR_LEASE: '1m' }
    assert.deepEqual(loadConfig([], env, dir).redis, { url: 'rediss://u:secret@redis.example.net:6379', keyPrefix: 'eu-1', repairLeaseMs: 60_000, repairStalledCheckMs: 15_000 })
    assert.deepEqual(loadConfig(['--redis-prefix', 'flag.p:1', '--repair-lease', '2s', '--repair-stalled-check', '500ms'], env, dir).redis, {
      url: 'rediss://u:secret@redis.example.net:6379',
      keyPrefix: 'flag.p:1',
      repairLeaseMs: 2_000,
      repairStalledCheckMs: 500,
    })
    const file = join(dir, 'redis.json')
    await writeFile(file, JSON.stringify({ redisUrl: 'redis://127.0.0.1:6379', redisPrefix: 'from-file', repairStalledCheck: '5s' }))
    assert.deepEqual(loadConfig(['--config', file], {}, dir).redis, { url: 'redis://127.0.0.1:6379', keyPrefix: 'from-file', repairLeaseMs: 30_000, repairStalledCheckMs: 5_000 })
  })

  test('bad Redis values are reported with the others, never echoing the URL (it may hold a password)', () => {
    const found = problems(() => loadConfig(['--redis-url', 'http://u:hunter2@host', '--redis-prefix', 'has space', '--port', 'x'], {}, dir))
    for (const needle of ['--redis-url', '--redis-prefix', '--port']) assert.ok(found.some((p) => p.includes(needle)), `${needle} not reported in:\n${found.join('\n')}`)
    assert.equal(found.length, 3, found.join('\n'))
    assert.ok(!found.some((p) => p.includes('hunter2')), found.join('\n'))
    assert.ok(problems(() => loadConfig([], { TESSERA_REDIS_URL: 'redis://' }, dir)).some((p) => p.includes('TESSERA_REDIS_URL')))
    // A prefix or task timing without a URL would be silently ignored: refused instead.
    assert.ok(problems(() => loadConfig([], { TESSERA_REDIS_PREFIX: 'p' }, dir)).some((p) => p.includes('TESSERA_REDIS_PREFIX') && p.includes('--redis-url')))
    const alone = problems(() => loadConfig(['--repair-lease', '10s'], { TESSERA_REPAIR_STALLED_CHECK: '1s' }, dir))
    for (const needle of ['--repair-lease', 'TESSERA_REPAIR_STALLED_CHECK']) assert.ok(alone.some((p) => p.includes(needle) && p.includes('--redis-url')), alone.join('\n'))
    // BullMQ's lock and stalled check need at least 100 ms.
    const short = problems(() => loadConfig(['--redis-url', 'redis://h', '--repair-lease', '99ms', '--repair-stalled-check', 'soon'], {}, dir))
    for (const needle of ['--repair-lease', '--repair-stalled-check']) assert.ok(short.some((p) => p.includes(needle) && p.includes('100ms')), short.join('\n'))
    assert.equal(short.length, 2, short.join('\n'))
  })

  test('the tus base path may not live under /_tessera (the operator endpoints)', () => {
    for (const basePath of ['/_tessera', '/_tessera/files']) {
      assert.ok(problems(() => loadConfig(['--base-path', basePath], {}, dir)).some((p) => p.includes('/_tessera')), basePath)
    }
    assert.equal(loadConfig(['--base-path', '/_tesserafiles'], {}, dir).basePath, '/_tesserafiles')
  })

  test('the caller’s env object is not mutated', () => {
    const env = Object.freeze({ TESSERA_PORT: '1234' })
    assert.equal(loadConfig([], env, dir).port, 1234)
  })
})
