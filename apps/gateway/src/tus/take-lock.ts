import type { Lock, RequestRelease } from '@tus/utils'
import { GatewayError } from '../errors.js'

/** Waiting longer than this for a lock answers 423: the holder did not release when asked. */
export const LOCK_TIMEOUT_MS = 20_000

/**
 * Takes `lock`, asking its holder to release it with `requestRelease`. A Lock rejects with the
 * signal's reason when the signal ends the wait: that is a busy upload or partition
 * (`GATEWAY_ERR_LOCKED`, 423, with `busy` as its message). Anything else is the locker's own
 * failure (the cluster's Redis down → 503 by the error map) and passes on unchanged.
 */
export async function takeLock(lock: Lock, signal: AbortSignal, requestRelease: RequestRelease, busy: string): Promise<void> {
  try {
    await lock.lock(signal, requestRelease)
  } catch (err) {
    if (!signal.aborted) throw err
    throw new GatewayError('GATEWAY_ERR_LOCKED', busy, { cause: err })
  }
}
