// A TCP relay in front of Redis that a test can cut (every connection reset, new ones refused at
// once) and restore: a network partition between one gateway and Redis, with the real server.
import { createServer, connect, type Server, type Socket } from 'node:net'

export class TcpProxy {
  readonly #sockets = new Set<Socket>()
  readonly #pairs = new Set<readonly [Socket, Socket]>()
  #cut = false
  #stalled = false

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Listens on 127.0.0.1, port 0, relaying to `host:port`. */
  static async start(host: string, port: number): Promise<TcpProxy> {
    let proxy!: TcpProxy
    const server = createServer((client) => {
      if (proxy.#cut) return void client.destroy()
      const upstream = connect(port, host)
      for (const s of [client, upstream]) {
        proxy.#sockets.add(s)
        s.on('close', () => proxy.#sockets.delete(s))
        s.on('error', () => undefined)
      }
      const pair = [client, upstream] as const
      proxy.#pairs.add(pair)
      if (!proxy.#stalled) client.pipe(upstream)
      upstream.pipe(client)
      client.on('close', () => (proxy.#pairs.delete(pair), upstream.destroy()))
      upstream.on('close', () => client.destroy())
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    proxy = new TcpProxy(server, (server.address() as { port: number }).port)
    return proxy
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** Resets every relayed connection and refuses new ones until {@link restore}. */
  cut(): void {
    this.#cut = true
    for (const s of this.#sockets) s.destroy()
  }

  restore(): void {
    this.#cut = false
  }

  /** Holds every request back (connections stay open, nothing is answered) until {@link unstall}: a hung server. */
  stall(): void {
    this.#stalled = true
    for (const [client, upstream] of this.#pairs) {
      client.unpipe(upstream)
      client.pause()
    }
  }

  /** Lets the held requests through, in order. */
  unstall(): void {
    this.#stalled = false
    for (const [client, upstream] of this.#pairs) client.pipe(upstream)
  }

  async close(): Promise<void> {
    this.cut()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

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

/** A port on which nothing listens (bound then released). */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
