/**
 * Stable codes of {@link PredictError}. Callers match on `err.code`, never on the message.
 *
 * - `PREDICT_ERR_INVALID_OPTION`: an options field is missing its expected type or range.
 * - `PREDICT_ERR_INVALID_ARGUMENT`: a function argument (observation, time, attempt progress) is out of range.
 * - `PREDICT_ERR_INVALID_STATE`: a persisted model state passed to `fromJSON()` is malformed.
 */
export type PredictErrorCode = 'PREDICT_ERR_INVALID_OPTION' | 'PREDICT_ERR_INVALID_ARGUMENT' | 'PREDICT_ERR_INVALID_STATE'

/**
 * The one error class of `@tessera/predict`. The message names the offending option or argument,
 * the expected and the actual value, e.g. ``Expected `halfLifeMs` to be a number greater than 0, got `-1` (number)``.
 */
export class PredictError extends Error {
  override readonly name = 'PredictError'
  constructor(
    readonly code: PredictErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}
