import { FaultProxyError } from './errors.js'
import { FaultEndpoint, type EndpointStats } from './fault-endpoint.js'
import { resolveFaultProxyOptions, type FaultProxyOptions } from './options.js'

/** Stats of a whole proxy: its seed and one entry per endpoint. */
export interface FaultProxyStats {
  readonly seed: number
  readonly endpoints: readonly EndpointStats[]
}

/** A running fault proxy: its endpoints, their stats, and `close()`. Create with {@link startFaultProxy}. */
export class FaultProxy {
  /** The seed every endpoint draws from. */
  readonly seed: number
  /** The endpoints in the order of the options. */
  readonly endpoints: readonly FaultEndpoint[]
  #closed: Promise<void> | undefined

  private constructor(seed: number, endpoints: readonly FaultEndpoint[]) {
    this.seed = seed
    this.endpoints = endpoints
  }

  /** See {@link startFaultProxy}. */
  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const resolved = resolveFaultProxyOptions(options)
    const endpoints: FaultEndpoint[] = []
    try {
      for (const [i, e] of resolved.endpoints.entries()) endpoints.push(await FaultEndpoint.listen(e, i, resolved.seed, resolved.host))
    } catch (err) {
      await Promise.all(endpoints.map((e) => e.close()))
      throw err
    }
    return new FaultProxy(resolved.seed, Object.freeze(endpoints))
  }

  /** The endpoint called `name`; throws `FAULT_PROXY_ERR_INVALID_OPTION` when there is none. */
  endpoint(name: string): FaultEndpoint {
    const e = this.endpoints.find((x) => x.name === name)
    if (e === undefined) throw new FaultProxyError('FAULT_PROXY_ERR_INVALID_OPTION', `no endpoint named ${JSON.stringify(name)} (have ${this.endpoints.map((x) => x.name).join(', ')})`)
    return e
  }

  /** Counters of every endpoint (a fresh snapshot). */
  stats(): FaultProxyStats {
    return { seed: this.seed, endpoints: this.endpoints.map((e) => e.stats()) }
  }

  /** Closes every endpoint and destroys every connection (stalled ones too). Idempotent. */
  close(): Promise<void> {
    this.#closed ??= Promise.all(this.endpoints.map((e) => e.close())).then(() => undefined)
    return this.#closed
  }
}

/**
 * Starts a fault proxy: one listening port per endpoint, each forwarding to its upstream with the
 * faults of its options, all decisions drawn from `seed`. Resolves once every port listens.
 * Rejects `FAULT_PROXY_ERR_INVALID_OPTION` (before any I/O) or `FAULT_PROXY_ERR_LISTEN`.
 */
export function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  return FaultProxy.start(options)
}
