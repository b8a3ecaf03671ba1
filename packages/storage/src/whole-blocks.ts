import type { Backend } from './backend.js'

/**
 * `inner` without its segment capability: every block is stored whole, as on an S3-like store, so a
 * repair deletes exactly what it replaces and a corruption hits one block. For simulations and
 * tests of object-store backends; the gateway uses its backends as they are.
 */
export function wholeBlocksOnly(inner: Backend): Backend {
  return {
    id: inner.id,
    put: (k, b, o) => inner.put(k, b, o),
    get: (k, o) => inner.get(k, o),
    read: (k, o) => inner.read(k, o),
    delete: (k, o) => inner.delete(k, o),
    stat: (k, o) => inner.stat(k, o),
    list: (p, o) => inner.list(p, o),
    capacity: (o) => inner.capacity(o),
  }
}
