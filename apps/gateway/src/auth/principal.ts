import type { Request } from 'express'
import { GatewayError } from '../errors.js'
import type { UploadRecord } from '../upload-record.js'

/**
 * Whom a tus request acts for. `anyone` under `--auth none`: every upload is reachable, and new
 * ones have no owner. `subject` under `--auth jwt`: the verified token's `sub`, which owns the
 * uploads it creates and reaches only those (docs/auth.md).
 */
export type Principal = { readonly kind: 'anyone' } | { readonly kind: 'subject'; readonly sub: string }

/** The principal of `--auth none`. */
export const ANYONE: Principal = Object.freeze({ kind: 'anyone' })

const principals = new WeakMap<Request, Principal>()

/** Records whom `req` acts for; the authentication middleware calls it once per request. */
export function setPrincipal(req: Request, principal: Principal): void {
  principals.set(req, principal)
}

/**
 * Whom `req` acts for. A tus route is always behind the authentication middleware, so a request
 * without a principal is a broken invariant (500), never an anonymous pass.
 */
export function principalOf(req: Request): Principal {
  const principal = principals.get(req)
  if (!principal) throw new GatewayError('GATEWAY_ERR_INVALID_CONFIG', `${req.method} ${req.path} reached a tus handler without authentication`)
  return principal
}

/**
 * Whether `who` may see `record` at all. A subject reaches only the uploads its `sub` created;
 * uploads created under `--auth none` have no owner and are reachable by no token (docs/auth.md,
 * "Uploads without an owner"). Anyone (`--auth none`) reaches every upload.
 */
export function mayAccess(who: Principal, record: UploadRecord): boolean {
  return who.kind === 'anyone' || record.owner === who.sub
}

/** The `owner` field of an upload `who` creates: the subject's `sub`, none under `--auth none`. */
export function ownerField(who: Principal): { readonly owner?: string } {
  return who.kind === 'subject' ? { owner: who.sub } : {}
}
