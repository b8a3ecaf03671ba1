// `@tessera/predict/lstm`: the brain.js LSTM forecaster, kept out of the main entry so browser
// bundles of the client never load brain.js.
export { LstmForecaster, defaultLstmForecasterOptions, resolveLstmForecasterOptions } from './lstm-forecaster.js'
export type { LstmForecasterOptions, ResolvedLstmForecasterOptions } from './lstm-forecaster.js'
