// The gateway is an app: its public surface is the process (main.ts) and createApp/createGateway for tests and embedding.
export { createApp } from './app.js'
export type { GatewayApp } from './app.js'
export { createGateway } from './gateway.js'
export type { Gateway } from './gateway.js'
export { loadConfig, usage } from './config.js'
export type { GatewayConfig } from './config.js'
export { GatewayError } from './errors.js'
export type { GatewayErrorCode } from './errors.js'
