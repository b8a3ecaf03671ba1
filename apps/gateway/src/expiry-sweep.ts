import type { TusContext } from './tus/context.js'

/**
 * One pass of the expiration extension's cleanup: removes unfinished uploads whose `expiresAt`
 * passed, unless a request on any gateway of the cluster holds their lock (a PATCH longer than
 * `expireAfter` is being written to now), and forgets tombstones one more `expireAfter` later
 * (their ids then answer 404, not 410).
 */
export async function sweepExpired(ctx: TusContext): Promise<void> {
  const { records, config, now } = ctx.deps
  if (!records.list) return
  for (const id of await records.list()) {
    const record = await records.get(id)
    if (!record?.expiresAt) continue
    if (record.gone && Date.parse(record.expiresAt) + config.expireAfterMs <= now()) await records.delete(id)
    else if (await ctx.isExpired(record)) await ctx.expire(record)
  }
}

/** Runs {@link sweepExpired} every quarter of `expireAfter` (1 s to 1 min), never keeping the process alive. */
export function startExpirySweep(ctx: TusContext): { stop: () => void } {
  const everyMs = Math.max(1000, Math.min(60_000, ctx.deps.config.expireAfterMs / 4))
  let running = false
  const timer = setInterval(() => {
    if (running) return
    running = true
    sweepExpired(ctx)
      .catch((err: unknown) => ctx.deps.log.warn({ err }, 'expiry sweep failed; retrying next round'))
      .finally(() => (running = false))
  }, everyMs)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}
