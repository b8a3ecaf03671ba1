import { ClientError } from './errors.js'
import type { Clock, HashFactory, HttpTransport, StateStore, Timers } from './ports.js'
import { UploadSession } from './upload-session.js'

/**
 * How the whole upload is checked end to end in parallel mode: `'partitions'` — the final carries
 * the partition-list digest (a SHA-256 over every partition's offset, length and SHA-256, which both
 * sides already have: no second pass over the bytes); `'sha256'` — the client also hashes the whole
 * file and the final carries that, one more SHA-256 pass on each side.
 */
export type UploadIntegrity = 'partitions' | 'sha256'

/** How urgent the data is: urgent data gets small partitions (fast first acknowledgement), bulk data large ones. */
export type UploadPriority = 'urgent' | 'normal' | 'bulk'

const MiB = 1024 * 1024

/** Options of {@link upload}. Every field but `endpoints` has a default in {@link defaultUploadOptions}. */
export interface UploadOptions {
  /**
   * tus creation URLs (e.g. `https://a.example/files`). Several are gateways that share storage
   * (the final concatenation must see every partial): partitions are spread across them
   * round-robin and retries move to the next one. Required, at least one.
   */
  endpoints: readonly string[]
  /** `Upload-Metadata` of the final upload (e.g. `{ filename }`). Default `{}`. */
  metadata?: Readonly<Record<string, string>>
  /** Extra headers on every request (e.g. a static `authorization`, `x-api-key`). Default `{}`. */
  headers?: Readonly<Record<string, string>>
  /**
   * The bearer token of every request (`Authorization: Bearer <token>`, over any `authorization` in
   * `headers`): called at the first request, then only after the server refused the token (401) —
   * the refused request is retried once with the fresh one (a refused PATCH resumes from the
   * server's offset); a second 401 fails the upload with `CLIENT_ERR_UNAUTHORIZED`. Default: none.
   */
  getToken?: () => Promise<string> | string
  /**
   * Identifies the source across runs, for resume. Default: derived from the source (file: path +
   * size + mtime; bytes: their SHA-256); streams have none, so they resume only when this is given.
   */
  fingerprint?: string
  /** Declared size of a stream source, bytes. Default: unknown (deferred length). */
  size?: number
  /** Partition sizing bias. Default `'normal'`. */
  priority?: UploadPriority
  /** Smallest partition, bytes (the last one may be smaller). Default 1 MiB. */
  minPartitionBytes?: number
  /** Largest partition, bytes. Default 64 MiB. */
  maxPartitionBytes?: number
  /** Partition size before anything was measured, bytes. Default 4 MiB. */
  initialPartitionBytes?: number
  /** Partition sizes are multiples of this, bytes. Default 256 KiB. */
  partitionAlignBytes?: number
  /** Time one partition should take at the measured throughput, ms. Default 3000. */
  targetPartitionMs?: number
  /**
   * Largest partition of a stream source, bytes: its bytes stay in memory until acknowledged, so
   * memory ≤ (maxConcurrency + 2) × this. Default 8 MiB.
   */
  streamPartitionMaxBytes?: number
  /**
   * Largest buffered PATCH body, bytes: each is read into memory, checksummed and acknowledged on
   * its own. Partitions a Tessera gateway verifies by their digest go in one PATCH streamed from the
   * source instead (the gateway keeps what arrives). Default 8 MiB.
   */
  chunkBytes?: number
  /** Partitions in flight at the start. Default 4. */
  initialConcurrency?: number
  /** Lower bound of the adaptive concurrency. Default 1. */
  minConcurrency?: number
  /** Upper bound of the adaptive concurrency. Default 8. */
  maxConcurrency?: number
  /** A request that moves no byte for this long is aborted (`CLIENT_ERR_STALLED`) and retried, ms. Default 15000. */
  stallTimeoutMs?: number
  /** Connecting (TCP + TLS) may take this long before `CLIENT_ERR_UNREACHABLE`, ms. Default 10000. */
  connectTimeoutMs?: number
  /**
   * Waits before retry n of a partition (or of discovery), ms; its length is the number of retries.
   * The count restarts when an attempt got bytes acknowledged. Default `[250, 1000, 3000, 5000, 10000]`.
   */
  retryDelaysMs?: readonly number[]
  /**
   * Send `Upload-Checksum: sha256` on every PATCH when the server supports it — except on partitions
   * the server verifies by their digest (`Tessera-Reconciliation: sha256`). Default true.
   */
  checksum?: boolean
  /**
   * The whole-upload check of a parallel upload (see {@link UploadIntegrity}). `'partitions'` needs
   * servers that verify partition digests (`Tessera-Reconciliation: partitions`); with others the
   * final carries the whole-file SHA-256. A sequential upload always computes the whole-file SHA-256
   * (its bytes are hashed once, as they are acknowledged). Default `'partitions'`.
   */
  integrity?: UploadIntegrity
  /**
   * Hedge risky partitions: an in-flight attempt whose predicted P(fails or misses its deadline)
   * reaches `hedgeThreshold` gets a second attempt of the same partition on the endpoint with the
   * lowest predicted risk (with one endpoint: a fresh connection to it), before the first is
   * declared failed; the first to complete wins, the other is aborted and DELETEd. Only in parallel
   * mode (every endpoint supports concatenation); ignored otherwise. Default true.
   */
  hedging?: boolean
  /**
   * Split in-flight partitions when the link degrades (seed 001 §1): a partition whose rest would
   * take more than 3 × `targetPartitionMs` at its attempt's recent rate is ended at the server's
   * offset and the rest re-partitioned. Needs parallel mode, servers that verify partition digests
   * (`Tessera-Reconciliation`) and `creation-defer-length` on every endpoint; ignored otherwise.
   * Partitions of ≥ 2 × `minPartitionBytes` are then created with deferred length (one more, empty,
   * PATCH per partition). Default true.
   */
  splitting?: boolean
  /** Hedge an attempt whose risk is at least this probability, in [0, 1]. Default 0.3. */
  hedgeThreshold?: number
  /**
   * Hedge budget, a fraction of the upload's bytes, ≥ 0. A hedge starts only while the bytes
   * committed to hedges (sent by ended ones + the partition length of running ones) are below
   * it, so hedges send less than this × size + one partition. Default 0.05.
   */
  hedgeBudget?: number
  /** Every in-flight attempt is scored this often, ms. Default 50. */
  hedgeIntervalMs?: number
  /** Where resume state goes; `null` disables resume. Default (Node): a JSON file per upload in `TESSERA_STATE_DIR` or `~/.tessera`. */
  stateStore?: StateStore | null
  /** HTTP transport. Default (Node): node:http with keep-alive agents ({@link NodeHttpTransport}). */
  transport?: HttpTransport
  /** SHA-256 factory. Default (Node): node:crypto. */
  hash?: HashFactory
  /** Clock, ms. Default `Date.now`. */
  clock?: Clock
  /** Timers of the hedge loop. Default: the global `setTimeout`/`clearTimeout`. */
  timers?: Timers
  /** Aborts the upload like `abort()`. */
  signal?: AbortSignal
  /**
   * Endpoint models shared with other uploads ({@link UploadSession}): this upload starts from what
   * they learned and leaves what it learns. Default: a fresh set for this upload alone.
   */
  session?: UploadSession
}

