// `@tessera/durability/testing`: the port conformance suites other packages run against their own
// implementations (node:test; import only from tests).
export { describeTaskQueue } from './describe-task-queue.js'
export type { TaskQueueFixture, TaskQueueSuiteOptions, TaskQueueSuiteRunOptions } from './describe-task-queue.js'
