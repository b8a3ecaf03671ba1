import { createHash } from 'node:crypto'
import http, { type IncomingHttpHeaders } from 'node:http'

const TUS = { 'Tus-Resumable': '1.0.0' }

/** A response whose body was hashed as it streamed in, never buffered whole. */
export interface Download {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  /** Bytes of the body received. */
  readonly bytes: number
  readonly sha256: string
  /** `true` when the body ended normally and matched `Content-Length` (if any). */
  readonly complete: boolean
  /** The body as text when it is small (error answers), else ''. */
  readonly text: string
}

/** GETs `url` (optionally a `Range`, more `headers` such as a token), hashing the body as it streams. Never rejects on a cut body. */
export function download(url: string, options: { range?: string; timeoutMs?: number; headers?: Record<string, string> } = {}): Promise<Download> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { ...(options.range && { Range: options.range }), ...options.headers }, agent: false }, (res) => {
      const hash = createHash('sha256')
      let bytes = 0
      const head: Buffer[] = []
      let settled = false
      const finish = (ended: boolean): void => {
        if (settled) return
        settled = true
        const declared = res.headers['content-length']
        const complete = ended && res.complete && (declared === undefined || Number(declared) === bytes)
        const text = bytes <= 4096 ? Buffer.concat(head).toString('utf8') : ''
        resolve({ status: res.statusCode!, headers: res.headers, bytes, sha256: hash.digest('hex'), complete, text })
      }
      res.on('data', (chunk: Buffer) => {
        hash.update(chunk)
        if (bytes < 4096) head.push(chunk)
        bytes += chunk.length
      })
      res.on('end', () => finish(true))
      res.on('error', () => finish(false))
      res.on('close', () => finish(false))
      res.on('aborted', () => finish(false))
    })
    req.setTimeout(options.timeoutMs ?? 60_000, () => req.destroy(new Error(`GET ${url} timed out`)))
    req.on('error', reject)
  })
}

/** A tus request without a body (HEAD, DELETE, OPTIONS, POST creation). */
export function tusRequest(method: string, url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { ...TUS, ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${url} timed out`)))
    req.on('error', reject)
    req.end()
  })
}

/** HEAD of an upload: status and `Upload-Offset` (NaN when absent). */
export async function headOffset(url: string): Promise<{ status: number; offset: number; headers: IncomingHttpHeaders }> {
  const res = await tusRequest('HEAD', url)
  return { status: res.status, offset: Number(res.headers['upload-offset'] ?? Number.NaN), headers: res.headers }
}

/** Creates an upload of `length` bytes (POST) and resolves its absolute URL. */
export async function createUpload(endpoint: string, length: number): Promise<string> {
  const res = await tusRequest('POST', endpoint, { 'Upload-Length': String(length) })
  if (res.status !== 201 || typeof res.headers.location !== 'string') throw new Error(`POST ${endpoint} answered ${res.status}: ${res.text}`)
  return new URL(res.headers.location, endpoint).href
}
