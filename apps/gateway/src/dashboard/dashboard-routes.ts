import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import express, { type Request, type Response } from 'express'
import { OPERATOR_PREFIX } from '../config.js'

/** `GET` path of the operator dashboard page. */
export const DASHBOARD_PATH = `${OPERATOR_PREFIX}/dashboard`

/**
 * The page may load only its own files and fetch only this origin; nothing may frame it. uPlot
 * styles its elements through the CSSOM (`el.style`), which `style-src 'self'` allows.
 */
const PAGE_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
}

/**
 * The dashboard: one HTML page, its script and stylesheet (`apps/gateway/dashboard/`, plain files,
 * no build step) and uPlot's prebuilt bundle from `node_modules` — no CDN. All static and public:
 * they hold no data. The page fetches the token-guarded JSON endpoints with the operator token it
 * asks for (kept in `sessionStorage`). `readOnly` answers other methods.
 */
export function dashboardRoutes(readOnly: (req: Request, res: Response) => void): express.Router {
  const own = fileURLToPath(new URL('../../dashboard/', import.meta.url))
  const uplot = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'))
  const files: Record<string, string> = {
    'index.html': join(own, 'index.html'),
    'dashboard.js': join(own, 'dashboard.js'),
    'dashboard.css': join(own, 'dashboard.css'),
    'uPlot.iife.min.js': join(uplot, 'uPlot.iife.min.js'),
    'uPlot.min.css': join(uplot, 'uPlot.min.css'),
  }
  const send = (name: string) => (_req: Request, res: Response): void => res.sendFile(files[name]!, { headers: PAGE_HEADERS, etag: true, lastModified: true })
  const router = express.Router({ strict: true })
  router.get(DASHBOARD_PATH, send('index.html'))
  // The page's URLs are relative to `/_tessera/dashboard` (so a proxy may mount it under a prefix): not to its directory form.
  router.get(`${DASHBOARD_PATH}/`, (_req, res) => res.redirect(301, '../dashboard'))
  for (const name of Object.keys(files)) router.get(`${DASHBOARD_PATH}/${name}`, send(name))
  router.all([DASHBOARD_PATH, ...Object.keys(files).map((name) => `${DASHBOARD_PATH}/${name}`)], readOnly)
  return router
}
