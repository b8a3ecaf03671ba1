import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
import { redisError } from './errors.js'

type Arg = string | number

/**
 * One Lua script, run by its SHA1 (`EVALSHA`) and sent whole only when Redis does not know it yet
 * (`NOSCRIPT`: a restarted or failed-over server). Keys are passed as keys so Redis Cluster can route
 * the script and check that they share a slot. Internal.
 */
export class LuaScript {
  readonly sha: string

  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex')
  }

  /**
   * Runs the script; resolves its reply.
   * @throws ClusterError `CLUSTER_ERR_UNAVAILABLE`, `CLUSTER_ERR_REDIS`.
   */
  async run(client: Redis, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    try {
      try {
        return await client.evalsha(this.sha, keys.length, ...keys, ...args)
      } catch (err) {
        if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err
        return await client.eval(this.source, keys.length, ...keys, ...args)
      }
    } catch (err) {
      throw redisError(err, `script ${this.name}`)
    }
  }
}
