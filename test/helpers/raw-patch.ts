import http, { type IncomingHttpHeaders } from 'node:http'

/** How a raw PATCH ended: the server's answer, or the transport error that cut it. */
export type PatchOutcome =
  | { readonly kind: 'response'; readonly status: number; readonly offset: number; readonly headers: IncomingHttpHeaders; readonly text: string }
  | { readonly kind: 'error'; readonly error: Error }

/**
 * Sends one tus PATCH of `length` bytes at `offset`, writing `body` with backpressure; the body
 * iterable controls the pace (it may pause, which keeps the request open mid-body). Resolves how
 * the request ended and never rejects. `headers` adds or overrides request headers. `sent()` counts bytes handed to the socket.
 */
export function rawPatch(url: string, offset: number, length: number, body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, headers: Record<string, string> = {}): { sent: () => number; outcome: Promise<PatchOutcome> } {
  let sent = 0
  const outcome = new Promise<PatchOutcome>((resolve) => {
    const req = http.request(url, {
      method: 'PATCH',
      agent: false,
      headers: {
        'Tus-Resumable': '1.0.0',
        'Upload-Offset': String(offset),
        'Content-Type': 'application/offset+octet-stream',
        'Content-Length': String(length),
        ...headers,
      },
    })
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ kind: 'response', status: res.statusCode!, offset: Number(res.headers['upload-offset'] ?? Number.NaN), headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', (error) => resolve({ kind: 'error', error }))
    })
    req.on('error', (error) => resolve({ kind: 'error', error }))
    void (async () => {
      for await (const chunk of body) {
        if (req.destroyed) return
        sent += chunk.length
        if (!req.write(chunk)) {
          await new Promise<void>((resume) => {
            const done = (): void => {
              req.off('drain', done)
              req.off('close', done)
              resume()
            }
            req.on('drain', done)
            req.on('close', done)
          })
        }
      }
      if (!req.destroyed) req.end()
    })().catch((error: Error) => {
      req.destroy(error)
    })
  })
  return { sent: () => sent, outcome }
}
