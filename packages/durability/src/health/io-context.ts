import { AsyncLocalStorage } from 'node:async_hooks'

/** Who a backend operation runs for: foreground traffic, or a kind of background work. */
export type IoPurpose = 'foreground' | 'probe' | 'scrub' | 'regenerate' | 'migrate' | 'add-parity' | 'drop-parity' | 'rebalance'

const purpose = new AsyncLocalStorage<IoPurpose>()

/**
 * Runs `fn` with every backend operation it starts (through a monitored backend) counted as
 * `kind`: how the engine tells repair bytes from upload bytes without touching the primitives.
 */
export function runAs<T>(kind: IoPurpose, fn: () => Promise<T>): Promise<T> {
  return purpose.run(kind, fn)
}

/** The purpose of the operation running now (`foreground` outside {@link runAs}). */
export function currentPurpose(): IoPurpose {
  return purpose.getStore() ?? 'foreground'
}
