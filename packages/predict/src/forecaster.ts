/**
 * A one-step-ahead forecaster of an irregularly sampled time series (a backend's latency, error rate,
 * free capacity). Implementations are small mutable objects: `observe()` updates in place.
 */
export interface Forecaster {
  /**
   * Feeds the value observed at `tMs` (caller's clock, ms). Timestamps must not decrease.
   * @throws PredictError `PREDICT_ERR_INVALID_ARGUMENT` for non-finite input or a timestamp earlier than the last.
   */
  observe(tMs: number, value: number): void
  /**
   * Predicted value `horizonMs` ≥ 0 ms after the latest observation, in the series' units.
   * @throws PredictError `PREDICT_ERR_INVALID_STATE` before the first observation, `PREDICT_ERR_INVALID_ARGUMENT` for a bad horizon.
   */
  forecast(horizonMs: number): number
}
