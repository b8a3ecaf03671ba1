import type { Manifest, StripeRecord } from './manifest.js'

/**
 * The port through which the object store keeps manifests durable: a local file per object by
 * default ({@link FileManifestStore}); a Redis implementation drops in for scale-out.
 *
 * Guarantees every implementation gives:
 * - `appendStripes` is atomic: after a crash either all of a batch's stripes are there or none.
 * - Once a call resolves, its change survives a crash of this process.
 * - `update` is conditional: it fails `STORAGE_ERR_CONFLICT` when the stored version differs
 *   from `expectedVersion`, so two writers never silently overwrite each other.
 */
export interface ManifestStore {
  /** The manifest of `id`, or `undefined` when there is none. */
  get(id: string): Promise<Manifest | undefined>
  /** Creates (version 1) or extends a manifest with stripes, atomically; resolves the new version. */
  appendStripes(id: string, stripes: readonly StripeRecord[]): Promise<number>
  /**
   * Replaces the manifest when its version is `expectedVersion` (0 = must not exist); the stored
   * version becomes `expectedVersion + 1`. Rejects `STORAGE_ERR_CONFLICT` otherwise.
   */
  update(id: string, expectedVersion: number, next: Omit<Manifest, 'version'>): Promise<Manifest>
  /** Removes the manifest; idempotent. */
  delete(id: string): Promise<void>
  /** Ids of every stored manifest. */
  list(): AsyncIterable<string>
}
