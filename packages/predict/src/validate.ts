// Internal: range checks that throw PredictError with p-queue style messages. Not exported from the package.
import { PredictError, type PredictErrorCode } from './errors.js'

function show(value: unknown): string {
  let text: string
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : String(value)
  } catch {
    text = Object.prototype.toString.call(value)
  }
  return `\`${text}\` (${value === null ? 'null' : typeof value})`
}

/** Range of an accepted number; bounds are inclusive unless `*Exclusive`. */
export interface NumberRange {
  min?: number
  max?: number
  minExclusive?: boolean
  maxExclusive?: boolean
  /** Allow `Infinity` (only meaningful without `max`). */
  infinite?: boolean
}

function describe(range: NumberRange): string {
  const parts: string[] = []
  if (range.min !== undefined) parts.push(`${range.minExclusive ? 'greater than' : 'at least'} ${range.min}`)
  if (range.max !== undefined) parts.push(`${range.maxExclusive ? 'less than' : 'at most'} ${range.max}`)
  const kind = range.infinite ? 'a number (Infinity allowed)' : 'a finite number'
  return parts.length === 0 ? kind : `${kind} ${parts.join(' and ')}`
}

/** Returns `value` if it is a number in `range`, else throws `code` naming `name`. */
export function checkNumber(code: PredictErrorCode, name: string, value: unknown, range: NumberRange = {}): number {
  const ok =
    typeof value === 'number' &&
    !Number.isNaN(value) &&
    (Number.isFinite(value) || (range.infinite === true && value === Infinity)) &&
    (range.min === undefined || (range.minExclusive ? value > range.min : value >= range.min)) &&
    (range.max === undefined || (range.maxExclusive ? value < range.max : value <= range.max))
  if (!ok) throw new PredictError(code, `Expected \`${name}\` to be ${describe(range)}, got ${show(value)}`)
  return value as number
}

/** Option check: throws `PREDICT_ERR_INVALID_OPTION`. */
export function checkOption(name: string, value: unknown, range: NumberRange = {}): number {
  return checkNumber('PREDICT_ERR_INVALID_OPTION', name, value, range)
}

/** Argument check: throws `PREDICT_ERR_INVALID_ARGUMENT`. */
export function checkArgument(name: string, value: unknown, range: NumberRange = {}): number {
  return checkNumber('PREDICT_ERR_INVALID_ARGUMENT', name, value, range)
}

/** Throws `PREDICT_ERR_INVALID_OPTION` unless `options` is undefined or a plain object. */
export function checkOptionsObject(name: string, options: unknown): void {
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    throw new PredictError('PREDICT_ERR_INVALID_OPTION', `Expected \`${name}\` to be an object, got ${show(options)}`)
  }
}

/** Time elapsed from `fromMs` to `toMs`, 0 when `fromMs` is null or later (out-of-order observations never un-decay). */
export function elapsedSince(fromMs: number | null, toMs: number): number {
  return fromMs === null || toMs <= fromMs ? 0 : toMs - fromMs
}

/** Drops `undefined` fields so they fall back to defaults (`{ ...defaults, ...options }` would keep them). */
export function stripUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>
}
