import express, { type NextFunction, type Request, type Response } from 'express'
import { OPERATOR_PREFIX } from './config.js'
import { dashboardRoutes } from './dashboard/dashboard-routes.js'
import { reconciliationTail } from './dashboard/reconciliation-tail.js'
import { uploadsInFlight } from './dashboard/uploads-in-flight.js'
import { sendError } from './error-response.js'
import { GatewayError } from './errors.js'
import type { GatewayDurability } from './gateway-durability.js'
import { requireOperatorToken } from './operator-auth.js'
import { readiness, type RedisReachability } from './readiness.js'
import type { TusContext } from './tus/context.js'

/** `GET`/`HEAD` liveness probe: 200 while the process serves (no token). */
export const LIVE_PATH = `${OPERATOR_PREFIX}/live`
/** `GET`/`HEAD` readiness probe: 200 when uploads can be taken, 503 otherwise (no token). */
export const READY_PATH = `${OPERATOR_PREFIX}/ready`
/** `GET` path of the detailed health summary (JSON). */
export const HEALTH_PATH = `${OPERATOR_PREFIX}/health`
/** `GET` path of the durability engine's status (JSON). */
export const DURABILITY_PATH = `${OPERATOR_PREFIX}/durability`
/** `GET` path of the uploads this gateway is receiving (JSON). */
export const UPLOADS_PATH = `${OPERATOR_PREFIX}/uploads`
/** `GET` path of the latest reconciliation events (JSON). */
export const RECONCILIATION_PATH = `${OPERATOR_PREFIX}/reconciliation`

/** Uploads listed by `GET /_tessera/uploads`, and events by `GET /_tessera/reconciliation`, at most. */
const LISTED = 100

/** What the operator routes read besides the tus context. */
export interface OperatorOptions {
  readonly durability: GatewayDurability
  /** Scale-out: the cluster's Redis, which readiness also requires. */
  readonly redis?: RedisReachability | undefined
}

/**
 * The operator's endpoints under `/_tessera` (a prefix the tus base path may not use, and that no
 * upload id can produce: ids never contain `/`):
 * - `GET /_tessera/live`, `GET /_tessera/ready`: the probes, open to anyone (they hold no names);
 * - `GET /_tessera/dashboard` and its static files: public too — they hold no data, and the page
 *   asks for the token itself (docs/operations.md);
 * - every other path under the prefix requires `Authorization: Bearer <token>` when
 *   `--operator-token` is set (an unknown one answers 404 only with it): `health`,
 *   `durability`, `uploads`, `reconciliation`, all read-only JSON, never cached.
 *
 * Mounted before CORS (operator routes never answer CORS) and before the shutdown gate (readiness
 * must say `stopping` while the gateway drains). Not for the public network either way.
 */
export function operatorRoutes(ctx: TusContext, { durability, redis }: OperatorOptions): express.Router {
  const router = express.Router()
  const { log, store, config } = ctx.deps
  const fail = (req: Request, res: Response, err: unknown): void => sendError(res, err, log, { method: req.method, url: req.originalUrl })
  const json = (res: Response, status: number, body: unknown): void => {
    res.status(status).set('Cache-Control', 'no-store').json(body)
  }
  const readOnly = (req: Request, res: Response): void => {
    res.set('Allow', 'GET, HEAD')
    fail(req, res, new GatewayError('GATEWAY_ERR_METHOD_NOT_ALLOWED', `${req.path} is read-only: GET or HEAD`))
  }
  const answer = (compute: () => Promise<{ status: number; body: unknown }>) => async (req: Request, res: Response): Promise<void> => {
    try {
      const { status, body } = await compute()
      json(res, status, body)
    } catch (err) {
      fail(req, res, err)
    }
  }

  router.get(LIVE_PATH, (_req, res) => json(res, 200, { status: 'live' }))
  router.get(READY_PATH, answer(async () => {
    const report = await readiness(durability, store, ctx.shuttingDown, redis)
    return { status: report.status === 'ready' ? 200 : 503, body: report }
  }))
  router.all([LIVE_PATH, READY_PATH], readOnly)
  router.use(dashboardRoutes(readOnly))

  const guard = requireOperatorToken(config.operatorToken, log)
  router.use((req: Request, res: Response, next: NextFunction) => (isOperatorPath(req.path) ? guard(req, res, next) : next()))
  router.get(HEALTH_PATH, (_req, res) => {
    const summary = durability.summary(store, ctx.shuttingDown)
    json(res, summary.ready ? 200 : 503, summary)
  })
  router.get(DURABILITY_PATH, (_req, res) => json(res, 200, durability.status()))
  router.get(UPLOADS_PATH, answer(async () => ({ status: 200, body: await uploadsInFlight(ctx, LISTED) })))
  router.get(RECONCILIATION_PATH, answer(async () => ({ status: 200, body: await reconciliationTail(config.reconciliationLog, LISTED) })))
  router.all([HEALTH_PATH, DURABILITY_PATH, UPLOADS_PATH, RECONCILIATION_PATH], readOnly)
  router.use((req: Request, res: Response, next: NextFunction) => {
    if (!isOperatorPath(req.path)) return next()
    fail(req, res, new GatewayError('GATEWAY_ERR_NOT_FOUND', `nothing at ${req.path}`))
  })
  return router
}

function isOperatorPath(path: string): boolean {
  return path === OPERATOR_PREFIX || path.startsWith(`${OPERATOR_PREFIX}/`)
}
