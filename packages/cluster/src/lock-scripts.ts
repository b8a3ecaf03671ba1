import { LuaScript } from './lua-script.js'

/**
 * Takes a free lock. KEYS: lock, fence, waiting. ARGV: owner, leaseMs, fenceTtlMs, waitingTtlMs.
 * Free → `{1, value, leaseMs}`: a new fencing token `max(last + 1, Redis time in ms)` — monotonic
 * per id even after the counter key expired — and the lease `<token>/<owner>` with a PX expiry.
 * Held → `{0, holder's value, its PTTL}`, and the waiting flag is set so the holder's unlock
 * publishes on the freed channel.
 */
export const acquireScript = new LuaScript(
  'lock-acquire',
  `
local current = redis.call('GET', KEYS[1])
if current then
  redis.call('SET', KEYS[3], '1', 'PX', ARGV[4])
  return {0, current, redis.call('PTTL', KEYS[1])}
end
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local token = last + 1
if now > token then token = now end
local text = string.format('%.0f', token)
redis.call('SET', KEYS[2], text, 'PX', ARGV[3])
local value = text .. '/' .. ARGV[1]
redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
return {1, value, tonumber(ARGV[2])}
`,
)

/** Extends a lease that is still ours. KEYS: lock. ARGV: value, leaseMs. → 1 extended, 0 not ours. */
export const renewScript = new LuaScript(
  'lock-renew',
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`,
)

/**
 * Frees a lease that is still ours and, when someone waits, wakes them.
 * KEYS: lock, waiting. ARGV: value, freed channel. → 1 freed, 0 not ours (lapsed or taken over).
 */
export const releaseScript = new LuaScript(
  'lock-release',
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PUBLISH', ARGV[2], '') end
  return 1
end
return 0
`,
)
