import { createServer, connect, type Server, type Socket } from 'node:net'

/**
 * A plain TCP relay on 127.0.0.1 in front of a real server (Redis, radosgw, a gateway), to take
 * that server away from one client without touching anyone else's use of it: `cut()` resets every
 * relayed connection and stops listening (a stopped server: connections refused), `restore()`
 * listens again on the same port, `stall()` holds every byte back with the connections open (a hung
 * server) until `unstall()`. Protocol-blind, unlike {@link FaultProxy}, which frames HTTP requests.
 */
const DEFAULT_PORTS: Record<string, number> = { 'redis:': 6379, 'http:': 80, 'https:': 443 }

export class TcpRelay {
  readonly #pairs = new Set<readonly [client: Socket, upstream: Socket]>()
  #server: Server | undefined
  #stalled = false

  private constructor(
    /** The port the relay listens on (kept across `cut()` and `restore()`). */
    readonly port: number,
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** Relays to the host and port of `target` (`redis://…`, `http://…`; the scheme's port when none) from a free port of 127.0.0.1. */
  static async start(target: string): Promise<TcpRelay> {
    const url = new URL(target)
    const port = Number(url.port || DEFAULT_PORTS[url.protocol])
    if (!Number.isInteger(port) || port <= 0) throw new Error(`TcpRelay: no port in ${target}`)
    const relay = new TcpRelay(await closedPort(), url.hostname, port)
    await relay.restore()
    return relay
  }

  /** `scheme://127.0.0.1:<port>` — what a client is pointed at (`redis`, `http`). */
  url(scheme: string): string {
    return `${scheme}://127.0.0.1:${this.port}`
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

  /** Resets every relayed connection and stops listening (no-op when cut). */
  async cut(): Promise<void> {
    const server = this.#server
    if (!server) return
    this.#server = undefined
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    for (const [client, upstream] of this.#pairs) {
      client.destroy()
      upstream.destroy()
    }
    await closed
  }

  /** Forwards nothing more, either way, until {@link unstall}; connections stay open, new ones are accepted and held. */
  stall(): void {
    this.#stalled = true
    for (const pair of this.#pairs) hold(pair)
  }

  /** Lets the held bytes through, in order. */
  unstall(): void {
    this.#stalled = false
    for (const pair of this.#pairs) flow(pair)
  }

  /** Cuts for good. */
  close(): Promise<void> {
    return this.cut()
  }

  #relay(client: Socket): void {
    const upstream = connect(this.targetPort, this.targetHost)
    const pair = [client, upstream] as const
    this.#pairs.add(pair)
    for (const socket of pair) socket.on('error', () => undefined)
    client.on('close', () => {
      this.#pairs.delete(pair)
      upstream.destroy()
    })
    upstream.on('close', () => client.destroy())
    if (this.#stalled) hold(pair)
    else flow(pair)
  }
}

function flow([client, upstream]: readonly [Socket, Socket]): void {
  client.pipe(upstream)
  upstream.pipe(client)
}

function hold([client, upstream]: readonly [Socket, Socket]): void {
  client.unpipe(upstream)
  upstream.unpipe(client)
  client.pause()
  upstream.pause()
}

/** A port of 127.0.0.1 that nothing listens on (bound, then released): connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const port = (probe.address() as { port: number }).port
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  return port
}
