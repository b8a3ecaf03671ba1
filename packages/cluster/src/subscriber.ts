import type { Redis } from 'ioredis'
import { redisError } from './errors.js'

type Listener = (message: string) => void

/**
 * Pub/sub channels shared over one dedicated connection (a subscribed connection can do nothing
 * else), counted per channel so many listeners cost one `SUBSCRIBE`. ioredis re-subscribes after
 * a reconnect; a message published while the connection was down is lost, which is why every
 * waiter that listens also wakes on a timer. Internal: `RedisConnection.subscribe` is the API.
 */
export class Subscriber {
  readonly #listeners = new Map<string, Set<Listener>>()
  /** Channels whose SUBSCRIBE is in flight or done, so a second listener waits for the first. */
  readonly #subscribed = new Map<string, Promise<void>>()

  constructor(readonly client: Redis) {
    client.on('message', (channel: string, message: string) => {
      for (const listener of this.#listeners.get(channel) ?? []) {
        try {
          listener(message)
        } catch {
          // A listener's failure is its own; the others still hear the message.
        }
      }
    })
  }

  /**
   * Calls `listener` with every message on `channel` until the returned function is called.
   * Resolves once Redis confirmed the subscription, so a message published after it is heard.
   * @throws ClusterError `CLUSTER_ERR_UNAVAILABLE`.
   */
  async subscribe(channel: string, listener: Listener): Promise<() => Promise<void>> {
    let set = this.#listeners.get(channel)
    if (!set) this.#listeners.set(channel, (set = new Set()))
    set.add(listener)
    let pending = this.#subscribed.get(channel)
    if (!pending) {
      pending = this.client.subscribe(channel).then(() => undefined)
      this.#subscribed.set(channel, pending)
    }
    try {
      await pending
    } catch (err) {
      set.delete(listener)
      if (this.#subscribed.get(channel) === pending) this.#subscribed.delete(channel)
      if (set.size === 0) this.#listeners.delete(channel)
      throw redisError(err, `SUBSCRIBE ${channel}`)
    }
    let done = false
    return async () => {
      if (done) return
      done = true
      set.delete(listener)
      if (set.size > 0 || this.#listeners.get(channel) !== set) return
      this.#listeners.delete(channel)
      this.#subscribed.delete(channel)
      // Best effort: a channel left subscribed after a failure only costs a message nobody hears.
      await this.client.unsubscribe(channel).catch(() => undefined)
    }
  }
}
