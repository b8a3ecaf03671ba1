import { BullTaskQueue, RedisConnection, RedisKvStore, RedisLocker, RedisManifestStore, isClusterError } from '@tessera/cluster'
import type { TaskQueue } from '@tessera/durability'
import type { Logger, ManifestStore } from '@tessera/storage'
import type { KvStore } from '@tus/utils'
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
  readonly locker: RedisLocker
  /** Upload records, fenced by the upload's lock. */
  readonly records: KvStore<UploadRecord>
  /** Reconciliation's partition index, fenced by the partition's lock. */
  readonly partitions: KvStore<PartitionRecord>
  /** The object store's manifests, fenced by the upload's lock. */
  readonly manifests: ManifestStore
  /** The durability engine's queue: one BullMQ queue for the cluster. The engine closes it when it stops. */
  readonly queue: TaskQueue
  /** Resolves when Redis answers a `PING` on the command connection (within its command timeout), rejects otherwise: readiness. */
  readonly ping: () => Promise<void>
  /**
   * Once requests have stopped: closes the queue (normally already closed by the engine's
   * `stop()`; waiting tasks stay for the other gateways), frees this gateway's leases at once
   * (peers need not wait a lease), then closes the Redis connections. Idempotent.
   */
  readonly close: () => Promise<void>
}

/**
 * Connects to the cluster's Redis and opens the shared stores on it. Budgets and timing of the queue
 * are cluster-wide: every gateway of a cluster must be given the same `--repair-rate`,
 * `--repair-lease` and `--repair-stalled-check`.
 *
 * @throws GatewayError `GATEWAY_ERR_BACKEND_UNAVAILABLE` when Redis cannot be reached within 2 s,
 *   or fails while the stores open (not retried: like an unreachable backend, the supervisor's
 *   restart is the retry). Whatever was opened by then is closed.
 */
export async function openClusterState(redis: RedisConfig, durability: DurabilityConfig, log: Logger): Promise<ClusterState> {
  // What is open, in opening order; closed in reverse (queue, locker, then the connection under them).
  const opened: { close(): Promise<void> }[] = []
  const closeAll = async (): Promise<void> => {
    for (const part of opened.splice(0).reverse()) await part.close()
  }
  try {
    const connection = await RedisConnection.open({ url: redis.url, keyPrefix: redis.keyPrefix, clientName: 'tessera-gateway', logger: log })
    opened.push(connection)
    const locker = await RedisLocker.open({ connection, logger: log })
    opened.push(locker)
    const records = await RedisKvStore.open<UploadRecord>({ connection, namespace: 'uploads', fencing: locker })
    const partitions = await RedisKvStore.open<PartitionRecord>({ connection, namespace: 'partitions', fencing: locker })
    const manifests = await RedisManifestStore.open({ connection, fencing: locker })
    const queue = await BullTaskQueue.open({
      connection,
      concurrency: durability.repairConcurrency,
      bytesPerSecond: durability.repairBytesPerSecond,
      lockDurationMs: redis.repairLeaseMs,
      stalledIntervalMs: redis.repairStalledCheckMs,
      logger: log,
    })
    opened.push(queue)
    // `--durability none` repairs nothing, and in a cluster also runs none of the tasks the other
    // gateways queue (its own explicit scrubs run on them): its worker never starts.
    if (durability.policy === 'none') queue.pause()
    let closing: Promise<void> | undefined
    const ping = async (): Promise<void> => {
      await connection.client.ping()
    }
    return { locker, records, partitions, manifests, queue, ping, close: () => (closing ??= closeAll()) }
  } catch (err) {
    await closeAll()
    if (!isClusterError(err, 'CLUSTER_ERR_UNAVAILABLE')) throw err
    throw new GatewayError('GATEWAY_ERR_BACKEND_UNAVAILABLE', `the cluster's Redis cannot be reached: ${err.message}`, { cause: err })
  }
}
