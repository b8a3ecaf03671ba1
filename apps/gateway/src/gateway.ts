import { join } from 'node:path'
import { FileManifestStore, FsBackend, ObjectStore, type Logger } from '@tessera/storage'
import { createApp, type GatewayApp } from './app.js'
import { backendIdentity } from './backend-identity.js'
import type { GatewayConfig } from './config.js'
import { FileKvStore } from './file-kv-store.js'
import { LocalLocker } from './local-locker.js'
import { startExpirySweep } from './expiry-sweep.js'
import { JsonlEventLog } from './reconciliation/event-log.js'
import type { PartitionRecord } from './reconciliation/partition-record.js'
import type { UploadRecord } from './upload-record.js'

/** A gateway wired to its embedded default stores, ready to be served. */
export interface Gateway extends GatewayApp {
  readonly store: ObjectStore
  /** Stops background work (the expiry sweep). */
  readonly close: () => Promise<void>
}

/**
 * Opens the embedded default: one `FsBackend` per backend directory, manifests and upload records
 * as files under `<dataDir>/meta` (reconciliation's partition index under `meta/partitions`),
 * in-process locks, and the reconciliation event log (`config.reconciliationLog`).
 */
export async function createGateway(config: GatewayConfig, log: Logger): Promise<Gateway> {
  const backends = await Promise.all(
    config.backendDirs.map(async (root) => FsBackend.open({ id: await backendIdentity(root), root, fsync: config.fsync })),
  )
  const manifests = await FileManifestStore.open({ dir: join(config.dataDir, 'meta', 'manifests'), fsync: config.fsync })
  const records = await FileKvStore.open<UploadRecord>(join(config.dataDir, 'meta', 'uploads'))
  const partitions = await FileKvStore.open<PartitionRecord>(join(config.dataDir, 'meta', 'partitions'))
  const events = await JsonlEventLog.open(config.reconciliationLog, log)
  const store = await ObjectStore.open({
    backends,
    manifests,
    dataBlocks: config.dataBlocks,
    parityBlocks: config.parityBlocks,
    blockBytes: config.blockBytes,
    logger: log,
  })
  const deps = { config, store, records, partitions, events, locker: new LocalLocker(), log, now: Date.now }
  const app = createApp(deps)
  const sweep = startExpirySweep(app.context)
  return { ...app, store, close: async () => sweep.stop() }
}
