import { randomBytes } from 'node:crypto'
import { readFile, rename, rm, writeFile } from 'node:fs/promises'
import { StorageError } from '../errors.js'

/**
 * When each stripe was last verified end to end (every block read and checked), keyed by object id
 * and stripe index: the order {@link scrub} works in, oldest first.
 *
 * A side table, not a manifest field: recording a verification in the manifest would rewrite the
 * whole manifest file (`update` is a temp file + rename) and bump its version for a purely advisory
 * fact — turning every scrub into write amplification and conflicts with appends and repairs. Losing
 * the ledger is harmless (every stripe counts as never verified and the scrub starts over), so it
 * needs no atomicity with the manifests. In memory by default; `open({ file })` persists it as one
 * JSON file written through a temp file and a rename on `save()`.
 */
export class ScrubLedger {
  readonly #verifiedAt = new Map<string, number>()

  private constructor(readonly file: string | undefined) {}

  /** An empty in-memory ledger. */
  static memory(): ScrubLedger {
    return new ScrubLedger(undefined)
  }

  /** A ledger persisted in `file` (loaded when present; an unreadable file starts empty). */
  static async open(options: { readonly file: string }): Promise<ScrubLedger> {
    const ledger = new ScrubLedger(options.file)
    try {
      const data = JSON.parse(await readFile(options.file, 'utf8')) as Record<string, number>
      for (const [key, at] of Object.entries(data)) if (typeof at === 'number' && Number.isFinite(at)) ledger.#verifiedAt.set(key, at)
    } catch {
      // Missing or torn: everything is "never verified", which is safe.
    }
    return ledger
  }

  /** Ms (caller's clock) at which the stripe was last verified, or `-Infinity` if never. */
  verifiedAt(objectId: string, stripe: number): number {
    return this.#verifiedAt.get(`${objectId}#${stripe}`) ?? -Infinity
  }

  /** Records a verification. */
  record(objectId: string, stripe: number, atMs: number): void {
    this.#verifiedAt.set(`${objectId}#${stripe}`, atMs)
  }

  /** Forgets every stripe of an object (deleted, or rewritten wholesale). */
  forget(objectId: string): void {
    for (const key of this.#verifiedAt.keys()) if (key.startsWith(`${objectId}#`)) this.#verifiedAt.delete(key)
  }

  /** Writes the ledger to its file (no-op in memory). @throws StorageError `STORAGE_ERR_IO`. */
  async save(): Promise<void> {
    if (!this.file) return
    const tmp = `${this.file}.tmp-${randomBytes(6).toString('hex')}`
    try {
      await writeFile(tmp, JSON.stringify(Object.fromEntries(this.#verifiedAt)))
      await rename(tmp, this.file)
    } catch (err) {
      await rm(tmp, { force: true })
      throw new StorageError('STORAGE_ERR_IO', `cannot write scrub ledger ${this.file}`, { cause: err })
    }
  }
}