/** Options after defaults and validation; ports stay optional (the entry point binds them). */
export type ResolvedUploadOptions = Required<Omit<UploadOptions, 'fingerprint' | 'size' | 'stateStore' | 'transport' | 'hash' | 'clock' | 'timers' | 'signal' | 'session' | 'getToken'>> &
  Pick<UploadOptions, 'fingerprint' | 'size' | 'stateStore' | 'transport' | 'hash' | 'clock' | 'timers' | 'signal' | 'session' | 'getToken'>

/** Defaults of every optional {@link UploadOptions} field. */
export const defaultUploadOptions = Object.freeze({
  metadata: Object.freeze({}) as Readonly<Record<string, string>>,
  headers: Object.freeze({}) as Readonly<Record<string, string>>,
  priority: 'normal' as UploadPriority,
  minPartitionBytes: 1 * MiB,
  maxPartitionBytes: 64 * MiB,
  initialPartitionBytes: 4 * MiB,
  partitionAlignBytes: 256 * 1024,
  targetPartitionMs: 3000,
  streamPartitionMaxBytes: 8 * MiB,
  chunkBytes: 8 * MiB,
  initialConcurrency: 4,
  minConcurrency: 1,
  maxConcurrency: 8,
  stallTimeoutMs: 15_000,
  connectTimeoutMs: 10_000,
  retryDelaysMs: Object.freeze([250, 1000, 3000, 5000, 10_000]) as readonly number[],
  checksum: true,
  integrity: 'partitions' as UploadIntegrity,
  hedging: true,
  splitting: true,
  hedgeThreshold: 0.3,
  hedgeBudget: 0.05,
  hedgeIntervalMs: 50,
})

