import { StorageError } from './errors.js'

/**
 * `STORAGE_ERR_INVALID_ARGUMENT` in p-queue's words:
 * ``Expected `latencyMs` to be a number from 0 and up, got `-1` (number)``.
 */
export function invalidOption(name: string, expected: string, actual: unknown): StorageError {
  return new StorageError('STORAGE_ERR_INVALID_ARGUMENT', `Expected \`${name}\` to be ${expected}, got \`${show(actual)}\` (${kind(actual)})`)
}

/** `value` when it is an integer from `min` to `max`; otherwise {@link invalidOption} naming the range. */
export function integerOption(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidOption(name, max === Number.MAX_SAFE_INTEGER ? `an integer from ${min} and up` : `an integer from ${min} to ${max}`, value)
  }
  return value
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
