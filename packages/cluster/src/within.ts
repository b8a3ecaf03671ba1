/**
 * `promise`, or a rejection `<what> within <ms> ms` once `ms` passed first — for the waits that
 * neither ioredis nor BullMQ bound (a connect, a queue getting ready). The promise goes on; the
 * caller disposes of what it was waiting for, and turns the rejection into a `ClusterError` with
 * `redisError`. Internal.
 */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}
