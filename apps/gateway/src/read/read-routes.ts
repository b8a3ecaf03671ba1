import express from 'express'
import type { Logger } from '@tessera/storage'
import { OPERATOR_PREFIX } from '../config.js'
import { requireOperatorToken } from '../operator-auth.js'
import type { GatewayReads } from './gateway-reads.js'

/** `GET` path of the read path's figures (JSON). */
export const READ_PATH = `${OPERATOR_PREFIX}/read`

/** `GET /_tessera/read` ({@link GatewayReads.status}), behind the operator token like every operator route. */
export function readRoutes(reads: GatewayReads, operatorToken: string | undefined, log: Logger): express.Router {
  const router = express.Router()
  router.get(READ_PATH, requireOperatorToken(operatorToken, log), (_req, res) => {
    res.set('Cache-Control', 'no-store')
    res.json(reads.status())
  })
  return router
}
