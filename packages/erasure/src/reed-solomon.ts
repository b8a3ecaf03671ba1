import { createCodingPlan, type CodingPlan } from './coding-plan.js'
import { describeValue, ErasureError } from './errors.js'
import { buildEncodingMatrix, invert, multiply, type Matrix } from './matrix.js'
import { scalarKernel } from './scalar-kernel.js'
import { loadSimdKernel, type SimdKernel } from './simd-kernel.js'

/** Options of {@link ReedSolomon.create}. */
export interface ReedSolomonOptions {
  /** Data blocks per stripe (k): an integer from 1 to 256. */
  dataBlocks: number
  /** Parity blocks per stripe (m): an integer from 0; dataBlocks + parityBlocks ≤ 256. */
  parityBlocks: number
  /**
   * Which GF(2^8) kernel to run. `'auto'` (default): WebAssembly relaxed SIMD, else SIMD, else the
   * scalar one, whichever the engine supports first. `'scalar'`: always the plain TypeScript
   * kernel (~50× slower; for tests and debugging).
   */
  kernel?: 'auto' | 'scalar'
}

/** Options of {@link ReedSolomon.reconstruct}. */
export interface ReconstructOptions {
  /** Rebuild only missing data blocks; missing parity blocks stay undefined. Default false. */
  dataOnly?: boolean
  /**
   * Buffers to rebuild into instead of allocating, indexed like `blocks`: a missing block i is
   * written into `targets[i]` when that is a Uint8Array (it must have the stripe's block length,
   * else `ERASURE_ERR_BLOCK_SIZE`), and newly allocated when it is undefined. Reusing buffers
   * matters on hot paths: first writes to fresh 1 MiB allocations cost more than the decode itself.
   */
  targets?: readonly (Uint8Array | undefined)[]
}

/** Largest dataBlocks + parityBlocks: GF(2^8) has 256 distinct evaluation points. */
export const MAX_TOTAL_BLOCKS = 256
/** Decode plans kept per encoder, one per erasure pattern, least recently used evicted first. */
const DECODE_CACHE_ENTRIES = 64

type Kernel = SimdKernel | typeof scalarKernel

function checkCount(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ErasureError(
      'ERASURE_ERR_INVALID_ARGUMENT',
      `Expected \`${name}\` to be an integer from ${min} to ${max}, got ${describeValue(value)}`,
    )
  }
  return value
}

/**
 * A systematic Reed-Solomon erasure code over GF(2^8): k data blocks plus m parity blocks, any k of
 * which rebuild the rest. The encoding matrix is klauspost/reedsolomon's default (a Vandermonde
 * matrix made systematic), so stripes interoperate with it and with Backblaze JavaReedSolomon.
 *
 * An instance is immutable apart from its decode-matrix cache and can be shared; every method is
 * synchronous and does no I/O. Blocks are plain Uint8Arrays of any equal length (no alignment).
 */
export class ReedSolomon {
  /** k: data blocks per stripe. */
  readonly dataBlocks: number
  /** m: parity blocks per stripe. */
  readonly parityBlocks: number
  /** k + m. */
  readonly totalBlocks: number
  /**
   * The kernel in use: `'relaxed-simd'` (WebAssembly relaxed SIMD: Chrome 114+, Node 22+),
   * `'simd'` (WebAssembly SIMD: Node 20, every current browser) or `'scalar'` (plain TypeScript).
   */
  readonly kernel: 'relaxed-simd' | 'simd' | 'scalar'

  readonly #kernel: Kernel
  readonly #matrix: Matrix
  readonly #encodePlan: CodingPlan
  readonly #decodePlans = new Map<string, CodingPlan>()

  private constructor(dataBlocks: number, parityBlocks: number, kernel: Kernel) {
    this.dataBlocks = dataBlocks
    this.parityBlocks = parityBlocks
    this.totalBlocks = dataBlocks + parityBlocks
    this.#kernel = kernel
    this.kernel = kernel.name
    this.#matrix = buildEncodingMatrix(dataBlocks, this.totalBlocks)
    this.#encodePlan = createCodingPlan(this.#matrix.slice(dataBlocks), dataBlocks)
  }

