import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { StateStore } from '../ports.js'

/** The state directory: `TESSERA_STATE_DIR`, else `~/.tessera`. */
export function defaultStateDir(env: Record<string, string | undefined> = process.env): string {
  return env['TESSERA_STATE_DIR'] || join(homedir(), '.tessera')
}

/**
 * Resume state as one JSON file per upload (`<dir>/<key>.json`), replaced atomically: written to a
 * temporary file in the same directory, then renamed over the old one. A crash leaves the old or
 * the new document, never a torn one (a stray `*.tmp` at worst). No fsync: losing the last write
 * in a power cut only means HEAD finds the offset instead of the file.
 */
export class FileStateStore implements StateStore {
  constructor(readonly dir: string = defaultStateDir()) {}

  async get(key: string): Promise<unknown | undefined> {
    let text: string
    try {
      text = await readFile(this.#path(key), 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
    try {
      return JSON.parse(text) as unknown
    } catch {
      return undefined // not ours or damaged by hand: start over
    }
  }

  async set(key: string, value: unknown): Promise<void> {
    await mkdir(this.dir, { recursive: true })
    const tmp = `${this.#path(key)}.${randomBytes(6).toString('hex')}.tmp`
    await writeFile(tmp, JSON.stringify(value))
    try {
      await rename(tmp, this.#path(key))
    } catch (err) {
      await rm(tmp, { force: true })
      throw err
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.#path(key), { force: true })
  }

  #path(key: string): string {
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(key)) throw new Error(`state key ${JSON.stringify(key)} is not a safe file name`)
    return join(this.dir, `${key}.json`)
  }
}
