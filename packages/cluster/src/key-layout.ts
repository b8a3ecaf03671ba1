import { invalidOption } from './errors.js'

const PREFIX = /^[A-Za-z0-9_.:-]{1,100}$/
const NAME = /^[A-Za-z0-9_-]{1,64}$/

/**
 * Every Redis key and channel this package uses, in one place (docs/scale-out.md lists them).
 *
 * Whatever belongs to one id — an upload's lock, fencing counter, record and manifest — carries the
 * id as a Redis Cluster hash tag, `{id}`, so it lives in one slot and a Lua script may read the
 * lock while it writes the manifest. Braces and `%` inside an id are percent-encoded, so an id can
 * never end its own tag early (which would scatter its keys over slots).
 */
export class KeyLayout {
  /** @throws ClusterError `CLUSTER_ERR_INVALID_OPTION` for a prefix outside `[A-Za-z0-9_.:-]{1,100}`. */
  constructor(readonly prefix: string) {
    if (typeof prefix !== 'string' || !PREFIX.test(prefix)) throw invalidOption('keyPrefix', 'a string of 1–100 characters from [A-Za-z0-9_.:-]', prefix)
  }

  /** The lease of `id`'s lock: a string `<fencing token>/<owner>`, with a PX expiry. */
  lock(id: string): string {
    return `${this.prefix}:lock:${tag(id)}`
  }

  /** The last fencing token handed out for `id`. */
  fence(id: string): string {
    return `${this.prefix}:fence:${tag(id)}`
  }

  /** Present (with an expiry) while some process waits for `id`'s lock: only then does unlock publish. */
  waiting(id: string): string {
    return `${this.prefix}:waiting:${tag(id)}`
  }

  /** Channel on which an unlock of `id` wakes the processes waiting for it. */
  freedChannel(id: string): string {
    return `${this.prefix}:freed:${tag(id)}`
  }

  /** Channel on which one locker (one process) receives requests to release a lock it holds. */
  ownerChannel(owner: string): string {
    return `${this.prefix}:owner:${owner}`
  }

  /** A KvStore value under `namespace`. */
  kv(namespace: string, key: string): string {
    return `${this.prefix}:kv:${namespace}:${tag(key)}`
  }

  /** SCAN pattern matching every value of `namespace`. */
  kvPattern(namespace: string): string {
    return `${globEscape(this.prefix)}:kv:${namespace}:{*}`
  }

  /** The KvStore key back from a Redis key `kv(namespace, key)`. */
  kvKeyOf(namespace: string, redisKey: string): string {
    return untag(redisKey, `${this.prefix}:kv:${namespace}:`)
  }

  /** The manifest hash of object `id` (version, sources, referrers, deleted). */
  manifest(id: string): string {
    return `${this.prefix}:manifest:${tag(id)}`
  }

  /** The list of object `id`'s stripe records, one JSON string each. */
  stripes(id: string): string {
    return `${this.prefix}:stripes:${tag(id)}`
  }

  /** SCAN pattern matching every manifest hash. */
  manifestPattern(): string {
    return `${globEscape(this.prefix)}:manifest:{*}`
  }

  /** The object id back from a Redis key `manifest(id)`. */
  manifestIdOf(redisKey: string): string {
    return untag(redisKey, `${this.prefix}:manifest:`)
  }

  /** BullMQ's `prefix` option: its keys are `<prefix>:bull:{<queue>}:…`. */
  get bullPrefix(): string {
    return `${this.prefix}:bull`
  }

  /** BullMQ queue name of a task queue: the name as a hash tag, so the whole queue is one slot. */
  bullQueue(name: string): string {
    return `{${name}}`
  }

  /** The byte budget (token bucket) of task queue `name`; same slot as the queue. */
  budget(name: string): string {
    return `${this.prefix}:budget:{${name}}`
  }
}

/** Validates a namespace or queue name: `[A-Za-z0-9_-]{1,64}`. Internal. */
export function assertName(option: string, value: unknown): string {
  if (typeof value !== 'string' || !NAME.test(value)) throw invalidOption(option, 'a string of 1–64 characters from [A-Za-z0-9_-]', value)
  return value
}

function tag(id: string): string {
  return `{${id.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}}`
}

function untag(redisKey: string, head: string): string {
  const inner = redisKey.slice(head.length + 1, -1)
  return inner.replace(/%(25|7B|7D)/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
}

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`)
}
