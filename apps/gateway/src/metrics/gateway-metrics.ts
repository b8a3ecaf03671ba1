import type { Logger } from '@tessera/storage'
import express, { type NextFunction, type Request, type Response } from 'express'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { sendError } from '../error-response.js'
import { GatewayError } from '../errors.js'
import type { GatewayDurability } from '../gateway-durability.js'
import type { HookObserver } from '../hooks/http-hooks.js'
import { requireOperatorToken } from '../operator-auth.js'
import type { UploadEvent } from '../lifecycle/upload-lifecycle.js'
import type { ReconciliationEvent } from '../reconciliation/event-log.js'
import type { TusContext } from '../tus/context.js'
import type { UploadRecord } from '../upload-record.js'
import { DurabilityMetrics } from './durability-metrics.js'
import { registerReadMetrics } from './read-metrics.js'

/** `GET` path of the Prometheus metrics. */
export const METRICS_PATH = '/metrics'

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PATCH', 'DELETE', 'OPTIONS'])
/** Request durations, s: from a HEAD's milliseconds to a PATCH of many minutes. */
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]
/** Upload durations (creation → finished), s: from a second to a day. */
const UPLOAD_BUCKETS = [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600]
/** Lock waits, s: nothing, a release asked of the holder, up to the 20 s that answer 423. */
const LOCK_BUCKETS = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 20]

/** Reconciliation event → the `outcome` label of the attempt and final counters. */
const OUTCOME: Record<ReconciliationEvent['event'], readonly ['attempts' | 'finals', string]> = {
  'attempt-created': ['attempts', 'created'],
  'attempt-won': ['attempts', 'won'],
  'attempt-lost': ['attempts', 'superseded'],
  'attempt-rejected': ['attempts', 'rejected'],
  'attempt-terminated': ['attempts', 'terminated'],
  'attempt-expired': ['attempts', 'expired'],
  'final-verified': ['finals', 'verified'],
  'final-rejected': ['finals', 'rejected'],
  'final-created': ['finals', 'created'],
}

/**
 * The gateway's Prometheus metrics (docs/metrics.md), in a registry of its own so that several
 * gateways can run in one process: HTTP requests ({@link observeRequests}), the upload lifecycle,
 * lock waits, reconciliation outcomes (from its event sink), hook requests, the read path's hedges
 * and echoes and the durability engine's status (both read at scrape time), and Node's process
 * metrics. Served by {@link routes} as Prometheus text.
 */
export class GatewayMetrics {
  readonly registry = new Registry()
  readonly #durability: DurabilityMetrics | undefined
  readonly #requests: Histogram<'method' | 'route' | 'status'>
  readonly #served: Counter
  readonly #uploadRoute: string
  readonly #hooks: Histogram<'hook' | 'outcome'>

