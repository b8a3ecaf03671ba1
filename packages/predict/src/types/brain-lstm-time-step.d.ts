// brain.js 1.6.1 ships no types for its deep modules; this is the part the LSTM forecaster uses.
declare module 'brain.js/dist/recurrent/lstm-time-step.js' {
  interface LSTMTimeStepOptions {
    inputSize: number
    hiddenLayers: number[]
    outputSize: number
  }
  interface TrainOptions {
    iterations?: number
    errorThresh?: number
    learningRate?: number
    log?: boolean
  }
  class LSTMTimeStep {
    constructor(options: LSTMTimeStepOptions)
    train(data: number[][], options?: TrainOptions): { error: number; iterations: number }
    run(input: number[]): number
    forecast(input: number[], count: number): number[]
  }
  const module: { default: typeof LSTMTimeStep }
  export default module
}
