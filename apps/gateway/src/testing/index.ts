// `@tessera/gateway/testing`: what tests of the gateway (its own, in process, and the cross-process
// ones in test/) share. Import only from tests.
export { fsMedium, s3Medium } from './backend-media.js'
export type { BackendMedium, FsMedium, StoredBlockRef } from './backend-media.js'
