import type { UploadMetadata } from '@tessera/protocol'

/** What Tessera reads of a hook's answer (tusd's `hooks.HookResponse`); every field optional. */
export interface HookResponse {
  readonly rejectUpload: boolean
  /** `HTTPResponse`: what the client is answered when the hook rejects. */
  readonly httpResponse: { readonly status: number | undefined; readonly body: string | undefined; readonly headers: Readonly<Record<string, string>> }
  /** `ChangeFileInfo.MetaData`: replaces the upload's metadata as a whole (tusd's behaviour). */
  readonly metadata: UploadMetadata | undefined
  /** `ChangeFileInfo.ID` was set: not supported (ids are the gateway's), logged and ignored. */
  readonly changedId: boolean
}

/** Largest hook answer read, bytes (tusd's `-hooks-http-size-limit` default, 5 KiB, doubled). */
export const HOOK_RESPONSE_LIMIT_BYTES = 10 * 1024

/** Response headers a hook may not set on the client's answer: framing is the gateway's. */
const FRAMING = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'trailer'])

/**
 * Reads a hook's JSON answer. An empty body is an empty answer (go on). Anything that is not a JSON
 * object with fields of tusd's types is a broken hook.
 *
 * @throws Error naming what is wrong (the caller turns it into `GATEWAY_ERR_HOOK_FAILED`).
 */
export function parseHookResponse(text: string): HookResponse {
  const parsed: unknown = text.trim() === '' ? {} : JSON.parse(text)
  if (!isObject(parsed)) throw new Error('the hook answered JSON that is not an object')
  const reject = parsed['RejectUpload'] ?? false
  if (typeof reject !== 'boolean') throw new Error('RejectUpload must be a boolean')
  const http = parsed['HTTPResponse'] ?? {}
  if (!isObject(http)) throw new Error('HTTPResponse must be an object')
  const status = http['StatusCode'] ?? undefined
  if (status !== undefined && status !== 0 && !(Number.isInteger(status) && (status as number) >= 200 && (status as number) <= 599)) {
    throw new Error(`HTTPResponse.StatusCode must be an HTTP status, got ${JSON.stringify(status)}`)
  }
  const body = http['Body'] ?? undefined
  if (body !== undefined && typeof body !== 'string') throw new Error('HTTPResponse.Body must be a string')
  const change = parsed['ChangeFileInfo'] ?? {}
  if (!isObject(change)) throw new Error('ChangeFileInfo must be an object')
  const metadata = change['MetaData'] ?? undefined
  if (metadata !== undefined && !isStringMap(metadata)) throw new Error('ChangeFileInfo.MetaData must map names to strings')
  return {
    rejectUpload: reject,
    httpResponse: { status: status === 0 ? undefined : (status as number | undefined), body, headers: headersOf(http['Header'] ?? {}) },
    metadata,
    changedId: typeof change['ID'] === 'string' && change['ID'] !== '',
  }
}

function headersOf(value: unknown): Record<string, string> {
  if (!isStringMap(value)) throw new Error('HTTPResponse.Header must map names to strings')
  // Framing headers, and names or values Node would refuse to send, are dropped rather than failing the answer.
  return Object.fromEntries(Object.entries(value).filter(([name, v]) => !FRAMING.has(name.toLowerCase()) && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) && !/[\r\n\0]/.test(v)))
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isStringMap(value: unknown): value is Record<string, string> {
  return isObject(value) && Object.values(value).every((v) => typeof v === 'string')
}