  /**
   * Compiles the WebAssembly kernel (once per process, shared by all instances) and builds the
   * encoding matrix. Throws ErasureError `ERASURE_ERR_INVALID_ARGUMENT` naming the option, the
   * expected and the actual value when k < 1, m < 0, k + m > 256 or a count is not an integer.
   */
  static async create(options: ReedSolomonOptions): Promise<ReedSolomon> {
    if (typeof options !== 'object' || options === null) {
      throw new ErasureError('ERASURE_ERR_INVALID_ARGUMENT', `Expected \`options\` to be an object, got ${describeValue(options)}`)
    }
    const dataBlocks = checkCount('dataBlocks', options.dataBlocks, 1, MAX_TOTAL_BLOCKS)
    const parityBlocks = checkCount('parityBlocks', options.parityBlocks, 0, MAX_TOTAL_BLOCKS - 1)
    if (dataBlocks + parityBlocks > MAX_TOTAL_BLOCKS) {
      throw new ErasureError(
        'ERASURE_ERR_INVALID_ARGUMENT',
        `Expected \`dataBlocks + parityBlocks\` to be at most ${MAX_TOTAL_BLOCKS}, got ${describeValue(dataBlocks + parityBlocks)}`,
      )
    }
    const choice = options.kernel ?? 'auto'
    if (choice !== 'auto' && choice !== 'scalar') {
      throw new ErasureError('ERASURE_ERR_INVALID_ARGUMENT', `Expected \`kernel\` to be 'auto' or 'scalar', got ${describeValue(choice)}`)
    }
    const kernel = choice === 'scalar' ? scalarKernel : ((await loadSimdKernel()) ?? scalarKernel)
    return new ReedSolomon(dataBlocks, parityBlocks, kernel)
  }

  /**
   * Computes the m parity blocks of k data blocks. `data`: exactly k blocks of one length L (any
   * L ≥ 0); `parity`: exactly m blocks of length L, overwritten. Data blocks are only read.
   * Throws `ERASURE_ERR_BLOCK_COUNT` for wrong array lengths, `ERASURE_ERR_BLOCK_SIZE` when block
   * lengths differ.
   */
  encode(data: readonly Uint8Array[], parity: readonly Uint8Array[]): void {
    this.#checkBlocks('data', data, this.dataBlocks)
    this.#checkBlocks('parity', parity, this.parityBlocks)
    const length = data[0]!.length
    this.#checkLengths([...data, ...parity], length)
    this.#kernel.code(this.#encodePlan, data, parity, length)
  }

  /**
   * True when the m parity blocks match the k data blocks. `blocks`: all k + m blocks (data first),
   * none missing, one length. Detects any corruption that changes parity; it cannot say which block
   * is wrong (compare per-block checksums for that). Throws like {@link encode}.
   */
  verify(blocks: readonly Uint8Array[]): boolean {
    this.#checkBlocks('blocks', blocks, this.totalBlocks)
    const length = blocks[0]!.length
    this.#checkLengths(blocks, length)
    const k = this.dataBlocks
    return this.#kernel.matches(this.#encodePlan, blocks.slice(0, k), blocks.slice(k), length)
  }

