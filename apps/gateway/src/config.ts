import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { parseBoolean, parseDuration, parseSize } from './config-values.js'
import { type DurabilityConfig, durabilityConfig } from './config-durability.js'
import { defaultBullTaskQueueOptions } from '@tessera/cluster'
import { isStorageError, resolveS3BackendOptions } from '@tessera/storage'
import { type AuthConfig, parseAuthConfig } from './auth/auth-config.js'
import { type BackendSpec, parseBackendList } from './backend-spec.js'
import { type CorsConfig, parseCorsConfig } from './cors-config.js'
import { type HooksConfig, parseHooksConfig } from './hooks/hooks-config.js'
import { GatewayError } from './errors.js'
import { type ReadConfig, parseReadConfig } from './read/read-config.js'

/** Everything the gateway process is configured with. */
export interface GatewayConfig {
  /** TCP port; 0 picks a free one. Default 1080. */
  readonly port: number
  /** Interface to listen on. Default 127.0.0.1. */
  readonly host: string
  /** Root of the embedded default's state: backends, manifests, upload records. Default ./data. */
  readonly dataDir: string
  /**
   * The store's backends, in `--backends` order: directories and S3 buckets, at least
   * `dataBlocks + parityBlocks`. Default: that many directories under `<dataDir>/backends`.
   */
  readonly backends: readonly BackendSpec[]
  /** How the S3 backends (`s3://…` entries of `backends`) are reached; unused without them. */
  readonly s3: S3Config
  /** Data blocks per stripe (k). Default 4. */
  readonly dataBlocks: number
  /** Parity blocks per stripe (m). Default 2. */
  readonly parityBlocks: number
  /** Size of one block of a full stripe, bytes. Default 1 MiB. */
  readonly blockBytes: number
  /** Largest upload accepted, bytes; `undefined` = no limit. */
  readonly maxSize: number | undefined
  /** Unfinished uploads are removed this long after their last write, ms. Default 24 h. */
  readonly expireAfterMs: number
  /** `'always'` fsyncs blocks and manifests (survives power loss); `'never'` (default) survives process crashes. */
  readonly fsync: 'never' | 'always'
  /** pino level. Default info. */
  readonly logLevel: string
  /** URL path of the upload endpoint. Default /files. */
  readonly basePath: string
  /** JSON-lines file the reconciliation events are appended to. Default `<dataDir>/events/reconciliation.jsonl`. */
  readonly reconciliationLog: string
  /** Background durability: health, risk, repair, scrubbing (docs/durability-operations.md). */
  readonly durability: DurabilityConfig
  /** Bearer token of the operator routes (`/metrics`, the dashboard's data, `/_tessera/*` except live/ready); `undefined` = none (keep them off the public network). */
  readonly operatorToken: string | undefined
  /** Browser origins the tus routes answer CORS for (`--cors-origins`). Default any (`'*'`). */
  readonly cors: CorsConfig
  /**
   * Scale-out: the Redis that gateways sharing the backends coordinate through (locks, upload
   * records, manifests, the durability queue; docs/scale-out.md). `undefined` (default) = the
   * embedded default: files under `dataDir/meta`, in-process locks and queue.
   */
  readonly redis: RedisConfig | undefined
  /** Authentication of the tus routes and per-upload ownership (`--auth`, docs/auth.md). Default `{ mode: 'none' }`. */
  readonly auth: AuthConfig
  /** Prometheus `GET /metrics` (docs/metrics.md). Default true. */
  readonly metrics: boolean
  /** HTTP hooks as tusd sends them (`--hooks-url`, docs/hooks.md); `undefined` (default) = none. */
  readonly hooks: HooksConfig | undefined
  /** The read path: hedged reads, the echo cache, prefetch (docs/read-path.md). */
  readonly read: ReadConfig
}

