export { FaultProxyError, isFaultProxyError, type FaultProxyErrorCode } from './errors.js'
export { FaultEndpoint, type EndpointStats } from './fault-endpoint.js'
export { FaultProxy, startFaultProxy, type FaultProxyStats } from './fault-proxy.js'
export { TcpRelay, closedPort } from './tcp-relay.js'
export {
  defaultFaults,
  resolveFaultProxyOptions,
  type Amount,
  type BandwidthPhase,
  type Direction,
  type EndpointOptions,
  type FaultProxyOptions,
  type Faults,
  type FaultUnit,
  type Range,
} from './options.js'
export type { FaultEvent, FaultKind } from './proxy-connection.js'
export { parseBytes, parseDurationMs, parseRate, parseSchedule } from './units.js'
