import { BullTaskQueue, RedisConnection, RedisKvStore, RedisLocker, RedisManifestStore, isClusterError } from '@tessera/cluster'
import type { TaskQueue } from '@tessera/durability'
import type { Logger, ManifestStore } from '@tessera/storage'
import type { KvStore, Locker } from '@tus/utils'
import type { DurabilityConfig, RedisConfig } from './config.js'
import { GatewayError } from './errors.js'
import type { PartitionRecord } from './reconciliation/partition-record.js'
import type { UploadRecord } from './upload-record.js'

/**
 * What gateways of one cluster share through Redis instead of keeping in their own memory and
 * files (docs/scale-out.md, "How the gateway wires it").
 */
export interface ClusterState {
  /** Per-upload locks with leases and fencing; release on request across gateways. */
  readonly locker: Locker
  /** Upload records, fenced by the upload's lock. */
  readonly records: KvStore<UploadRecord>
  /** Reconciliation's partition index, fenced by the partition's lock. */
  readonly partitions: KvStore<PartitionRecord>
  /** The object store's manifests, fenced by the upload's lock. */
  readonly manifests: ManifestStore
  /** The durability engine's queue: one BullMQ queue for the cluster. The engine closes it when it stops. */
  readonly queue: TaskQueue
  /**
   * Once requests have stopped: closes the queue (normally already closed by the engine's
   * `stop()`; waiting tasks stay for the other gateways), frees this gateway's leases at once
   * (peers need not wait a lease), then closes the Redis connections. Idempotent.
   */
  readonly close: () => Promise<void>
}

/**
 * Connects to the cluster's Redis and opens the shared stores on it. Budgets of the queue are
 * cluster-wide: every gateway of a cluster must be given the same `--repair-rate`.
 *
 * @throws GatewayError `GATEWAY_ERR_BACKEND_UNAVAILABLE` when Redis cannot be reached within 2 s
 *   (not retried: like an unreachable backend, the supervisor's restart is the retry).
 */
export async function openClusterState(redis: RedisConfig, durability: DurabilityConfig, log: Logger): Promise<ClusterState> {
  let connection: RedisConnection
  try {
    connection = await RedisConnection.open({ url: redis.url, keyPrefix: redis.keyPrefix, clientName: 'tessera-gateway', logger: log })
  } catch (err) {
    if (!isClusterError(err, 'CLUSTER_ERR_UNAVAILABLE')) throw err
    throw new GatewayError('GATEWAY_ERR_BACKEND_UNAVAILABLE', `the cluster's Redis cannot be reached: ${err.message}`, { cause: err })
  }
  let locker: RedisLocker | undefined
  let queue: BullTaskQueue | undefined
  try {
    locker = await RedisLocker.open({ connection, logger: log })
    const records = await RedisKvStore.open<UploadRecord>({ connection, namespace: 'uploads', fencing: locker })
    const partitions = await RedisKvStore.open<PartitionRecord>({ connection, namespace: 'partitions', fencing: locker })
    const manifests = await RedisManifestStore.open({ connection, fencing: locker })
    queue = await BullTaskQueue.open({ connection, concurrency: durability.repairConcurrency, bytesPerSecond: durability.repairBytesPerSecond, logger: log })
    const [openedQueue, openedLocker] = [queue, locker]
    let closing: Promise<void> | undefined
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        await openedQueue.close()
        await openedLocker.close()
        await connection.close()
      })())
    return { locker, records, partitions, manifests, queue, close }
  } catch (err) {
    await queue?.close()
    await locker?.close()
    await connection.close()
    if (isClusterError(err, 'CLUSTER_ERR_UNAVAILABLE')) throw new GatewayError('GATEWAY_ERR_BACKEND_UNAVAILABLE', `the cluster's Redis cannot be used: ${err.message}`, { cause: err })
    throw err
  }
}