/** Where the shared state of a gateway cluster lives (`--redis-url`, `--redis-prefix`). */
export interface RedisConfig {
  /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
  readonly url: string
  /** Prefix of every key and channel, `[A-Za-z0-9_.:-]{1,100}`; clusters sharing one Redis use different ones. Default `tessera`. */
  readonly keyPrefix: string
  /**
   * Lease of a background task a gateway runs (BullMQ's lock, renewed every half), ms ≥ 100: when
   * the gateway dies running it, another runs it again about this plus `repairStalledCheckMs`
   * later. Default 30 s.
   */
  readonly repairLeaseMs: number
  /** How often the gateways look for tasks whose runner died (BullMQ's stalled check, cluster-wide), ms ≥ 100. Default 15 s. */
  readonly repairStalledCheckMs: number
}

/** The S3 server of the `s3://` backends. Credentials come from the AWS SDK's default chain (env, profile, SSO, instance metadata). */
export interface S3Config {
  /** URL of an S3-compatible server (radosgw, MinIO, …); `undefined` = AWS S3. */
  readonly endpoint: string | undefined
  /** Address buckets as `<endpoint>/<bucket>` (most S3-compatible servers need it). Default false. */
  readonly forcePathStyle: boolean
  /**
   * Region requests are signed for: `--s3-region`, else `AWS_REGION`, else `us-east-1` when an
   * endpoint is set; `undefined` leaves it to the AWS config chain (the profile's region).
   */
  readonly region: string | undefined
  /** Create missing buckets at startup (development and tests); default false: a missing bucket fails the start. */
  readonly createBuckets: boolean
}

export type { DurabilityConfig } from './config-durability.js'

/** The path prefix of the operator endpoints; the tus base path may not live under it. */
export const OPERATOR_PREFIX = '/_tessera'

