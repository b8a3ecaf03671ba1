import { TUS_VERSION } from '@tessera/protocol'
import express, { type NextFunction, type Request, type Response } from 'express'
import { authenticate } from './auth/authenticate.js'
import { cors } from './cors.js'
import { sendError } from './error-response.js'
import { GatewayError } from './errors.js'
import type { GatewayDurability } from './gateway-durability.js'
import { HttpHooks } from './hooks/http-hooks.js'
import { draftRoutes } from './ietf/draft-routes.js'
import { isDraftRequest } from './ietf/draft-fields.js'
import { GatewayMetrics } from './metrics/gateway-metrics.js'
import { operatorRoutes } from './operator-routes.js'
import { readRoutes } from './read/read-routes.js'
import type { RedisReachability } from './readiness.js'
import { TusContext } from './tus/context.js'
import type { TusDeps } from './tus/deps.js'
import { handleDelete } from './tus/delete-handler.js'
import { handleGet } from './tus/get-handler.js'
import { handleHead } from './tus/head-handler.js'
import { handleOptions } from './tus/options-handler.js'
import { handlePatch } from './tus/patch-handler.js'
import { handlePost } from './tus/post-handler.js'

/** The express app and the tus context behind it (shutdown and the expiry sweep use it). */
export interface GatewayApp {
  readonly app: express.Express
  readonly context: TusContext
}

/** What the app serves besides tus. */
export interface AppOptions {
  /** Background durability: mounts the operator endpoints (`/_tessera/live`, `/ready`, `/health`, `/durability`, the dashboard, …). */
  readonly durability?: GatewayDurability
  /** Scale-out: the cluster's Redis, which `/_tessera/ready` also requires. */
  readonly redis?: RedisReachability
}

type Handler = (ctx: TusContext, req: Request, res: Response) => Promise<void> | void

/**
 * Builds the gateway's HTTP surface over its dependencies: a plain function tests call with real
 * stores; only `main.ts` listens. tus handlers are the gateway's own (docs/protocol-core.md).
 */
export function createApp(deps: TusDeps, options: AppOptions = {}): GatewayApp {
  const ctx = new TusContext(deps)
  const app = express()
  app.disable('x-powered-by')
  app.set('etag', false)

  // tus 1.0: clients that cannot send PATCH/DELETE tunnel them through POST.
  app.use((req, _res, next) => {
    const override = req.get('x-http-method-override')
    if (req.method === 'POST' && override) req.method = override.toUpperCase()
    next()
  })
  // Metrics and hooks listen to the upload lifecycle (docs/metrics.md, docs/hooks.md); hook requests carry the client's request.
  const metrics = deps.config.metrics ? new GatewayMetrics(ctx, options.durability) : undefined
  if (metrics) app.use(metrics.observeRequests)
  if (deps.config.hooks) {
    app.use(ctx.lifecycle.requestScope)
    new HttpHooks(deps.config.hooks, deps.log, deps.now, metrics?.hookDone).attach(ctx.lifecycle)
  }
  if (metrics) app.use(metrics.routes(deps.config.operatorToken, deps.log))
  // Operator JSON: before CORS (not for browsers on other origins) and the shutdown gate (health says `stopping`).
  // Before the operator routes, whose last handler answers 404 for any other /_tessera path.
  if (deps.reads) app.use(readRoutes(deps.reads, deps.config.operatorToken, deps.log))
  if (options.durability) app.use(operatorRoutes(ctx, { durability: options.durability, redis: options.redis }))
  app.use(cors(deps.config.cors, deps.log))
  // Who a tus request acts for (--auth): after CORS, so a 401 still reaches a browser's script.
  app.use(deps.config.basePath, authenticate(deps.config.auth, deps.log))
  app.use((req, res, next) => {
    res.set('Tus-Resumable', TUS_VERSION)
    // A request of the resumable-upload draft carries Upload-Draft-Interop-Version instead.
    const tus = req.method !== 'OPTIONS' && req.method !== 'GET' && !isDraftRequest(req)
    const version = req.get('tus-resumable')
    if (tus && version !== TUS_VERSION) {
      return sendError(res, new GatewayError('GATEWAY_ERR_UNSUPPORTED_VERSION', `Tus-Resumable must be ${TUS_VERSION}, got ${JSON.stringify(version ?? null)}`, { headers: { 'Tus-Version': TUS_VERSION } }), deps.log, { method: req.method, url: req.originalUrl })
    }
    next()
  })
  // Once shutting down, new requests are refused (and their connections closed) so the process drains;
  // requests already holding a lock are told to finish by `shutdown()` itself.
  app.use((req, res, next) => {
    if (!ctx.shuttingDown || req.method === 'OPTIONS') return next()
    res.set('Connection', 'close')
    sendError(res, new GatewayError('GATEWAY_ERR_SHUTTING_DOWN', 'the gateway is shutting down; retry shortly'), deps.log, { method: req.method, url: req.originalUrl })
  })

  const route = (handler: Handler) => async (req: Request, res: Response) => {
    try {
      await handler(ctx, req, res)
    } catch (err) {
      sendError(res, err, deps.log, { method: req.method, url: req.originalUrl })
    }
  }
  const base = deps.config.basePath
  app.use(draftRoutes(ctx))
  app.options([base, `${base}/:id`], route(handleOptions))
  app.post(base, route(handlePost))
  app.head(`${base}/:id`, route(handleHead))
  app.patch(`${base}/:id`, route(handlePatch))
  app.delete(`${base}/:id`, route(handleDelete))
  app.get(`${base}/:id`, route(handleGet))
  app.all([base, `${base}/:id`], route(() => {
    throw new GatewayError('GATEWAY_ERR_METHOD_NOT_ALLOWED', 'method not allowed on this resource')
  }))
  app.use((req: Request, res: Response, _next: NextFunction) => {
    sendError(res, new GatewayError('GATEWAY_ERR_NOT_FOUND', `nothing at ${req.path}`), deps.log, { method: req.method, url: req.originalUrl })
  })
  // What express itself raises before a handler runs — a path whose id does not percent-decode (400
  // from the router) names no upload. Without this, express's default handler answers HTML with a stack.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: unknown }).status
    const notFound = typeof status === 'number' && status >= 400 && status < 500
    sendError(res, notFound ? new GatewayError('GATEWAY_ERR_NOT_FOUND', `nothing at ${req.path}`, { cause: err }) : err, deps.log, { method: req.method, url: req.originalUrl })
  })

  return { app, context: ctx }
}
