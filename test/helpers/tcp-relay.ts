import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net'

/**
 * A TCP relay on 127.0.0.1 in front of a real server, to take that server away from one client
 * without disturbing anyone else's use of it: `cut()` closes every relayed connection and stops
 * listening (to the client, a stopped server: connections refused), `restore()` listens again on
 * the same port.
 */
export class TcpRelay {
  readonly #sockets = new Set<Socket>()
  #server: Server | undefined

  private constructor(
    readonly port: number,
    private readonly target: URL,
  ) {}

  /** Starts relaying to `target` (an http: URL) on a free port. */
  static async start(target: string): Promise<TcpRelay> {
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const port = (probe.address() as AddressInfo).port
    await new Promise<void>((resolve) => probe.close(() => resolve()))
    const relay = new TcpRelay(port, new URL(target))
    await relay.restore()
    return relay
  }

  /** The relay's address as an http: URL (what a client is pointed at). */
  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  /** Listens again (no-op while listening). */
  async restore(): Promise<void> {
    if (this.#server) return
    const server = createServer((client) => this.#relay(client))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => resolve())
    })
    this.#server = server
  }

  /** Drops every connection and stops listening (no-op when cut). */
  async cut(): Promise<void> {
    const server = this.#server
    if (!server) return
    this.#server = undefined
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    for (const socket of this.#sockets) socket.destroy()
    await closed
  }

  #relay(client: Socket): void {
    const upstream = connect(Number(this.target.port), this.target.hostname)
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket)
      socket.on('close', () => this.#sockets.delete(socket))
      socket.on('error', () => {})
    }
    client.pipe(upstream)
    upstream.pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  }
}