  /**
   * Rebuilds missing blocks from any k present ones. `blocks`: k + m entries in stripe order, missing
   * ones `undefined`. Returns a new complete k + m array: present entries are the same objects,
   * missing ones newly allocated (or `options.targets[i]`). With `{ dataOnly: true }` only missing
   * data blocks are rebuilt and missing parity stays undefined. Present blocks are trusted: check
   * their checksums first. Decode matrices are cached per erasure pattern (64 patterns, LRU).
   * Throws `ERASURE_ERR_TOO_FEW_BLOCKS` when fewer than k are present, `ERASURE_ERR_BLOCK_SIZE` when
   * lengths differ, `ERASURE_ERR_BLOCK_COUNT` when `blocks.length !== k + m`.
   */
  reconstruct(blocks: readonly (Uint8Array | undefined)[], options: ReconstructOptions = {}): (Uint8Array | undefined)[] {
    if (!Array.isArray(blocks) || blocks.length !== this.totalBlocks) {
      throw new ErasureError(
        'ERASURE_ERR_BLOCK_COUNT',
        `Expected \`blocks\` to be an array of ${this.totalBlocks} entries, got ${Array.isArray(blocks) ? blocks.length : describeValue(blocks)}`,
      )
    }
    const present: number[] = []
    let length = -1
    for (let i = 0; i < blocks.length; i++) {
      const block = blocks[i]
      if (block === undefined || block === null) continue
      if (!(block instanceof Uint8Array)) {
        throw new ErasureError('ERASURE_ERR_INVALID_ARGUMENT', `Expected \`blocks[${i}]\` to be a Uint8Array or undefined, got ${describeValue(block)}`)
      }
      if (length === -1) length = block.length
      else if (block.length !== length) {
        throw new ErasureError('ERASURE_ERR_BLOCK_SIZE', `Expected every block to be ${length} bytes like blocks[${present[0]}], got ${block.length} bytes in blocks[${i}]`)
      }
      present.push(i)
    }
    const k = this.dataBlocks
    if (present.length < k) {
      throw new ErasureError('ERASURE_ERR_TOO_FEW_BLOCKS', `Need at least ${k} of ${this.totalBlocks} blocks to reconstruct, got ${present.length}`)
    }
    const dataOnly = options.dataOnly === true
    const limit = dataOnly ? k : this.totalBlocks
    const out = blocks.slice()
    const missing: number[] = []
    for (let i = 0; i < limit; i++) if (out[i] === undefined || out[i] === null) missing.push(i)
    for (let i = 0; i < out.length; i++) if (out[i] === null) out[i] = undefined
    if (missing.length === 0) return out

    const inputs = present.slice(0, k)
    const plan = this.#decodePlan(inputs, missing)
    const targets = options.targets
    const outputs = missing.map((index) => {
      const target = targets?.[index]
      if (target === undefined || target === null) return new Uint8Array(length)
      if (!(target instanceof Uint8Array) || target.length !== length) {
        throw new ErasureError(
          'ERASURE_ERR_BLOCK_SIZE',
          `Expected \`targets[${index}]\` to be a Uint8Array of ${length} bytes, got ${target instanceof Uint8Array ? `${target.length} bytes` : describeValue(target)}`,
        )
      }
      return target
    })
    this.#kernel.code(plan, inputs.map((i) => blocks[i]!), outputs, length)
    missing.forEach((index, j) => (out[index] = outputs[j]))
    return out
  }

  /** Rows expressing each missing block in terms of the `inputs` blocks, cached per pattern. */
  #decodePlan(inputs: readonly number[], missing: readonly number[]): CodingPlan {
    const key = `${inputs.join(',')}>${missing.join(',')}`
    const cached = this.#decodePlans.get(key)
    if (cached !== undefined) {
      this.#decodePlans.delete(key)
      this.#decodePlans.set(key, cached)
      return cached
    }
    // inputs = E[inputs] · data, so data = E[inputs]⁻¹ · inputs and block t = E[t] · E[inputs]⁻¹ · inputs.
    const inverse = invert(inputs.map((r) => this.#matrix[r]!))
    if (inverse === undefined) throw new Error('unreachable: k rows of the encoding matrix are singular')
    const rows = multiply(missing.map((t) => this.#matrix[t]!), inverse)
    const plan = createCodingPlan(rows, inputs.length)
    if (this.#decodePlans.size >= DECODE_CACHE_ENTRIES) {
      this.#decodePlans.delete(this.#decodePlans.keys().next().value!)
    }
    this.#decodePlans.set(key, plan)
    return plan
  }

  #checkBlocks(name: string, blocks: readonly Uint8Array[], count: number): void {
    if (!Array.isArray(blocks) || blocks.length !== count) {
      throw new ErasureError(
        'ERASURE_ERR_BLOCK_COUNT',
        `Expected \`${name}\` to be an array of ${count} blocks, got ${Array.isArray(blocks) ? blocks.length : describeValue(blocks)}`,
      )
    }
    for (let i = 0; i < count; i++) {
      if (!(blocks[i] instanceof Uint8Array)) {
        throw new ErasureError('ERASURE_ERR_INVALID_ARGUMENT', `Expected \`${name}[${i}]\` to be a Uint8Array, got ${describeValue(blocks[i])}`)
      }
    }
  }

  #checkLengths(blocks: readonly Uint8Array[], length: number): void {
    for (let i = 0; i < blocks.length; i++) {
      if (blocks[i]!.length !== length) {
        throw new ErasureError('ERASURE_ERR_BLOCK_SIZE', `Expected every block to be ${length} bytes, got ${blocks[i]!.length} bytes in block ${i} of the stripe`)
      }
    }
  }
}
