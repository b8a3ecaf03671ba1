import { StorageError } from './errors.js'

/** `STORAGE_ERR_ABORTED` for `what` (e.g. `put "a/b"`), with the signal's reason as `cause`. */
export function abortedError(signal: AbortSignal, what: string): StorageError {
  return new StorageError('STORAGE_ERR_ABORTED', `${what} aborted`, { cause: signal.reason })
}

/** Throws `STORAGE_ERR_ABORTED` when `signal` has already fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw abortedError(signal, what)
}

/**
 * Settles like `promise`, or rejects `STORAGE_ERR_ABORTED` as soon as `signal` fires — for work
 * that cannot be cancelled itself (a source stream that never yields, a stalled call). A late
 * rejection of `promise` is swallowed so it never becomes an unhandled rejection.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (signal === undefined) return promise
  if (signal.aborted) {
    promise.catch(() => {})
    return Promise.reject(abortedError(signal, what))
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      promise.catch(() => {})
      reject(abortedError(signal, what))
    }
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(err)
      },
    )
  })
}
