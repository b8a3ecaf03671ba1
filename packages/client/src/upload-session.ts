import type { DiscoveredEndpoint } from './discovery.js'
import type { EndpointModels } from './hedge-scheduler.js'

/** How long a later upload of a session reuses an endpoint's OPTIONS answer instead of asking again, ms. */
export const CAPABILITIES_TTL_MS = 5 * 60_000

/**
 * What the uploads of one application learn about their endpoints and share:
 *
 * - per endpoint, the failure and throughput models and the healthy progress gaps that every
 *   finished attempt feeds and the hedge loop reads (`EndpointModels`): an upload starts where the
 *   previous ones left off instead of from the vague prior, and what it learns stays for the next
 *   (the models forget with time, half-life 5 min, so a long-lived session follows the network);
 * - what each endpoint's OPTIONS said, for {@link CAPABILITIES_TTL_MS}: an upload whose endpoints
 *   are all known skips discovery, one round trip before its first POST. An endpoint an attempt
 *   could not reach is forgotten, so the next upload asks it again (and skips it if it is down).
 *
 * Share one per process (or per page); uploads of one session may run at the same time. Every
 * upload of a session must use the same clock (the default `Date.now` does).
 */
export class UploadSession {
  readonly #models = new Map<string, EndpointModels>()
  readonly #capabilities = new Map<string, { readonly found: DiscoveredEndpoint; readonly atMs: number }>()

  /** The shared models, by endpoint URL: the uploads of this session read and replace entries. */
  get models(): Map<string, EndpointModels> {
    return this.#models
  }

  /** Snapshot of what has been learned, by endpoint. */
  endpointModels(): ReadonlyMap<string, EndpointModels> {
    return new Map(this.#models)
  }

  /** What an earlier upload discovered about every one of `endpoints`, in their order — or undefined when one is unknown or older than the TTL. */
  knownEndpoints(endpoints: readonly string[], now: number): DiscoveredEndpoint[] | undefined {
    const known: DiscoveredEndpoint[] = []
    for (const endpoint of endpoints) {
      const entry = this.#capabilities.get(endpoint)
      if (!entry || now - entry.atMs > CAPABILITIES_TTL_MS) return undefined
      known.push(entry.found)
    }
    return known
  }

  /** Remembers what discovery found (endpoints that answered OPTIONS). */
  rememberEndpoints(found: readonly DiscoveredEndpoint[], now: number): void {
    for (const f of found) this.#capabilities.set(f.endpoint, { found: f, atMs: now })
  }

  /** An attempt could not reach `endpoint`: the next upload asks it again. */
  forgetEndpoint(endpoint: string): void {
    this.#capabilities.delete(endpoint)
  }
}