const OPTIONS = {
  port: { flag: 'port', env: 'TESSERA_PORT', help: 'TCP port, 0 = any free port (default 1080)' },
  host: { flag: 'host', env: 'TESSERA_HOST', help: 'interface to listen on (default 127.0.0.1)' },
  data: { flag: 'data', env: 'TESSERA_DATA', help: 'state directory (default ./data)' },
  backends: { flag: 'backends', env: 'TESSERA_BACKENDS', help: 'comma-separated directories and s3://bucket[/prefix] (default k+m dirs under DATA/backends)' },
  s3Endpoint: { flag: 's3-endpoint', env: 'TESSERA_S3_ENDPOINT', help: 'URL of an S3-compatible server for s3:// backends (default AWS)' },
  s3ForcePathStyle: { flag: 's3-force-path-style', env: 'TESSERA_S3_FORCE_PATH_STYLE', help: 'address buckets as ENDPOINT/bucket (S3-compatible servers)', boolean: true },
  s3Region: { flag: 's3-region', env: 'TESSERA_S3_REGION', help: 'region to sign for (default AWS_REGION, or us-east-1 with an endpoint)' },
  s3CreateBuckets: { flag: 's3-create-buckets', env: 'TESSERA_S3_CREATE_BUCKETS', help: 'create missing buckets at startup (development only)', boolean: true },
  dataBlocks: { flag: 'data-blocks', env: 'TESSERA_DATA_BLOCKS', help: 'data blocks per stripe, k (default 4)' },
  parityBlocks: { flag: 'parity-blocks', env: 'TESSERA_PARITY_BLOCKS', help: 'parity blocks per stripe, m (default 2)' },
  blockSize: { flag: 'block-size', env: 'TESSERA_BLOCK_SIZE', help: 'block size, e.g. 1MiB (default 1MiB)' },
  maxSize: { flag: 'max-size', env: 'TESSERA_MAX_SIZE', help: 'largest upload, e.g. 10GiB (default: no limit)' },
  expireAfter: { flag: 'expire-after', env: 'TESSERA_EXPIRE_AFTER', help: 'remove unfinished uploads after, e.g. 24h (default 24h)' },
  fsync: { flag: 'fsync', env: 'TESSERA_FSYNC', help: "'never' (survives crashes) or 'always' (survives power loss)" },
  logLevel: { flag: 'log-level', env: 'TESSERA_LOG_LEVEL', help: 'fatal|error|warn|info|debug|trace|silent (default info)' },
  basePath: { flag: 'base-path', env: 'TESSERA_BASE_PATH', help: 'URL path of the endpoint (default /files)' },
  reconciliationLog: { flag: 'reconciliation-log', env: 'TESSERA_RECONCILIATION_LOG', help: 'reconciliation events, JSON lines (default DATA/events/reconciliation.jsonl)' },
  durability: { flag: 'durability', env: 'TESSERA_DURABILITY', help: "background repair policy: 'none', 'reactive' (default) or 'predictive'" },
  evaluateInterval: { flag: 'evaluate-interval', env: 'TESSERA_EVALUATE_INTERVAL', help: 'time between durability evaluations (default 60s)' },
  healthWindow: { flag: 'health-window', env: 'TESSERA_HEALTH_WINDOW', help: 'backend health aggregation window (default 60s)' },
  probe: { flag: 'probe', env: 'TESSERA_PROBE', help: "active backend probe: 'write' (default), 'stat' or 'none'" },
  probeInterval: { flag: 'probe-interval', env: 'TESSERA_PROBE_INTERVAL', help: 'time between active backend probes (default 30s)' },
  scrubInterval: { flag: 'scrub-interval', env: 'TESSERA_SCRUB_INTERVAL', help: 'time between scrub passes (default 5m)' },
  scrubStripes: { flag: 'scrub-stripes', env: 'TESSERA_SCRUB_STRIPES', help: 'stripes verified per scrub pass (default 64)' },
  repairRate: { flag: 'repair-rate', env: 'TESSERA_REPAIR_RATE', help: 'bytes per second all background work may move, e.g. 16MiB (default 16MiB)' },
  repairConcurrency: { flag: 'repair-concurrency', env: 'TESSERA_REPAIR_CONCURRENCY', help: 'background tasks at once (default 1)' },
  maxExtraParity: { flag: 'max-extra-parity', env: 'TESSERA_MAX_EXTRA_PARITY', help: 'parity blocks predictive may add per object (default 2)' },
  rebalanceThreshold: { flag: 'rebalance-threshold', env: 'TESSERA_REBALANCE_THRESHOLD', help: "imbalance score above which a backend's hottest blocks move to the least loaded ones; 0 = off (default 1)" },
  rebalanceMoves: { flag: 'rebalance-moves', env: 'TESSERA_REBALANCE_MOVES', help: 'rebalancing moves planned per read-load window at most; 0 = off (default 4)' },
  rebalanceCooldown: { flag: 'rebalance-cooldown', env: 'TESSERA_REBALANCE_COOLDOWN', help: 'a block planned to move is not planned again within (default 10m)' },
  scrubLedger: { flag: 'scrub-ledger', env: 'TESSERA_SCRUB_LEDGER', help: 'when each stripe was last verified (default DATA/meta/scrub-ledger.json)' },
  operatorToken: { flag: 'operator-token', env: 'TESSERA_OPERATOR_TOKEN', help: 'bearer token of /metrics, the dashboard data and /_tessera/* except live/ready (default none)' },
  corsOrigins: { flag: 'cors-origins', env: 'TESSERA_CORS_ORIGINS', help: "browser origins of the tus routes: '*' (default) or a comma-separated list such as https://app.example" },
  redisUrl: { flag: 'redis-url', env: 'TESSERA_REDIS_URL', help: 'scale-out: redis[s]://[user:pass@]host:port[/db] shared by the gateways (default none: embedded)' },
  redisPrefix: { flag: 'redis-prefix', env: 'TESSERA_REDIS_PREFIX', help: 'prefix of every Redis key, one per cluster (default tessera)' },
  repairLease: { flag: 'repair-lease', env: 'TESSERA_REPAIR_LEASE', help: "scale-out: lease of a running background task; a dead gateway's is re-run after about this + the stalled check (default 30s)" },
  repairStalledCheck: { flag: 'repair-stalled-check', env: 'TESSERA_REPAIR_STALLED_CHECK', help: 'scale-out: how often gateways look for tasks of dead gateways (default 15s)' },
  auth: { flag: 'auth', env: 'TESSERA_AUTH', help: "'none' (default: anyone reaching the port reaches every upload) or 'jwt' (bearer JWT, per-owner uploads)" },
  jwtSecret: { flag: 'jwt-secret', env: 'TESSERA_JWT_SECRET', help: '--auth jwt: HS256 secret, at least 32 bytes' },
  jwksFile: { flag: 'jwks-file', env: 'TESSERA_JWKS_FILE', help: '--auth jwt: JWKS file of RS256/ES256 public keys' },
  jwksUrl: { flag: 'jwks-url', env: 'TESSERA_JWKS_URL', help: '--auth jwt: URL of a JWKS of RS256/ES256 public keys' },
  jwtIssuer: { flag: 'jwt-issuer', env: 'TESSERA_JWT_ISSUER', help: '--auth jwt: required iss claim (default any)' },
  jwtAudience: { flag: 'jwt-audience', env: 'TESSERA_JWT_AUDIENCE', help: '--auth jwt: required aud claim (default any)' },
  jwtClockSkew: { flag: 'jwt-clock-skew', env: 'TESSERA_JWT_CLOCK_SKEW', help: '--auth jwt: tolerance on exp and nbf (default 30s)' },
  metrics: { flag: 'metrics', env: 'TESSERA_METRICS', help: 'serve Prometheus GET /metrics (default true; --metrics=false turns it off)', boolean: true },
  hooksUrl: { flag: 'hooks-url', env: 'TESSERA_HOOKS_URL', help: 'URL the tusd-style HTTP hooks are POSTed to (default none)' },
  hooksEvents: { flag: 'hooks-events', env: 'TESSERA_HOOKS_EVENTS', help: 'hooks sent: pre-create,post-create,post-receive,post-finish,post-terminate (default all)' },
  hooksTimeout: { flag: 'hooks-timeout', env: 'TESSERA_HOOKS_TIMEOUT', help: 'time one hook request may take; a pre-create past it answers 500 (default 15s)' },
  hedgedReads: { flag: 'hedged-reads', env: 'TESSERA_HEDGED_READS', help: 'read the backends predicted fastest, hedge late blocks (default true)', boolean: true },
  echoMemory: { flag: 'echo-memory', env: 'TESSERA_ECHO_MEMORY', help: 'memory for echoes of hot blocks, e.g. 256MiB; 0 = none (default 256MiB)' },
  prefetch: { flag: 'prefetch', env: 'TESSERA_PREFETCH', help: 'prefetch what a session usually reads next into the echoes (default true)', boolean: true },
  prefetchThreshold: { flag: 'prefetch-threshold', env: 'TESSERA_PREFETCH_THRESHOLD', help: 'P(next read) above which it is prefetched (default 0.6)' },
  prefetchStripes: { flag: 'prefetch-stripes', env: 'TESSERA_PREFETCH_STRIPES', help: 'stripes prefetched per predicted read (default 2)' },
  echoBackendCopies: { flag: 'echo-backend-copies', env: 'TESSERA_ECHO_BACKEND_COPIES', help: 'copies of each hot block on other backends, read when its own is slow (default 0)' },
  loadWindow: { flag: 'load-window', env: 'TESSERA_LOAD_WINDOW', help: 'window of the per-backend read-load forecast and of rebalancing rounds (default 10s)' },
} as const satisfies Record<string, { flag: string; env: string; help: string; boolean?: true }>

