// `@tessera/storage/testing`: the port conformance suites other packages run against their own
// implementations (node:test; import only from tests).
export { describeManifestStore, stripeRecord } from './describe-manifest-store.js'
export type { ManifestStoreFixture, ManifestStoreSuiteOptions } from './describe-manifest-store.js'
export { TestBuckets, describeS3, s3Flags } from './s3-fixture.js'
export type { S3TestEnv } from './s3-fixture.js'