  constructor(ctx: TusContext, durability?: GatewayDurability) {
    const registers = [this.registry]
    const { config, events, now } = ctx.deps
    this.#uploadRoute = `${config.basePath}/:id`
    collectDefaultMetrics({ register: this.registry, prefix: 'tessera_' })

    this.#requests = new Histogram({
      name: 'tessera_http_request_duration_seconds',
      help: 'HTTP requests by method, route (the route pattern, never an upload id) and status (`aborted` when the connection closed before the answer was sent), from arrival to the last byte of the answer.',
      labelNames: ['method', 'route', 'status'],
      buckets: REQUEST_BUCKETS,
      registers,
    })
    const received = new Counter({ name: 'tessera_received_bytes_total', help: 'Upload bytes stored (PATCH and creation-with-upload bodies, as committed).', registers })
    this.#served = new Counter({ name: 'tessera_served_bytes_total', help: 'Upload bytes served by GET (bodies fully sent; a download cut short is not counted).', registers })
    const created = new Counter({ name: 'tessera_uploads_created_total', help: 'Uploads created, by kind (single, partial, final).', labelNames: ['kind'], registers })
    const finished = new Counter({ name: 'tessera_uploads_finished_total', help: 'Uploads that reached their length, by kind.', labelNames: ['kind'], registers })
    const terminated = new Counter({ name: 'tessera_uploads_terminated_total', help: 'Uploads removed before expiry, by reason (terminated: DELETE; superseded, rejected: attempts retired by reconciliation).', labelNames: ['reason'], registers })
    const expired = new Counter({ name: 'tessera_uploads_expired_total', help: 'Unfinished uploads removed by expiration.', registers })
    const durations = new Histogram({ name: 'tessera_upload_duration_seconds', help: 'Time from creation to finished, by kind.', labelNames: ['kind'], buckets: UPLOAD_BUCKETS, registers })
    new Gauge({
      name: 'tessera_uploads_in_flight',
      help: 'Uploads a request is writing to on this gateway now (holding their lock).',
      registers,
      collect() {
        this.set(ctx.inflight.size)
      },
    })
    ctx.lifecycle.subscribe((event: UploadEvent) => {
      const kind = kindOf(event.upload)
      switch (event.type) {
        case 'created':
          return created.inc({ kind })
        case 'received':
          return received.inc(event.bytes)
        case 'finished':
          finished.inc({ kind })
          return durations.observe({ kind }, Math.max(0, now() - Date.parse(event.upload.createdAt)) / 1000)
        case 'terminated':
          return terminated.inc({ reason: event.reason })
        case 'expired':
          return expired.inc()
      }
    })

    const lockWaits = new Histogram({ name: 'tessera_lock_wait_seconds', help: "How long requests waited for an upload's lock, by outcome (acquired, gave_up: 423, the client left, or the locker failed).", labelNames: ['outcome'], buckets: LOCK_BUCKETS, registers })
    ctx.lifecycle.onLockWait((wait) => lockWaits.observe({ outcome: wait.acquired ? 'acquired' : 'gave_up' }, wait.waitedMs / 1000))

    const attempts = new Counter({ name: 'tessera_reconciliation_attempts_total', help: 'Hedged attempts by outcome (created, won, superseded, rejected, terminated, expired).', labelNames: ['outcome'], registers })
    const attemptBytes = new Counter({ name: 'tessera_reconciliation_attempt_bytes_total', help: "Bytes of attempts by outcome: a winner's partition length; the bytes a superseded, rejected, terminated or expired attempt had stored (hedging's cost).", labelNames: ['outcome'], registers })
    const finals = new Counter({ name: 'tessera_reconciliation_finals_total', help: 'Final concatenations of reconciled or checksummed uploads by outcome (verified, rejected, created).', labelNames: ['outcome'], registers })
    events.subscribe((event) => {
      const [family, outcome] = OUTCOME[event.event]
      if (family === 'finals') return finals.inc({ outcome })
      attempts.inc({ outcome })
      if (outcome !== 'created') attemptBytes.inc({ outcome }, event.bytes)
    })

    this.#hooks = new Histogram({ name: 'tessera_hook_request_duration_seconds', help: 'HTTP hook requests by hook and outcome (ok, rejected: a pre-create refusing the upload, failed: timed out, unreachable, non-2xx or malformed).', labelNames: ['hook', 'outcome'], buckets: REQUEST_BUCKETS, registers })
    registerReadMetrics(ctx.deps.store, this.registry)
    this.#durability = durability && new DurabilityMetrics(durability, this.registry)
  }

  /** The hooks' observer: one observation per hook request. */
  readonly hookDone: HookObserver = (hook, outcome, seconds) => this.#hooks.observe({ hook, outcome }, seconds)

  /** Express middleware timing every request into `tessera_http_request_duration_seconds` (and GET bodies into `tessera_served_bytes_total`). */
  readonly observeRequests = (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now()
    res.once('close', () => {
      const route = routeOf(req)
      const status = res.writableFinished ? String(res.statusCode) : 'aborted'
      this.#requests.observe({ method: METHODS.has(req.method) ? req.method : 'OTHER', route, status }, (performance.now() - started) / 1000)
      if (req.method === 'GET' && route === this.#uploadRoute && res.writableFinished && (res.statusCode === 200 || res.statusCode === 206)) {
        this.#served.inc(Number(res.getHeader('content-length') ?? 0))
      }
    })
    next()
  }

  /**
   * `GET /metrics`: every metric in Prometheus text format (0.0.4), never cached; with `token`, only
   * for `Authorization: Bearer <token>` (401 otherwise). Other methods answer 405. To be mounted
   * before CORS: whatever the method, the path never answers CORS (a preflight gets the 401 or 405).
   */
  routes(token: string | undefined, log: Logger): express.Router {
    const router = express.Router()
    router.all(METRICS_PATH, requireOperatorToken(token, log))
    router.get(METRICS_PATH, this.#serve)
    router.all(METRICS_PATH, (req, res) => {
      res.set('Allow', 'GET, HEAD')
      sendError(res, new GatewayError('GATEWAY_ERR_METHOD_NOT_ALLOWED', `${METRICS_PATH} is read-only: GET or HEAD`), log, { method: req.method, url: req.originalUrl })
    })
    return router
  }

  readonly #serve = async (_req: Request, res: Response): Promise<void> => {
    this.#durability?.beginScrape()
    try {
      const text = await this.registry.metrics()
      res.status(200).set('Content-Type', this.registry.contentType).set('Cache-Control', 'no-store').send(text)
    } finally {
      this.#durability?.endScrape()
    }
  }
}

/** `single`, `partial` or `final`: the `kind` label of an upload. */
function kindOf(upload: UploadRecord): 'single' | 'partial' | 'final' {
  return upload.concat?.type ?? 'single'
}

/** The matched route's pattern (`/files/:id`), or `unmatched`: bounded, never an id. */
function routeOf(req: Request): string {
  const path: unknown = (req.route as { path?: unknown } | undefined)?.path
  if (typeof path === 'string') return path
  if (Array.isArray(path)) return path.join('|')
  return 'unmatched'
}
