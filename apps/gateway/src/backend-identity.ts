import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

const ID_FILE = '.tessera-backend-id'

/**
 * The stable id of a backend directory, kept in the directory itself: manifests name blocks by
 * backend id, so reordering `--backends` moves nothing, and a directory that was wiped and
 * recreated is a new, empty backend (its old blocks are read around and repaired).
 */
export async function backendIdentity(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true })
  const file = join(dir, ID_FILE)
  try {
    return (await readFile(file, 'utf8')).trim()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const id = `fs-${randomBytes(6).toString('hex')}`
  await writeFile(file, id, { flag: 'wx' }).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err
  })
  return (await readFile(file, 'utf8')).trim()
}
