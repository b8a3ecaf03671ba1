/** Stable codes of {@link DurabilityError}. See the package README for what to do about each. */
export type DurabilityErrorCode =
  /** An options field has the wrong type or is out of range (names the option, expected and actual value). */
  | 'DURABILITY_ERR_INVALID_OPTION'
  /** A call argument is out of range or malformed (a task descriptor, a fault, a backend id). */
  | 'DURABILITY_ERR_INVALID_ARGUMENT'
  /** A backend id the monitor or engine does not know. */
  | 'DURABILITY_ERR_UNKNOWN_BACKEND'
  /** The task queue (or engine) is closed: no new work is accepted. */
  | 'DURABILITY_ERR_CLOSED'

/** The one error class of `@tessera/durability`. Callers match on `code`. */
export class DurabilityError extends Error {
  override readonly name = 'DurabilityError'
  constructor(
    readonly code: DurabilityErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** True when `err` is a {@link DurabilityError} with one of `codes` (any code when none given). */
export function isDurabilityError(err: unknown, ...codes: DurabilityErrorCode[]): err is DurabilityError {
  return err instanceof DurabilityError && (codes.length === 0 || codes.includes(err.code))
}

function show(value: unknown): string {
  let text: string
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)
  } catch {
    text = Object.prototype.toString.call(value)
  }
  if (text.length > 80) text = `${text.slice(0, 80)}…`
  return `\`${text}\` (${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value})`
}

/** `DURABILITY_ERR_INVALID_OPTION` in p-queue's words. Internal. */
export function invalidOption(name: string, expected: string, actual: unknown): DurabilityError {
  return new DurabilityError('DURABILITY_ERR_INVALID_OPTION', `Expected \`${name}\` to be ${expected}, got ${show(actual)}`)
}

/** `DURABILITY_ERR_INVALID_ARGUMENT` in the same words. Internal. */
export function invalidArgument(name: string, expected: string, actual: unknown): DurabilityError {
  return new DurabilityError('DURABILITY_ERR_INVALID_ARGUMENT', `Expected \`${name}\` to be ${expected}, got ${show(actual)}`)
}

/** Validates a number option in [min, max] (integer when asked). Internal. */
export function numberOption(name: string, value: unknown, min: number, max = Infinity, integer = false): number {
  const ok = typeof value === 'number' && !Number.isNaN(value) && value >= min && value <= max && (!integer || Number.isInteger(value)) && (Number.isFinite(value) || max === Infinity)
  if (!ok) throw invalidOption(name, `${integer ? 'an integer' : 'a number'} from ${min}${max === Infinity ? ' and up' : ` to ${max}`}`, value)
  return value as number
}