/** The options of {@link loadConfig}. */
export type Key = keyof typeof OPTIONS

/** Whether an option is a switch: `--flag` alone means true (`--flag=false`, `true`/`false` in env and file). */
const isSwitch = (o: (typeof OPTIONS)[Key]): boolean => 'boolean' in o && o.boolean

/** Usage text for `--help`. */
export function usage(): string {
  const lines = Object.values(OPTIONS).map((o) => `  --${o.flag.padEnd(20)} ${o.env.padEnd(28)} ${o.help}`)
  return [
    'Usage: npm start -- [options]',
    '',
    'Every option is also an environment variable and a field of the JSON file given by',
    '--config FILE (TESSERA_CONFIG); flags win over the environment, which wins over the file.',
    '',
    `  --${'config'.padEnd(20)} ${'TESSERA_CONFIG'.padEnd(28)} JSON config file`,
    ...lines,
  ].join('\n')
}

/**
 * Builds the configuration from flags, environment and an optional JSON file.
 * @throws GatewayError `GATEWAY_ERR_INVALID_CONFIG` listing every problem at once, one per line.
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv, cwd = process.cwd()): GatewayConfig {
  const problems: string[] = []
  // Not strict: parseArgs would stop at the first bad argument, and every problem is to be reported at once.
  const switches = new Set<string>(Object.values(OPTIONS).filter(isSwitch).map((o) => o.flag))
  const known = {
    config: { type: 'string' as const },
    ...Object.fromEntries(Object.values(OPTIONS).map((o) => [o.flag, { type: switches.has(o.flag) ? ('boolean' as const) : ('string' as const) }])),
  }
  const { values: flags, tokens } = parseArgs({ args: [...argv], options: known, strict: false, allowPositionals: true, tokens: true })
  let afterUnknown = false // an unknown option's value is not a stray argument of its own
  for (const token of tokens) {
    const valueOfUnknown = afterUnknown
    afterUnknown = false
    if (token.kind === 'option' && !Object.hasOwn(known, token.name)) {
      problems.push(`unknown option ${token.rawName}`)
      afterUnknown = token.inlineValue !== true
    } else if (token.kind === 'option' && typeof token.value !== 'string' && !switches.has(token.name)) {
      problems.push(`${token.rawName} needs a value`)
    } else if (token.kind === 'positional' && !valueOfUnknown) {
      problems.push(`unexpected argument ${JSON.stringify(token.value)}`)
    }
  }

  let file: Record<string, unknown> = {}
  const configPath = typeof flags['config'] === 'string' ? flags['config'] : env['TESSERA_CONFIG']
  if (configPath) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(resolve(cwd, configPath), 'utf8'))
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object')
      file = parsed as Record<string, unknown>
      for (const key of Object.keys(file)) {
        if (!(key in OPTIONS)) problems.push(`config file ${configPath}: unknown field "${key}" (known: ${Object.keys(OPTIONS).join(', ')})`)
      }
    } catch (err) {
      problems.push(`config file ${configPath}: ${(err as Error).message}`)
    }
  }

  // Each raw value remembers where it came from, so a problem names the flag, variable or field.
  const raw = (key: Key): { value: string; from: string } | undefined => {
    const o = OPTIONS[key]
    const flag = flags[o.flag]
    if (typeof flag === 'string' || flag === true) return { value: String(flag), from: `--${o.flag}` }
    const fromEnv = env[o.env]
    if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, from: o.env }
    const fromFile = file[key]
    if (fromFile !== undefined) return { value: Array.isArray(fromFile) ? fromFile.join(',') : String(fromFile), from: `config field "${key}"` }
    return undefined
  }
  const int = (key: Key, fallback: number, min: number, max: number): number => {
    const r = raw(key)
    if (!r) return fallback
    const n = Number(r.value)
    if (!/^\d+$/.test(r.value.trim()) || n < min || n > max) {
      problems.push(`${r.from}: expected an integer from ${min} to ${max}, got ${JSON.stringify(r.value)}`)
      return fallback
    }
    return n
  }
  const parsed = <T>(key: Key, fallback: T, parse: (s: string) => T | undefined, expected: string): T => {
    const r = raw(key)
    if (!r) return fallback
    const v = parse(r.value)
    if (v === undefined) {
      problems.push(`${r.from}: expected ${expected}, got ${JSON.stringify(r.value)}`)
      return fallback
    }
    return v
  }
  const duration = (key: Key, fallback: number, minMs: number, example: string): number => {
    const ms = parsed(key, fallback, parseDuration, `a duration${minMs > 1 ? ` of at least ${minMs}ms` : ''} such as ${example}`)
    if (ms >= minMs) return ms
    problems.push(`${raw(key)!.from}: must be ${minMs === 1 ? 'positive' : `at least ${minMs}ms`}, got ${ms} ms`)
    return fallback
  }

  const port = int('port', 1080, 0, 65535)
  const host = raw('host')?.value ?? '127.0.0.1'
  const dataDir = resolve(cwd, raw('data')?.value ?? 'data')
  const dataBlocks = int('dataBlocks', 4, 1, 128)
  const parityBlocks = int('parityBlocks', 2, 0, 128)
  if (dataBlocks + parityBlocks > 256) problems.push(`data blocks + parity blocks must be at most 256, got ${dataBlocks + parityBlocks}`)
  const blockBytes = parsed('blockSize', 1024 * 1024, parseSize, 'a size such as 1MiB')
  if (blockBytes % 64 !== 0 || blockBytes < 64) problems.push(`block size must be a positive multiple of 64 bytes, got ${blockBytes}`)
  const maxSize = parsed<number | undefined>('maxSize', undefined, parseSize, 'a size such as 10GiB')
  const expireAfterMs = duration('expireAfter', 24 * 3600e3, 1, '24h, 30m or 90s')
  const fsync = parsed('fsync', 'never' as const, (s) => (s === 'never' || s === 'always' ? s : undefined), "'never' or 'always'")
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']
  const logLevel = parsed('logLevel', 'info', (s) => (levels.includes(s) ? s : undefined), levels.join('|'))
  const basePath = parsed('basePath', '/files', (s) => (/^\/[A-Za-z0-9._~/-]*[^/]$/.test(s) ? s : undefined), 'a path such as /files')
  if (basePath === OPERATOR_PREFIX || basePath.startsWith(`${OPERATOR_PREFIX}/`)) problems.push(`base path must not be under ${OPERATOR_PREFIX} (the operator endpoints), got ${basePath}`)

  const reconciliationLog = resolve(cwd, raw('reconciliationLog')?.value ?? join(dataDir, 'events', 'reconciliation.jsonl'))

  const backendsRaw = raw('backends')
  const width = dataBlocks + parityBlocks
  let backends: BackendSpec[]
  if (backendsRaw) {
    const entries = backendsRaw.value.split(',').map((s) => s.trim()).filter(Boolean)
    backends = parseBackendList(entries, backendsRaw.from, cwd, problems)
    if (entries.length < width) problems.push(`${backendsRaw.from}: ${width} backends needed for ${dataBlocks}+${parityBlocks}, got ${entries.length}`)
  } else {
    backends = Array.from({ length: width }, (_, i) => ({ kind: 'fs', dir: resolve(dataDir, 'backends', `b${i}`) }) as const)
  }
  const s3 = s3Config({ parsed }, env)

  const durability = durabilityConfig({ raw, int, parsed, duration, problems, cwd, dataDir })
  const operatorToken = raw('operatorToken')?.value
  if (operatorToken !== undefined && !/^[\x21-\x7e]{16,}$/.test(operatorToken)) problems.push('operator token must be at least 16 printable characters without spaces')
  const cors = parseCorsConfig(raw('corsOrigins'), problems)
  const redis = redisConfig({ raw, parsed, duration, problems })
  const auth = parseAuthConfig(raw, problems, cwd)
  const metrics = parsed('metrics', true, parseBoolean, "'true' or 'false'")
  const hooks = parseHooksConfig(raw, problems)
  const read = parseReadConfig(raw, problems, raw('redisUrl') !== undefined)

  if (problems.length > 0) {
    throw new GatewayError('GATEWAY_ERR_INVALID_CONFIG', `invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  }
  return { port, host, dataDir, backends, s3, dataBlocks, parityBlocks, blockBytes, maxSize, expireAfterMs, fsync, logLevel, basePath, reconciliationLog, durability, operatorToken, cors, redis, auth, metrics, hooks, read }
}

/**
 * The S3 part of {@link loadConfig}. Checked even without `s3://` backends (a typo is caught before
 * it matters); `AWS_REGION` is read here so that the default region is decided in one place.
 */
