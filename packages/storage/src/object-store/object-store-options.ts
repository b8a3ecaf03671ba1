import type { Backend } from '../backend.js'
import { StorageError } from '../errors.js'
import { integerOption, invalidOption } from '../invalid-option.js'
import { silentLogger, type Logger } from '../logger.js'
import type { EchoCache } from '../read/echo-cache.js'
import type { FileEchoMap } from '../read/echo-map.js'
import { resolveHedgeOptions, type HedgeOptions } from '../read/hedge-options.js'
import type { ManifestStore } from './manifest-store.js'
import type { BlockRead } from './stripe-reader.js'

/** Options of {@link ObjectStore.open}. */
export interface ObjectStoreOptions {
  /** Where blocks go; at least `dataBlocks + parityBlocks`, with distinct ids. */
  readonly backends: readonly Backend[]
  /** Where manifests go. */
  readonly manifests: ManifestStore
  /** Data blocks per stripe (k). Default 4. */
  readonly dataBlocks?: number
  /** Parity blocks per stripe (m): any m blocks of a stripe may be lost. Default 2. */
  readonly parityBlocks?: number
  /** Size of each block of a full stripe, bytes; a multiple of 64. Default 1 MiB: fewer, larger block files (one file per block on `FsBackend`). */
  readonly blockBytes?: number
  /**
   * Blocks of a stripe that must be stored before it is acknowledged. Default
   * `dataBlocks + min(1, parityBlocks)`: a dead backend does not stop uploads, and a stripe is
   * never acknowledged without a spare block. Blocks that could not be stored are recorded as
   * missing for repair.
   */
  readonly writeQuorum?: number
  /** Deadline of one block read or write, ms: a stalled backend counts as failed after it. Default 15000. */
  readonly blockTimeoutMs?: number
  /** Stripes of one append being stored concurrently (memory per append ≈ depth × (k+m) × blockBytes: 24 MiB at the defaults). Default 4. */
  readonly pipelineDepth?: number
  /**
   * Stripes a read loads ahead of the one it hands out (memory per read ≈ (this + 1) × k × blockBytes:
   * 16 MiB at the defaults). 1 → 3 took a cold 128 MiB GET from 248 to 391 MB/s (medians of 6,
   * interleaved, docs/read-path.md). Default 3.
   */
  readonly readAheadStripes?: number
  /** Structural pino-style logger; default silent. */
  readonly logger?: Logger
  /** How reads rank backends and hedge late blocks (docs/read-path.md); `{ enabled: false }` for plain reads. Default on. */
  readonly hedge?: HedgeOptions
  /** Verified data blocks kept in memory (docs/read-path.md): reads use and fill it, deletes drop an object's blocks from it. Default none. */
  readonly echoes?: EchoCache
  /**
   * Echo copies on other backends (needs `echoes`): `copies` per block that became hot, recorded
   * in `map` (persisted; purging an object drops its entries and its copies). Default none.
   */
  readonly echoCopies?: { readonly map: FileEchoMap; readonly copies: number }
  /**
   * Told of every block read a stripe read starts on a backend (not echo hits): what a heat map
   * of the blocks that load each backend is built from (the gateway's rebalancing). Called on the
   * read path: keep it cheap, never throw. Default none.
   */
  readonly onBlockRead?: (read: BlockRead) => void
}

export type ResolvedObjectStoreOptions = Required<Omit<ObjectStoreOptions, 'echoes' | 'echoCopies' | 'onBlockRead'>> & Pick<ObjectStoreOptions, 'echoes' | 'echoCopies' | 'onBlockRead'>

export const defaultObjectStoreOptions = Object.freeze({
  dataBlocks: 4,
  parityBlocks: 2,
  blockBytes: 1024 * 1024,
  blockTimeoutMs: 15_000,
  pipelineDepth: 4,
  readAheadStripes: 3,
})


/** Validates options and fills defaults; never mutates `options`. */
export function resolveObjectStoreOptions(options: ObjectStoreOptions): ResolvedObjectStoreOptions {
  const dataBlocks = integerOption('dataBlocks', options.dataBlocks ?? defaultObjectStoreOptions.dataBlocks, 1, 128)
  const parityBlocks = integerOption('parityBlocks', options.parityBlocks ?? defaultObjectStoreOptions.parityBlocks, 0, 128)
  const width = dataBlocks + parityBlocks
  const blockBytes = integerOption('blockBytes', options.blockBytes ?? defaultObjectStoreOptions.blockBytes, 64, 64 * 1024 * 1024)
  if (blockBytes % 64 !== 0) {
    throw invalidOption('blockBytes', 'a multiple of 64', blockBytes)
  }
  const backends = options.backends
  if (!Array.isArray(backends) || backends.length < width) {
    throw invalidOption('backends', `an array of at least dataBlocks + parityBlocks = ${width} backends`, Array.isArray(backends) ? `${backends.length} backends` : backends)
  }
  if (options.onBlockRead !== undefined && typeof options.onBlockRead !== 'function') throw invalidOption('onBlockRead', 'a function', options.onBlockRead)
  const ids = new Set(backends.map((b) => b.id))
  if (ids.size !== backends.length) {
    throw new StorageError('STORAGE_ERR_INVALID_ARGUMENT', `Expected \`backends\` to have distinct ids, got ${backends.map((b) => b.id).join(', ')}`)
  }
  return {
    backends,
    manifests: options.manifests,
    dataBlocks,
    parityBlocks,
    blockBytes,
    writeQuorum: integerOption('writeQuorum', options.writeQuorum ?? dataBlocks + Math.min(1, parityBlocks), dataBlocks, width),
    blockTimeoutMs: integerOption('blockTimeoutMs', options.blockTimeoutMs ?? defaultObjectStoreOptions.blockTimeoutMs, 1),
    pipelineDepth: integerOption('pipelineDepth', options.pipelineDepth ?? defaultObjectStoreOptions.pipelineDepth, 1, 64),
    readAheadStripes: integerOption('readAheadStripes', options.readAheadStripes ?? defaultObjectStoreOptions.readAheadStripes, 1, 16),
    logger: options.logger ?? silentLogger,
    hedge: resolveHedgeOptions(options.hedge),
    ...(options.echoes && { echoes: options.echoes }),
    ...(options.onBlockRead && { onBlockRead: options.onBlockRead }),
    ...(options.echoCopies && { echoCopies: { map: options.echoCopies.map, copies: integerOption('echoCopies.copies', options.echoCopies.copies, 1, 16) } }),
  }
}
