import type { Redis } from 'ioredis'
import { invalidOption } from './errors.js'
import { LuaScript } from './lua-script.js'

/** Options of {@link RedisByteBudget}. */
export interface RedisByteBudgetOptions {
  /** Redis key of the bucket (a hash: tokens, at). */
  readonly key: string
  /** Refill rate, bytes per second, > 0 and finite. */
  readonly bytesPerSecond: number
  /** Bytes the bucket holds when full (what it may bank while idle), > 0. */
  readonly burstBytes: number
  /**
   * The clock, ms. Default: Redis' own (`TIME`), one clock for every gateway whatever their skew.
   * Tests pass a manual one.
   */
  readonly now?: () => number
}

/**
 * KEYS: bucket. ARGV: bytes per ms, burst, need, charge, now ('' = Redis TIME), rank priority
 * ('' = unranked), rank order, reservation lifetime ms.
 * → 0 and charges `charge` when `need` tokens are there and no better-ranked task waits for them;
 * else the ms until it may ask again. A ranked task that is short of tokens reserves them: worse-
 * ranked ones are refused until it had its turn (or its reservation lapsed).
 */
const takeScript = new LuaScript(
  'byte-budget-take',
  `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local need = tonumber(ARGV[3])
local charge = tonumber(ARGV[4])
local now
if ARGV[5] ~= '' then
  now = tonumber(ARGV[5])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local p = tonumber(ARGV[6])
local o = tonumber(ARGV[7])
local s = redis.call('HMGET', KEYS[1], 'tokens', 'at', 'hp', 'ho', 'hdue', 'huntil')
local tokens = tonumber(s[1])
local at = tonumber(s[2])
local hp, ho, hdue, huntil = tonumber(s[3]), tonumber(s[4]), tonumber(s[5]), tonumber(s[6])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
if now > at then
  tokens = math.min(burst, tokens + (now - at) * rate)
  at = now
end
if hp ~= nil and (huntil == nil or now >= huntil) then hp = nil end
local mine = hp ~= nil and p ~= nil and p == hp and o == ho
local behind = hp ~= nil and not mine and (p == nil or p > hp or (p == hp and o > ho))
local wait = 0
if behind then
  wait = math.max(10, math.ceil(hdue - now))
elseif tokens < need then
  wait = math.max(1, math.ceil((need - tokens) / rate))
  if p ~= nil then
    redis.call('HSET', KEYS[1], 'hp', p, 'ho', o, 'hdue', string.format('%.17g', now + wait), 'huntil', string.format('%.17g', now + wait + tonumber(ARGV[8])))
  end
else
  tokens = tokens - charge
  if mine then redis.call('HDEL', KEYS[1], 'hp', 'ho', 'hdue', 'huntil') end
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', string.format('%.17g', at))
-- Once full again (and no reservation is pending) the bucket is the same as no bucket: let the key go.
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate) + tonumber(ARGV[8]) + wait + 1000)
return wait
`,
)

/** Where a task stands in the queue: a lower `priority`, then a lower `order`, goes first. */
export interface BudgetRank {
  /** BullMQ priority (1 = first). */
  readonly priority: number
  /** Tie-break within a priority: when it was added, ms. */
  readonly order: number
}

/** How long a reservation outlives its due time when its task does not come back for it, ms. */
const RESERVATION_GRACE_MS = 5000

/**
 * A token bucket of bytes shared by every gateway of a cluster, kept in Redis and updated by one
 * Lua script per attempt — the cluster-wide form of `InProcessTaskQueue`'s byte budget. A task
 * needs `min(bytes, burstBytes)` tokens to start and is charged all its `bytes`, so one larger than
 * the burst starts when the bucket is full and leaves it in debt: the long-run rate holds.
 *
 * Ranked takes keep the queue's order under the budget, as the local queue's head-of-line does:
 * the best-ranked task refused for want of tokens reserves them, and worse-ranked tasks (fetched
 * at the same time by other slots or gateways) are refused until it took them — so a small task
 * cannot starve a large, more urgent one. A reservation whose task never returns lapses after
 * its due time plus 5 s.
 */
export class RedisByteBudget {
  readonly #ratePerMs: number

  /** @throws ClusterError `CLUSTER_ERR_INVALID_OPTION`. */
  constructor(
    private readonly client: Redis,
    readonly options: RedisByteBudgetOptions,
  ) {
    const { bytesPerSecond, burstBytes } = options
    if (typeof bytesPerSecond !== 'number' || !(bytesPerSecond > 0) || !Number.isFinite(bytesPerSecond)) throw invalidOption('bytesPerSecond', 'a finite number above 0', bytesPerSecond)
    if (typeof burstBytes !== 'number' || !(burstBytes > 0) || !Number.isFinite(burstBytes)) throw invalidOption('burstBytes', 'a finite number above 0', burstBytes)
    this.#ratePerMs = bytesPerSecond / 1000
  }

  /**
   * Charges `bytes` and resolves 0 when the budget allows a task of that size (and `rank`) to
   * start now; otherwise charges nothing and resolves the ms to wait before asking again.
   * @throws ClusterError `CLUSTER_ERR_UNAVAILABLE`, `CLUSTER_ERR_REDIS`.
   */
  async take(bytes: number, rank?: BudgetRank): Promise<number> {
    const { burstBytes, now } = this.options
    const need = Math.min(bytes, burstBytes)
    const args = [String(this.#ratePerMs), String(burstBytes), String(need), String(bytes), now ? String(now()) : '', rank ? String(rank.priority) : '', rank ? String(rank.order) : '', String(RESERVATION_GRACE_MS)]
    return Number(await takeScript.run(this.client, [this.options.key], args))
  }
}