function s3Config({ parsed }: Pick<Readers, 'parsed'>, env: NodeJS.ProcessEnv): S3Config {
  const endpoint = parsed<string | undefined>('s3Endpoint', undefined, acceptedByS3Backend('endpoint'), 'an http: or https: URL')
  const forcePathStyle = parsed('s3ForcePathStyle', false, parseBoolean, "'true' or 'false'")
  const createBuckets = parsed('s3CreateBuckets', false, parseBoolean, "'true' or 'false'")
  const fromEnv = env['AWS_REGION'] === '' ? undefined : env['AWS_REGION']
  const region = parsed<string | undefined>('s3Region', fromEnv ?? (endpoint === undefined ? undefined : 'us-east-1'), acceptedByS3Backend('region'), 'a region name such as us-east-1')
  return { endpoint, forcePathStyle, region, createBuckets }
}

/**
 * A parser that keeps a value `S3Backend.open` would accept as `option` (as `parseBackendList`
 * checks bucket and prefix): the rule lives in one place, `resolveS3BackendOptions`.
 */
function acceptedByS3Backend(option: 'endpoint' | 'region'): (s: string) => string | undefined {
  return (s) => {
    try {
      resolveS3BackendOptions({ id: option, bucket: 'any-bucket', [option]: s })
      return s
    } catch (err) {
      if (isStorageError(err, 'STORAGE_ERR_INVALID_ARGUMENT')) return undefined
      throw err
    }
  }
}

