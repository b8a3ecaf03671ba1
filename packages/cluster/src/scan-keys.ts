import type { Redis } from 'ioredis'
import { redisError } from './errors.js'

/** Keys asked for per SCAN round trip: a hint to Redis, which may return more or fewer. */
const SCAN_COUNT = 1000

/**
 * Every key matching `pattern`, each once (SCAN may return a key twice; those are dropped), in no
 * order. A key present for the whole walk is returned; one added or removed during it may or may
 * not be. Cost: one round trip per `SCAN_COUNT` keys of the whole database, matching or not.
 * Internal.
 * @throws ClusterError `CLUSTER_ERR_UNAVAILABLE`.
 */
export async function* scanKeys(client: Redis, pattern: string): AsyncIterable<string> {
  const seen = new Set<string>()
  let cursor = '0'
  do {
    let reply: [string, string[]]
    try {
      reply = await client.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT)
    } catch (err) {
      throw redisError(err, 'SCAN')
    }
    cursor = reply[0]
    for (const key of reply[1]) {
      if (seen.has(key)) continue
      seen.add(key)
      yield key
    }
  } while (cursor !== '0')
}
