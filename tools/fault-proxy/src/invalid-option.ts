import { FaultProxyError } from './errors.js'

/**
 * `FAULT_PROXY_ERR_INVALID_OPTION` in p-queue's words:
 * ``Expected `stallRate` to be a number from 0 to 1, got `2` (number)``.
 */
export function invalidOption(name: string, expected: string, actual: unknown): FaultProxyError {
  return new FaultProxyError('FAULT_PROXY_ERR_INVALID_OPTION', `Expected \`${name}\` to be ${expected}, got \`${show(actual)}\` (${kind(actual)})`)
}

const MAX_SHOWN = 80

function show(value: unknown): string {
  const text = render(value)
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text
}

function render(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value)
    } catch {
      return Object.prototype.toString.call(value)
    }
  }
  return String(value)
}

function kind(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  return typeof value
}
