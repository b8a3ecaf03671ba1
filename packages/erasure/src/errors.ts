/** Stable codes of {@link ErasureError}. See the README for what each means and what to do. */
export type ErasureErrorCode =
  | 'ERASURE_ERR_INVALID_ARGUMENT'
  | 'ERASURE_ERR_BLOCK_COUNT'
  | 'ERASURE_ERR_BLOCK_SIZE'
  | 'ERASURE_ERR_TOO_FEW_BLOCKS'

/** A codec call that cannot proceed with the arguments it was given. Callers match on `code`. */
export class ErasureError extends Error {
  override readonly name = 'ErasureError'
  constructor(
    readonly code: ErasureErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** `5 (number)`, `"x" (string)`: the actual value as p-queue prints it in option errors. */
export function describeValue(value: unknown): string {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value)
  return `\`${shown}\` (${value === null ? 'null' : typeof value})`
}
