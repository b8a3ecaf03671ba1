import type { Locker } from '@tus/utils'

/**
 * A tus `Locker` that can also tell whether an id's lock is held by anyone now — by any process
 * sharing it, for a cluster's locker. An upload's expiry asks it: an upload a request is writing to
 * (a PATCH longer than `--expire-after`) must not be expired by another gateway, nor by a request
 * of this one that does not hold the lock. A dead holder's lock counts as held until its lease lapses.
 */
export interface InspectableLocker extends Locker {
  isLocked(id: string): Promise<boolean>
}
