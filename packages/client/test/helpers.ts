// Test helpers: a real gateway child process, temp dirs, deterministic bytes, SHA-256.
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { partitionListBytes } from '@tessera/protocol'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..')

export interface Gateway {
  /** Creation URL, e.g. http://127.0.0.1:1234/files */
  readonly url: string
  readonly port: number
  stop(): Promise<void>
}

/** Starts `apps/gateway/dist/main.js` on port 0 with a fresh data dir. */
export async function startGateway(extraArgs: readonly string[] = []): Promise<Gateway> {
  const data = await mkdtemp(join(tmpdir(), 'tessera-client-gw-'))
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'apps/gateway/dist/main.js'), '--port', '0', '--data', data, '--log-level', 'warn', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`gateway did not start: ${out}`)), 15_000)
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /listening: (http:\/\/\S+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    })
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}: ${out}`)))
  })
  child.stdout!.resume()
  return {
    url,
    port: Number(new URL(url).port),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGTERM')
        await exited
      }
      await rm(data, { recursive: true, force: true })
    },
  }
}

/** A temp dir removed by the returned function. */
export async function tempDir(prefix = 'tessera-client-'): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) }
}

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
export function bytes(size: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(size)
  let x = seed >>> 0 || 1
  let i = 0
  for (; i + 4 <= size; i += 4) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out.writeUInt32LE(x >>> 0, i)
  }
  for (; i < size; i++) out[i] = i & 0xff
  return out
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

/** The partition-list digest (hex) of `data` cut into `partitions` (given in file order). */
export function partitionsDigest(data: Uint8Array, partitions: readonly { offset: number; length: number }[]): string {
  const parts = partitions.map((p) => ({ ...p, sha256: createHash('sha256').update(data.subarray(p.offset, p.offset + p.length)).digest() }))
  return createHash('sha256').update(partitionListBytes(parts)).digest('hex')
}

/** Downloads an upload through the gateway's GET (with `headers`, e.g. a token) and returns its SHA-256 and size. */
export async function download(url: string, headers: Record<string, string> = {}): Promise<{ sha256: string; size: number }> {
  const res = await fetch(url, { headers })
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}`)
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    hash.update(chunk)
    size += chunk.length
  }
  return { sha256: hash.digest('hex'), size }
}
