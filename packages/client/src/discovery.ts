import { ClientError, isRetriable } from './errors.js'
import type { Clock } from './ports.js'
import type { ServerCapabilities, TusClient } from './tus-client.js'
import type { UploadEventMap } from './upload-events.js'

/** After the first endpoint answered OPTIONS, the others have at least this long to answer too, ms. */
const DISCOVERY_GRACE_MIN_MS = 250

/** An endpoint that answered OPTIONS, and what it said. */
export interface DiscoveredEndpoint {
  readonly endpoint: string
  readonly capabilities: ServerCapabilities
}

/** What discovery needs from its upload. */
export interface DiscoveryHost {
  readonly tus: TusClient
  readonly clock: Clock
  /** Resolves once not paused; rejects once aborted. */
  gate(): Promise<void>
  abortError(): ClientError | undefined
  pausedDuring(err: unknown): boolean
  sleep(ms: number): Promise<void>
  emit<K extends keyof UploadEventMap>(name: K, event: UploadEventMap[K]): void
}

/**
 * OPTIONS on every endpoint, once each. As soon as one answered, the others have a grace of
 * max(`DISCOVERY_GRACE_MIN_MS`, 3 × that first answer's time) to answer too; an endpoint that
 * failed its OPTIONS (refused, stalled, 5xx, not a usable tus server) or is still silent then is
 * left out of this upload (`endpoint-skipped`), with no retry. Only when no endpoint answered are
 * the retriable ones asked again, per `retryDelaysMs`; then it rejects with the first endpoint's
 * last error. Resolves the endpoints that answered, in the caller's order (partition i goes to
 * endpoint i mod n).
 */
export async function discoverEndpoints(host: DiscoveryHost, options: { readonly endpoints: readonly string[]; readonly retryDelaysMs: readonly number[] }): Promise<DiscoveredEndpoint[]> {
  const delays = options.retryDelaysMs
  const errors = new Map<string, unknown>()
  let asking = [...options.endpoints]
  for (let failures = 0; ; ) {
    await host.gate()
    const round = await discoveryRound(host, asking)
    const aborted = host.abortError()
    if (aborted) throw aborted
    if (round.ok.length > 0) {
      for (const { endpoint, err } of round.failed) {
        const e = err instanceof ClientError ? err : new ClientError('CLIENT_ERR_NETWORK', String(err), { cause: err })
        host.emit('endpoint-skipped', { endpoint, code: e.code, status: e.status, message: e.message })
      }
      return options.endpoints.flatMap((endpoint) => round.ok.filter((c) => c.endpoint === endpoint))
    }
    for (const { endpoint, err } of round.failed) errors.set(endpoint, err)
    if (round.failed.every(({ err }) => host.pausedDuring(err))) continue
    asking = round.failed.filter(({ err }) => isRetriable(err) || host.pausedDuring(err)).map((f) => f.endpoint)
    if (asking.length === 0 || failures >= delays.length) throw errors.get(options.endpoints[0]!)
    await host.sleep(delays[failures++]!)
  }
}

/** One OPTIONS per endpoint; resolves once all settled, or the grace after the first answer ran out (the silent ones fail then). */
async function discoveryRound(host: DiscoveryHost, endpoints: readonly string[]): Promise<{ ok: DiscoveredEndpoint[]; failed: { endpoint: string; err: unknown }[] }> {
  const ok: DiscoveredEndpoint[] = []
  const failed: { endpoint: string; err: unknown }[] = []
  const started = host.clock()
  const controllers = endpoints.map(() => new AbortController())
  let graceTimer: ReturnType<typeof setTimeout> | undefined
  await new Promise<void>((resolve) => {
    let pending = endpoints.length
    const settle = (): void => {
      if (--pending === 0) resolve()
    }
    endpoints.forEach((endpoint, i) => {
      host.tus.capabilities(endpoint, controllers[i]!.signal).then(
        (capabilities) => {
          ok.push({ endpoint, capabilities })
          if (ok.length === 1 && pending > 1) {
            const graceMs = Math.max(DISCOVERY_GRACE_MIN_MS, 3 * (host.clock() - started))
            graceTimer = setTimeout(() => {
              endpoints.forEach((silent, j) => {
                controllers[j]!.abort(new ClientError('CLIENT_ERR_STALLED', `OPTIONS ${silent} had no answer ${graceMs} ms after ${endpoint} answered`))
              })
            }, graceMs)
          }
          settle()
        },
        (err: unknown) => {
          const own = controllers[i]!.signal
          failed.push({ endpoint, err: own.aborted ? own.reason : err })
          settle()
        },
      )
    })
  })
  clearTimeout(graceTimer)
  failed.sort((a, b) => endpoints.indexOf(a.endpoint) - endpoints.indexOf(b.endpoint))
  return { ok, failed }
}
