import { join } from 'node:path'
import { FileManifestStore, ObjectStore, type Backend, type Logger } from '@tessera/storage'
import { createApp, type GatewayApp } from './app.js'
import { type ClusterState, openClusterState } from './cluster-state.js'
import type { GatewayConfig } from './config.js'
import { FileKvStore } from './file-kv-store.js'
import { GatewayDurability } from './gateway-durability.js'
import { LocalLocker } from './local-locker.js'
import { RedisReachability } from './readiness.js'
import { openBackends } from './open-backends.js'
import { GatewayReads } from './read/gateway-reads.js'
import { startExpirySweep } from './expiry-sweep.js'
import { JsonlEventLog } from './reconciliation/event-log.js'
import type { PartitionRecord } from './reconciliation/partition-record.js'
import type { UploadRecord } from './upload-record.js'

/** A gateway wired to its embedded default stores, ready to be served. */
export interface Gateway extends GatewayApp {
  readonly store: ObjectStore
  /** Health, risk and background repair of the store; `start()` it once listening (`main.ts` does). */
  readonly durability: GatewayDurability
  /**
   * Stops background work (the expiry sweep, the durability engine — running tasks finish — and
   * with it the task queue), frees this gateway's Redis leases and closes its Redis connections
   * (scale-out), then closes the S3 backends' connections. Call it once requests have stopped.
   */
  readonly close: () => Promise<void>
}

/** What an embedder may add to {@link createGateway}. */
export interface GatewayOptions {
  /** Wraps the opened backends before the store and the health monitor use them (benches: a `FaultyBackend` that slows one down). */
  readonly wrapBackends?: (opened: readonly Backend[]) => readonly Backend[]
}

/**
 * Opens the embedded default: every configured backend at once (an `FsBackend` per directory, an
 * `S3Backend` per bucket; see {@link openBackends}), manifests and upload records
 * as files under `<dataDir>/meta` (reconciliation's partition index under `meta/partitions`),
 * in-process locks, and the reconciliation event log (`config.reconciliationLog`). With
 * `config.redis` (scale-out) locks, upload records, the partition index, manifests and the
 * durability queue are the cluster's, on Redis ({@link openClusterState}), instead. Every backend is
 * wrapped by the durability health monitor, and every read the gateway makes reports the blocks it
 * had to read around to the durability engine (which is built here but does nothing until started).
 *
 * @throws GatewayError `GATEWAY_ERR_BACKEND_UNAVAILABLE` when a backend (or the cluster's Redis) cannot be opened.
 */
export async function createGateway(config: GatewayConfig, log: Logger, options: GatewayOptions = {}): Promise<Gateway> {
  const opened = await openBackends(config)
  let cluster: ClusterState | undefined
  try {
    cluster = config.redis && (await openClusterState(config.redis, config.durability, log))
    return await assemble(config, log, options.wrapBackends?.(opened.backends) ?? opened.backends, cluster, opened.close)
  } catch (err) {
    await cluster?.close()
    opened.close()
    throw err
  }
}

async function assemble(config: GatewayConfig, log: Logger, raw: readonly Backend[], cluster: ClusterState | undefined, closeBackends: () => void): Promise<Gateway> {
  const durability = await GatewayDurability.open(config.durability, raw, log, cluster?.queue)
  const manifests = cluster?.manifests ?? (await FileManifestStore.open({ dir: join(config.dataDir, 'meta', 'manifests'), fsync: config.fsync }))
  const records = cluster?.records ?? (await FileKvStore.open<UploadRecord>(join(config.dataDir, 'meta', 'uploads')))
  const partitions = cluster?.partitions ?? (await FileKvStore.open<PartitionRecord>(join(config.dataDir, 'meta', 'partitions')))
  const events = await JsonlEventLog.open(config.reconciliationLog, log)
  const reads = await GatewayReads.open(config, log)
  const store = await ObjectStore.open({
    backends: durability.backends,
    manifests,
    dataBlocks: config.dataBlocks,
    parityBlocks: config.parityBlocks,
    blockBytes: config.blockBytes,
    logger: log,
    ...reads.storeOptions(),
  })
  durability.attach(store)
  reads.attach(store, durability)
  reads.start()
  const deps = { config, store, records, partitions, events, locker: cluster?.locker ?? new LocalLocker(), log, now: Date.now, onFault: durability.onFault, reads }
  const app = createApp(deps, { durability, ...(cluster && { redis: new RedisReachability(cluster.ping, log) }) })
  const sweep = startExpirySweep(app.context)
  return {
    ...app,
    store,
    durability,
    close: async () => {
      sweep.stop()
      await reads.stop()
      await durability.stop()
      await cluster?.close()
      closeBackends()
    },
  }
}
