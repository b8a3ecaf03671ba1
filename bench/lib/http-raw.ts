// Hand-made HTTP requests for the fault benches: a PATCH that stalls mid-body on a raw socket, and
// plain requests with a deadline that report what happened instead of throwing.
import { request } from 'node:http'
import { connect, type Socket } from 'node:net'

/** What a request with a deadline came back with. */
export interface Outcome {
  /** HTTP status, or undefined when no response came before the deadline or the socket failed. */
  readonly status: number | undefined
  readonly headers: Record<string, string | string[] | undefined>
  /** ms from sending to the response's end (or to giving up). */
  readonly ms: number
  readonly error?: string
}

/** Sends one request on a fresh connection; gives up (and destroys the socket) after `timeoutMs`. */
export function send(url: string, method: string, headers: Record<string, string>, body: Uint8Array | undefined, timeoutMs: number): Promise<Outcome> {
  const started = performance.now()
  return new Promise<Outcome>((resolve) => {
    const req = request(url, { method, headers: { ...headers, ...(body && { 'Content-Length': String(body.length) }) }, agent: false }, (res) => {
      res.resume()
      res.on('end', () => {
        clearTimeout(timer)
        resolve({ status: res.statusCode, headers: res.headers, ms: performance.now() - started })
      })
    })
    const timer = setTimeout(() => req.destroy(new Error(`no response within ${timeoutMs} ms`)), timeoutMs)
    req.on('error', (err) => {
      clearTimeout(timer)
      resolve({ status: undefined, headers: {}, ms: performance.now() - started, error: err.message })
    })
    req.end(body)
  })
}

/** A PATCH whose client went silent mid-body: the socket stays open, no more bytes, no FIN. */
export interface StalledPatch {
  readonly socket: Socket
  /** Everything the server has written back on this socket so far (its response, if any). */
  readonly received: () => string
  /** ms after the stall began when the server first wrote back, or undefined. */
  readonly answeredAfterMs: () => number | undefined
  /** ms after the stall began when the server closed the socket, or undefined. */
  readonly closedAfterMs: () => number | undefined
}

/**
 * Opens a connection, sends a tus PATCH's headers declaring `declaredBytes` and then only `sent`,
 * and stays silent — what a black-holed client looks like to the server.
 */
export async function stalledPatch(url: string, headers: Record<string, string>, declaredBytes: number, sent: Uint8Array): Promise<StalledPatch> {
  const { hostname, port, pathname } = new URL(url)
  const socket = connect(Number(port), hostname)
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  let received = ''
  let answeredAt: number | undefined
  let closedAt: number | undefined
  let stalledAt = performance.now()
  socket.setEncoding('latin1')
  socket.on('data', (s: string) => {
    answeredAt ??= performance.now()
    received += s.slice(0, 4096)
  })
  socket.on('close', () => (closedAt = performance.now()))
  socket.on('error', () => undefined)
  const head = [`PATCH ${pathname} HTTP/1.1`, `Host: ${hostname}:${port}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), `Content-Length: ${declaredBytes}`, '', ''].join('\r\n')
  socket.write(head)
  await new Promise<void>((resolve) => socket.write(sent, () => resolve()))
  stalledAt = performance.now()
  return {
    socket,
    received: () => received,
    answeredAfterMs: () => (answeredAt === undefined ? undefined : Math.max(0, answeredAt - stalledAt)),
    closedAfterMs: () => (closedAt === undefined ? undefined : closedAt - stalledAt),
  }
}
