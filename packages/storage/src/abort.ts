import { PassThrough, type Readable, pipeline } from 'node:stream'
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

/**
 * `source` as the stream a `Backend.get` returns: a failure of `source` becomes `toError(err)`, and
 * `signal` destroys it with `STORAGE_ERR_ABORTED` (destroying the result destroys `source`, which
 * ends whatever read it: a file handle, an HTTP request). The listener goes with the stream.
 */
export function abortableStream(source: Readable, signal: AbortSignal | undefined, what: string, toError: (err: unknown) => StorageError): Readable {
  const out = new PassThrough()
  pipeline(source, out, (err) => {
    if (err && !out.destroyed) out.destroy(toError(err))
  })
  if (signal) {
    const onAbort = (): void => {
      out.destroy(abortedError(signal, what))
    }
    if (signal.aborted) onAbort()
    else {
      signal.addEventListener('abort', onAbort, { once: true })
      out.once('close', () => signal.removeEventListener('abort', onAbort))
    }
  }
  return out
}
