// `@tessera/cluster/testing`: conformance suites of the tus ports (Locker, KvStore) that the
// gateway's local implementations and this package's Redis ones both run (node:test; import only
// from tests). The ManifestStore and TaskQueue suites live with their ports: `@tessera/storage/testing`
// and `@tessera/durability/testing`.
export { describeKvStore } from './describe-kv-store.js'
export type { KvStoreFixture } from './describe-kv-store.js'
export { describeLocker } from './describe-locker.js'
export type { LockerFixture, SuiteOptions } from './describe-locker.js'
export { REDIS_URL, TestPrefixes, dropKeys, keysUnder, onceRecovered, openConnection, rawClient, redisSkip, uniquePrefix } from './redis-fixture.js'
