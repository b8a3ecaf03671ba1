import { randomBytes } from 'node:crypto'
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { KvStore } from '@tus/utils'

const KEY = /^[A-Za-z0-9_-]{1,200}$/

/**
 * @tus/utils' `KvStore` as one JSON file per key, written through a temp file and a rename so a
 * crash leaves the old value or the new one, never half of either (@tus/utils' own FileKvStore
 * writes in place). Keys are single safe path segments; anything else is refused.
 */
export class FileKvStore<T> implements KvStore<T> {
  private constructor(readonly dir: string) {}

  /** Creates the directory when needed. */
  static async open<T>(dir: string): Promise<FileKvStore<T>> {
    await mkdir(dir, { recursive: true })
    return new FileKvStore<T>(dir)
  }

  async get(key: string): Promise<T | undefined> {
    try {
      return JSON.parse(await readFile(this.#path(key), 'utf8')) as T
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
  }

  async set(key: string, value: T): Promise<void> {
    const path = this.#path(key)
    const tmp = join(this.dir, `.tmp-${randomBytes(6).toString('hex')}`)
    try {
      await writeFile(tmp, JSON.stringify(value))
      await rename(tmp, path)
    } catch (err) {
      await rm(tmp, { force: true })
      throw err
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.#path(key), { force: true })
  }

  async list(): Promise<string[]> {
    return (await readdir(this.dir)).filter((n) => n.endsWith('.json') && !n.startsWith('.')).map((n) => n.slice(0, -'.json'.length))
  }

  #path(key: string): string {
    if (!KEY.test(key)) throw new Error(`invalid key ${JSON.stringify(key)}`)
    return join(this.dir, `${key}.json`)
  }
}
