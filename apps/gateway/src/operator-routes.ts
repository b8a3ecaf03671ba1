import express, { type Request, type Response } from 'express'
import { OPERATOR_PREFIX } from './config.js'
import { sendError } from './error-response.js'
import { GatewayError } from './errors.js'
import type { GatewayDurability } from './gateway-durability.js'
import { requireOperatorToken } from './operator-auth.js'
import type { TusContext } from './tus/context.js'

/** `GET` path of the durability engine's status (JSON). */
export const DURABILITY_PATH = `${OPERATOR_PREFIX}/durability`
/** `GET` path of the liveness/readiness summary (JSON). */
export const HEALTH_PATH = `${OPERATOR_PREFIX}/health`

/**
 * The operator's read-only JSON endpoints, under `/_tessera` (a prefix the tus base path may not
 * use, and that no upload id can produce: ids never contain `/`):
 * - `GET /_tessera/health`: {@link HealthSummary}; 200 while uploads can be taken (`ok`,
 *   `degraded`), 503 otherwise (`unavailable`, `stopping`). No token: load balancers poll it.
 * - `GET /_tessera/durability`: the engine's {@link DurabilityStatus} — per-backend health and
 *   risk, the generation-priority list's head, queue depth, totals, recent actions. Requires
 *   `Authorization: Bearer <token>` when `--operator-token` is set.
 *
 * Mounted before CORS (no browser on another origin may read them) and before the shutdown gate
 * (health must say `stopping` while the gateway drains). Not for the public network either way.
 */
export function operatorRoutes(ctx: TusContext, durability: GatewayDurability): express.Router {
  const router = express.Router()
  const { log, store, config } = ctx.deps
  const fail = (req: Request, res: Response, err: unknown): void => sendError(res, err, log, { method: req.method, url: req.originalUrl })
  const json = (res: Response, status: number, body: unknown): void => {
    res.status(status).set('Cache-Control', 'no-store').json(body)
  }

  router.get(HEALTH_PATH, (_req, res) => {
    const summary = durability.summary(store, ctx.shuttingDown)
    json(res, summary.ready ? 200 : 503, summary)
  })
  router.get(DURABILITY_PATH, requireOperatorToken(config.operatorToken, log), (_req, res) => {
    json(res, 200, durability.status())
  })
  router.all([HEALTH_PATH, DURABILITY_PATH], (req, res) => {
    res.set('Allow', 'GET, HEAD')
    fail(req, res, new GatewayError('GATEWAY_ERR_METHOD_NOT_ALLOWED', `${req.path} is read-only: GET or HEAD`))
  })
  return router
}