/**
 * The scale-out part of {@link loadConfig}. The options that only a cluster has are mistakes
 * without `--redis-url` (they would be ignored); the task queue's timing defaults to BullTaskQueue's.
 */
function redisConfig({ raw, parsed, duration, problems }: Pick<Readers, 'raw' | 'parsed' | 'duration' | 'problems'>): RedisConfig | undefined {
  const urlRaw = raw('redisUrl')
  let url: string | undefined
  if (urlRaw) {
    const parsedUrl = URL.canParse(urlRaw.value) ? new URL(urlRaw.value) : undefined
    if (parsedUrl && (parsedUrl.protocol === 'redis:' || parsedUrl.protocol === 'rediss:') && parsedUrl.hostname !== '') url = urlRaw.value
    // Not the value itself: it may carry a password.
    else problems.push(`${urlRaw.from}: expected a redis:// or rediss:// URL with a host, got ${parsedUrl ? `a ${parsedUrl.protocol} URL` : 'no URL'}`)
  }
  const keyPrefix = parsed('redisPrefix', 'tessera', (s) => (/^[A-Za-z0-9_.:-]{1,100}$/.test(s) ? s : undefined), '1–100 characters from [A-Za-z0-9_.:-]')
  const repairLeaseMs = duration('repairLease', defaultBullTaskQueueOptions.lockDurationMs, 100, '30s')
  const repairStalledCheckMs = duration('repairStalledCheck', defaultBullTaskQueueOptions.stalledIntervalMs, 100, '15s')
  if (!urlRaw) {
    for (const key of ['redisPrefix', 'repairLease', 'repairStalledCheck'] as const) {
      const given = raw(key)
      if (given) problems.push(`${given.from} is set but --redis-url (TESSERA_REDIS_URL) is not: the embedded default uses no Redis`)
    }
  }
  return url === undefined ? undefined : { url, keyPrefix, repairLeaseMs, repairStalledCheckMs }
}

/** The option readers of {@link loadConfig}, for the parts of the configuration parsed in files of their own. */
export interface Readers {
  readonly raw: (key: Key) => { value: string; from: string } | undefined
  readonly int: (key: Key, fallback: number, min: number, max: number) => number
  readonly parsed: <T>(key: Key, fallback: T, parse: (s: string) => T | undefined, expected: string) => T
  /** A duration option of at least `minMs` (1: positive), ms. */
  readonly duration: (key: Key, fallback: number, minMs: number, example: string) => number
  readonly problems: string[]
  readonly cwd: string
  readonly dataDir: string
}
