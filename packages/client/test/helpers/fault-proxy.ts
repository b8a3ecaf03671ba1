// An in-test TCP proxy in front of the gateway that injects link faults on real sockets: black-hole
// the first PATCH mid-body, hold back the answer to the first PATCH, or throttle every connection.
import net from 'node:net'
import { NodeHttpTransport, type HttpRequest, type HttpResponse, type HttpTransport } from '../../src/index.js'

export interface FaultProxyOptions {
  /**
   * The first PATCH seen (on any connection) is black-holed after this many of its request bytes
   * (head + body): the proxy stops forwarding and stops reading, the socket stays open.
   */
  readonly stallPatchAfterBytes?: number
  /** The answer to the first PATCH is held back (its body is forwarded in full; the server completes it). */
  readonly holdFirstPatchResponse?: boolean
  /** Client→server bytes of every connection are forwarded at most this fast, bytes/s. */
  readonly bytesPerSecond?: number
}

export interface FaultProxy {
  readonly port: number
  /** Creation URL through this proxy. */
  readonly url: string
  /** Whether the stall / hold fault has been applied. */
  faulted(): boolean
  /** Path of the PATCH the fault hit (e.g. `/files/ab12…`), once it did. */
  victimPath(): string | undefined
  /** Server bytes held back from the client (the held PATCH answer), as text. */
  held(): string
  close(): Promise<void>
}

/** Starts a proxy to 127.0.0.1:`targetPort`. */
export async function faultProxy(targetPort: number, options: FaultProxyOptions = {}): Promise<FaultProxy> {
  let victim: net.Socket | undefined
  let faulted = false
  let held = ''
  let victimPath: string | undefined
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1')
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => sockets.delete(s))
    }
    let victimBytes = 0
    const wantVictim = options.stallPatchAfterBytes !== undefined || options.holdFirstPatchResponse === true
    client.on('data', (d: Buffer) => {
      let chunk = d
      if (wantVictim && victim === undefined) {
        const at = d.indexOf('PATCH ')
        if (at >= 0) {
          victim = client
          victimPath = /^PATCH (\S+) /.exec(d.subarray(at, at + 300).toString('latin1'))?.[1]
          victimBytes = -at
        }
      }
      if (victim === client && options.stallPatchAfterBytes !== undefined) {
        const room = options.stallPatchAfterBytes - victimBytes
        if (chunk.length >= room) {
          upstream.write(chunk.subarray(0, Math.max(0, room)))
          faulted = true
          client.pause()
          client.removeAllListeners('data')
          return
        }
        victimBytes += chunk.length
      }
      if (options.bytesPerSecond !== undefined) {
        client.pause()
        upstream.write(chunk, () => setTimeout(() => client.resume(), (chunk.length * 1000) / options.bytesPerSecond!))
      } else {
        upstream.write(chunk)
      }
    })
    upstream.on('data', (d: Buffer) => {
      if (victim === client && options.holdFirstPatchResponse) {
        faulted = true
        held += d.toString('latin1')
        return
      }
      client.write(d)
    })
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  return {
    port,
    url: `http://127.0.0.1:${port}/files`,
    faulted: () => faulted,
    held: () => held,
    victimPath: () => victimPath,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

/** What {@link countingTransport} may change on the way: a request before it is sent, an answer before the client sees it. */
export interface TransportEdits {
  readonly request?: (req: HttpRequest) => HttpRequest
  readonly response?: (req: HttpRequest, res: HttpResponse) => HttpResponse
  /** Pretend the transport cannot stream a body (fetch in a browser). Default: the transport's answer. */
  readonly streamsBodies?: boolean
  /** Pretend the transport cannot send trailers (fetch in a browser). Default: the transport's answer. */
  readonly sendsTrailers?: boolean
}

/**
 * The real node:http transport, recording requests (as sent, after `edits.request`; trailers given
 * as a function recorded as the fields it returned when sent) and counting PATCH body bytes pulled
 * into them.
 */
export function countingTransport(edits: TransportEdits = {}): { transport: HttpTransport; patched: () => number; requests: HttpRequest[] } {
  const inner = new NodeHttpTransport()
  let patched = 0
  const requests: HttpRequest[] = []
  const send = async (req: HttpRequest): Promise<HttpResponse> => {
    const res = await inner.request(req)
    return edits.response?.(req, res) ?? res
  }
  return {
    patched: () => patched,
    requests,
    transport: {
      streamsBodies: edits.streamsBodies ?? inner.streamsBodies,
      sendsTrailers: edits.sendsTrailers ?? inner.sendsTrailers,
      request(original: HttpRequest) {
        const edited = edits.request?.(original) ?? original
        const recorded: { -readonly [K in keyof HttpRequest]: HttpRequest[K] } = { ...edited }
        requests.push(recorded)
        const late = edited.trailers
        const req: HttpRequest = typeof late === 'function' ? { ...edited, trailers: () => (recorded.trailers = late()) } : edited
        if (req.method !== 'PATCH' || req.body === undefined) return send(req)
        const body = req.body
        async function* counted(): AsyncGenerator<Uint8Array> {
          for await (const piece of body instanceof Uint8Array ? [body] : body) {
            patched += piece.length
            yield piece
          }
        }
        return send({ ...req, body: counted() })
      },
      close: () => inner.close(),
    },
  }
}

/** HEAD of an upload URL on the gateway itself (`gatewayUrl` is its creation URL): the status. */
export async function headStatus(uploadUrl: string, gatewayUrl: string): Promise<number> {
  const direct = new URL(new URL(uploadUrl).pathname, gatewayUrl).href
  const res = await fetch(direct, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0' } })
  return res.status
}