function describe(value: unknown): string {
  if (typeof value === 'string') return `\`${JSON.stringify(value).slice(1, -1)}\` (string)`
  if (Array.isArray(value)) return `\`${JSON.stringify(value)}\` (array)`
  if (value === null) return '`null` (null)'
  if (typeof value === 'object') return '(object)'
  return `\`${String(value)}\` (${typeof value})`
}

function invalid(name: string, expected: string, value: unknown): ClientError {
  return new ClientError('CLIENT_ERR_INVALID_OPTION', `Expected \`${name}\` to be ${expected}, got ${describe(value)}`)
}

function integer(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw invalid(name, `a number from ${min} and up`, value)
  return value
}

function stringRecord(name: string, value: unknown): Readonly<Record<string, string>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw invalid(name, 'an object of string values', value)
  }
  return Object.freeze({ ...(value as Record<string, string>) })
}

/**
 * Applies defaults and validates. Never mutates `options`.
 * @throws ClientError `CLIENT_ERR_INVALID_OPTION` naming the option, the expected and the actual value.
 */
export function resolveUploadOptions(options: UploadOptions): ResolvedUploadOptions {
  if (typeof options !== 'object' || options === null) throw invalid('options', 'an object', options)
  const o = { ...defaultUploadOptions, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as UploadOptions & typeof defaultUploadOptions

  if (!Array.isArray(o.endpoints) || o.endpoints.length === 0) throw invalid('endpoints', 'a non-empty array of http(s) URLs', o.endpoints)
  const endpoints = o.endpoints.map((e, i) => {
    let url: URL | undefined
    try {
      url = typeof e === 'string' ? new URL(e) : undefined
    } catch {
      url = undefined
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw invalid(`endpoints[${i}]`, 'an absolute http(s) URL', e)
    return url.href.replace(/\/+$/, '')
  })
  const metadata = stringRecord('metadata', o.metadata)
  for (const key of Object.keys(metadata)) {
    if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(key)) throw invalid('metadata', 'an object whose keys are ASCII without spaces or commas', key)
    if (key.startsWith('tessera-')) throw invalid('metadata', 'an object without `tessera-*` keys (the client sets those)', key)
  }
  const headers = stringRecord('headers', o.headers)
  if (o.getToken !== undefined && typeof o.getToken !== 'function') throw invalid('getToken', 'a function resolving a token', o.getToken)
  if (o.fingerprint !== undefined && (typeof o.fingerprint !== 'string' || o.fingerprint === '')) throw invalid('fingerprint', 'a non-empty string', o.fingerprint)
  const size = o.size === undefined ? undefined : integer('size', o.size, 0)
  if (o.priority !== 'urgent' && o.priority !== 'normal' && o.priority !== 'bulk') throw invalid('priority', "one of 'urgent', 'normal', 'bulk'", o.priority)

  const minPartitionBytes = integer('minPartitionBytes', o.minPartitionBytes, 1)
  const maxPartitionBytes = integer('maxPartitionBytes', o.maxPartitionBytes, minPartitionBytes)
  const partitionAlignBytes = integer('partitionAlignBytes', o.partitionAlignBytes, 1)
  const initialPartitionBytes = integer('initialPartitionBytes', o.initialPartitionBytes, 1)
  const targetPartitionMs = integer('targetPartitionMs', o.targetPartitionMs, 1)
  const streamPartitionMaxBytes = integer('streamPartitionMaxBytes', o.streamPartitionMaxBytes, 1)
  const chunkBytes = integer('chunkBytes', o.chunkBytes, 1)
  const minConcurrency = integer('minConcurrency', o.minConcurrency, 1)
  const maxConcurrency = integer('maxConcurrency', o.maxConcurrency, minConcurrency)
  const initialConcurrency = integer('initialConcurrency', o.initialConcurrency, minConcurrency)
  if (initialConcurrency > maxConcurrency) throw invalid('initialConcurrency', `a number from ${minConcurrency} to ${maxConcurrency} (maxConcurrency)`, initialConcurrency)
  const stallTimeoutMs = integer('stallTimeoutMs', o.stallTimeoutMs, 1)
  const connectTimeoutMs = integer('connectTimeoutMs', o.connectTimeoutMs, 1)
  if (!Array.isArray(o.retryDelaysMs) || o.retryDelaysMs.some((d) => typeof d !== 'number' || !Number.isFinite(d) || d < 0)) {
    throw invalid('retryDelaysMs', 'an array of numbers from 0 and up', o.retryDelaysMs)
  }
  if (typeof o.checksum !== 'boolean') throw invalid('checksum', 'a boolean', o.checksum)
  if (o.integrity !== 'partitions' && o.integrity !== 'sha256') throw invalid('integrity', "one of 'partitions', 'sha256'", o.integrity)
  if (typeof o.hedging !== 'boolean') throw invalid('hedging', 'a boolean', o.hedging)
  if (typeof o.splitting !== 'boolean') throw invalid('splitting', 'a boolean', o.splitting)
  if (typeof o.hedgeThreshold !== 'number' || !(o.hedgeThreshold >= 0 && o.hedgeThreshold <= 1)) throw invalid('hedgeThreshold', 'a number from 0 to 1', o.hedgeThreshold)
  if (typeof o.hedgeBudget !== 'number' || !Number.isFinite(o.hedgeBudget) || o.hedgeBudget < 0) throw invalid('hedgeBudget', 'a number from 0 and up', o.hedgeBudget)
  const hedgeIntervalMs = integer('hedgeIntervalMs', o.hedgeIntervalMs, 1)
  if (o.stateStore !== undefined && o.stateStore !== null && (typeof o.stateStore.get !== 'function' || typeof o.stateStore.set !== 'function')) {
    throw invalid('stateStore', 'a StateStore or null', o.stateStore)
  }
  if (o.transport !== undefined && typeof o.transport.request !== 'function') throw invalid('transport', 'an HttpTransport', o.transport)
  if (o.hash !== undefined && typeof o.hash !== 'function') throw invalid('hash', 'a function', o.hash)
  if (o.clock !== undefined && typeof o.clock !== 'function') throw invalid('clock', 'a function', o.clock)
  if (o.timers !== undefined && (typeof o.timers?.setTimeout !== 'function' || typeof o.timers?.clearTimeout !== 'function')) throw invalid('timers', 'a Timers port', o.timers)
  if (o.session !== undefined && !(o.session instanceof UploadSession)) throw invalid('session', 'an UploadSession', o.session)

  return {
    endpoints,
    metadata,
    headers,
    priority: o.priority,
    minPartitionBytes,
    maxPartitionBytes,
    initialPartitionBytes,
    partitionAlignBytes,
    targetPartitionMs,
    streamPartitionMaxBytes,
    chunkBytes,
    initialConcurrency,
    minConcurrency,
    maxConcurrency,
    stallTimeoutMs,
    connectTimeoutMs,
    retryDelaysMs: Object.freeze([...o.retryDelaysMs]),
    checksum: o.checksum,
    integrity: o.integrity,
    hedging: o.hedging,
    splitting: o.splitting,
    hedgeThreshold: o.hedgeThreshold,
    hedgeBudget: o.hedgeBudget,
    hedgeIntervalMs,
    ...(o.fingerprint !== undefined && { fingerprint: o.fingerprint }),
    ...(size !== undefined && { size }),
    ...(o.stateStore !== undefined && { stateStore: o.stateStore }),
    ...(o.transport !== undefined && { transport: o.transport }),
    ...(o.hash !== undefined && { hash: o.hash }),
    ...(o.clock !== undefined && { clock: o.clock }),
    ...(o.timers !== undefined && { timers: o.timers }),
    ...(o.signal !== undefined && { signal: o.signal }),
    ...(o.session !== undefined && { session: o.session }),
    ...(o.getToken !== undefined && { getToken: o.getToken }),
  }
}
