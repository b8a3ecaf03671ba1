// A server that never answers, for the Redis-unreachable tests. (A relay that cuts or stalls the
// real Redis, and a closed port, are `TcpRelay` and `closedPort` of @tessera/fault-proxy.)
import { createServer, type Socket } from 'node:net'

/** A server that accepts connections and never answers (a hung Redis). */
export async function blackhole(): Promise<{ readonly url: string; readonly close: () => Promise<void> }> {
  const sockets = new Set<Socket>()
  const server = createServer((s) => {
    sockets.add(s)
    s.on('error', () => undefined)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    url: `redis://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
