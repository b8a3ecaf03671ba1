import { StorageError } from '../errors.js'

const OBJECT_ID = /^[A-Za-z0-9_-]{1,200}$/

/**
 * Object ids are single key segments (`[A-Za-z0-9_-]`, 1–200 chars) so they can prefix block keys
 * and name manifest files without ever being read as a path.
 * @throws StorageError `STORAGE_ERR_INVALID_KEY`
 */
export function assertObjectId(id: string): void {
  if (!OBJECT_ID.test(id)) {
    throw new StorageError('STORAGE_ERR_INVALID_KEY', `object id must match ${OBJECT_ID}, got ${JSON.stringify(id)}`)
  }
}
