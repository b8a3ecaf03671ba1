import type { BlockFault, Logger, ObjectStore } from '@tessera/storage'
import type { InspectableLocker } from '@tessera/cluster'
import type { KvStore } from '@tus/utils'
import type { GatewayConfig } from '../config.js'
import type { GatewayReads } from '../read/gateway-reads.js'
import type { EventSink } from '../reconciliation/event-log.js'
import type { PartitionRecord } from '../reconciliation/partition-record.js'
import type { UploadRecord } from '../upload-record.js'

/** What every handler works with; built once per gateway by `createApp`. */
export interface TusDeps {
  readonly config: GatewayConfig
  readonly store: ObjectStore
  readonly records: KvStore<UploadRecord>
  /** Reconciliation's index: partition id → attempts and winner (docs/reconciliation.md). */
  readonly partitions: KvStore<PartitionRecord>
  /** Where reconciliation events go (the JSON-lines log). */
  readonly events: EventSink
  readonly locker: InspectableLocker
  readonly log: Logger
  /** Current time, ms since the epoch (injectable for expiration tests). */
  readonly now: () => number
  /**
   * Told of every block a read had to read around (missing, unreadable, corrupt): the durability
   * engine's input. Passed to every `store.read` the gateway makes. Default: nobody is told.
   */
  readonly onFault?: (fault: BlockFault) => void
  /** The read path's echoes and prefetcher, which GETs feed (docs/read-path.md). Default: plain reads of the store. */
  readonly reads?: GatewayReads
}
