export { StorageError, isStorageError } from './errors.js'
export type { StorageErrorCode } from './errors.js'
export { BLOCK_KEY_PATTERN } from './backend.js'
export type { Backend, BackendCallOptions, BackendCapacity, BlockBody, BlockStat } from './backend.js'
