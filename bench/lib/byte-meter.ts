// A plain TCP forwarder that counts the bytes it carries towards the upstream, with timestamps of
// the process it runs in. Placed *after* a shaping proxy, it sees the shaped byte stream.
import { connect, createServer, type Server, type Socket } from 'node:net'

/** A listening byte meter. */
export interface ByteMeter {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string
  /** Bytes forwarded upstream so far. */
  bytesUp(): number
  /** Calls `fn(bytes, atMs)` for every chunk forwarded upstream (`performance.now()` time). */
  onChunk(fn: ((bytes: number, atMs: number) => void) | undefined): void
  close(): Promise<void>
}

/** Starts a meter on 127.0.0.1 (any port) forwarding to `upstream` (`http://host:port`). */
export async function startByteMeter(upstream: string): Promise<ByteMeter> {
  const { hostname, port } = new URL(upstream)
  let up = 0
  let listener: ((bytes: number, atMs: number) => void) | undefined
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const target = connect(Number(port), hostname)
    sockets.add(client).add(target)
    client.on('data', (chunk: Buffer) => {
      up += chunk.length
      listener?.(chunk.length, performance.now())
    })
    client.pipe(target)
    target.pipe(client)
    const end = () => {
      client.destroy()
      target.destroy()
      sockets.delete(client)
      sockets.delete(target)
    }
    client.on('error', end).on('close', end)
    target.on('error', end).on('close', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('byte meter: no TCP address')
  return {
    url: `http://127.0.0.1:${address.port}`,
    bytesUp: () => up,
    onChunk: (fn) => (listener = fn),
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
