import { randomBytes } from 'node:crypto'
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

const ID_FILE = '.tessera-backend-id'

/**
 * The stable id of a backend directory, kept in the directory itself: manifests name blocks by
 * backend id, so reordering `--backends` moves nothing, and a directory that was wiped and
 * recreated is a new, empty backend (its old blocks are read around and repaired).
 *
 * Gateways that share a directory and start together agree on one id: the id is written to a
 * temporary file and `link`ed into place, which creates the id file whole or fails `EEXIST` (then
 * the other's is read) — an exclusive create followed by a write let a second process read it empty.
 */
export async function backendIdentity(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true })
  const file = join(dir, ID_FILE)
  const existing = await readId(file)
  if (existing !== undefined) return existing
  const id = `fs-${randomBytes(6).toString('hex')}`
  // `~` is outside the block key alphabet: a temporary file a crash leaves behind is never listed as a block.
  const temp = join(dir, `${ID_FILE}~${randomBytes(6).toString('hex')}`)
  await writeFile(temp, id)
  try {
    await link(temp, file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  } finally {
    await rm(temp, { force: true })
  }
  return (await readId(file))!
}

/** The id in `file`, or undefined when there is none yet. */
async function readId(file: string): Promise<string | undefined> {
  try {
    return (await readFile(file, 'utf8')).trim()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    return undefined
  }
}

/**
 * The stable id of an S3 backend: `s3:<bucket>` or `s3:<bucket>/<prefix>`, derived from where the
 * blocks live rather than stored beside them. Gateways that share the buckets (and, scaled out,
 * the manifests) compute the same id with no coordination; an id object in the bucket would need
 * a create-if-absent that S3-compatible servers do not all offer, and two gateways starting at
 * once could each write their own. Reordering `--backends` or changing `--s3-endpoint` (the same
 * buckets behind another URL) moves nothing. A bucket emptied (or deleted and created again)
 * keeps its id: its blocks are missing, so they are read around and regenerated, as those of a
 * wiped directory are. Moving the blocks to a bucket of another name is a migration, not a rename.
 */
export function s3BackendId(bucket: string, prefix: string): string {
  return prefix === '' ? `s3:${bucket}` : `s3:${bucket}/${prefix}`
}
