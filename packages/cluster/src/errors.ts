/** Stable codes of {@link ClusterError}. See the package README for what to do about each. */
export type ClusterErrorCode =
  /** Redis cannot be reached, or did not answer within the command timeout. */
  | 'CLUSTER_ERR_UNAVAILABLE'
  /** Redis answered with an error (a wrong key type, a script error, out of memory). */
  | 'CLUSTER_ERR_REDIS'
  /** A write was refused because the caller's lock on that id is no longer the current one. */
  | 'CLUSTER_ERR_FENCED'
  /** `assertHeld`: this process does not hold the lock, or its lease was lost. */
  | 'CLUSTER_ERR_LOCK_LOST'
  /** A stored value is not the JSON this package wrote. */
  | 'CLUSTER_ERR_CORRUPT'
  /** The component (locker, queue, connection) was closed. */
  | 'CLUSTER_ERR_CLOSED'
  /** An options field has the wrong type or is out of range (names the option, expected and actual value). */
  | 'CLUSTER_ERR_INVALID_OPTION'
  /** A call argument is malformed (an empty key, a value JSON cannot hold). */
  | 'CLUSTER_ERR_INVALID_ARGUMENT'

/** The one error class of `@tessera/cluster`. Callers match on `code`. */
export class ClusterError extends Error {
  override readonly name = 'ClusterError'
  constructor(
    readonly code: ClusterErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** True when `err` is a {@link ClusterError} with one of `codes` (any code when none given). */
export function isClusterError(err: unknown, ...codes: ClusterErrorCode[]): err is ClusterError {
  return err instanceof ClusterError && (codes.length === 0 || codes.includes(err.code))
}

function show(value: unknown): string {
  let text: string
  try {
    text = typeof value === 'object' && value !== null ? JSON.stringify(value) : typeof value === 'string' ? JSON.stringify(value) : String(value)
  } catch {
    text = Object.prototype.toString.call(value)
  }
  if (text.length > 80) text = `${text.slice(0, 80)}…`
  return `\`${text}\` (${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value})`
}

/** `CLUSTER_ERR_INVALID_OPTION` in p-queue's words. Internal. */
export function invalidOption(name: string, expected: string, actual: unknown): ClusterError {
  return new ClusterError('CLUSTER_ERR_INVALID_OPTION', `Expected \`${name}\` to be ${expected}, got ${show(actual)}`)
}

/** Validates an integer option in [min, max]. Internal. */
export function integerOption(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidOption(name, `an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? ' and up' : ` to ${max}`}`, value)
  }
  return value
}

/**
 * Classifies an error thrown by ioredis: Redis' own error replies become `CLUSTER_ERR_REDIS`,
 * everything else (refused or reset connections, the command timeout, the retry limit while
 * reconnecting, a closed client) `CLUSTER_ERR_UNAVAILABLE`. Internal.
 */
export function redisError(err: unknown, what: string): ClusterError {
  if (err instanceof ClusterError) return err
  const name = (err as { name?: unknown } | null)?.name
  const message = err instanceof Error ? err.message : String(err)
  if (name === 'ReplyError') return new ClusterError('CLUSTER_ERR_REDIS', `redis refused ${what}: ${message}`, { cause: err })
  return new ClusterError('CLUSTER_ERR_UNAVAILABLE', `redis unavailable (${what}): ${message}`, { cause: err })
}
