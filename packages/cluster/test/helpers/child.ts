// A child process running one of test/fixtures/*.ts (through tsx), spoken to in JSON lines:
// `send` writes a command to its stdin, `next` waits for the next message of a kind on its stdout.
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export interface Message {
  readonly event: string
  readonly [field: string]: unknown
}

function matches(m: Message, event: string, id: string | undefined): boolean {
  return m.event === event && (id === undefined || m.id === id)
}

export class Child {
  readonly #messages: Message[] = []
  readonly #waiters: { readonly event: string; readonly id: string | undefined; readonly resolve: (m: Message) => void; readonly reject: (e: Error) => void }[] = []
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  #stderr = ''

  private constructor(readonly process: ChildProcess) {
    createInterface({ input: process.stdout! }).on('line', (line) => {
      let m: Message
      try {
        m = JSON.parse(line) as Message
      } catch {
        return
      }
      const i = this.#waiters.findIndex((w) => matches(m, w.event, w.id))
      if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(m)
      else this.#messages.push(m)
    })
    process.stderr!.on('data', (d: Buffer) => (this.#stderr = (this.#stderr + d.toString()).slice(-4000)))
    this.exited = new Promise((resolve) =>
      process.on('exit', (code, signal) => {
        for (const w of this.#waiters.splice(0)) w.reject(new Error(`child exited (${code ?? signal}) before '${w.event}'; stderr: ${this.#stderr}`))
        resolve({ code, signal })
      }),
    )
  }

  /** Starts `test/fixtures/<name>.ts` with `env` added to this process's environment. */
  static start(name: string, env: Record<string, string>): Child {
    const script = fileURLToPath(new URL(`../fixtures/${name}.ts`, import.meta.url))
    const p = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] })
    return new Child(p)
  }

  send(command: object): void {
    this.process.stdin!.write(`${JSON.stringify(command)}\n`)
  }

  /** The next message `event` (about `id`, when given; one already received counts); rejects if the child exits first. */
  next(event: string, id?: string): Promise<Message> {
    const i = this.#messages.findIndex((m) => matches(m, event, id))
    if (i >= 0) return Promise.resolve(this.#messages.splice(i, 1)[0]!)
    return new Promise((resolve, reject) => this.#waiters.push({ event, id, resolve, reject }))
  }

  /** Messages received and not yet taken by `next`. */
  get unread(): readonly Message[] {
    return this.#messages
  }

  kill(signal: NodeJS.Signals): void {
    this.process.kill(signal)
  }

  /** Ends the child (SIGKILL if it is still running) and waits for it. */
  async stop(): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill('SIGKILL')
    await this.exited
  }
}
