import type { CodingPlan } from './coding-plan.js'
import { decodeBase64 } from './base64.js'
import { KERNEL_MAX_OUTPUTS, KERNEL_STEP_BYTES, kernelWasmBase64, relaxedKernelWasmBase64 } from './generated/kernel-wasm.js'

type MulFunction = (inPointers: number, inputCount: number, tables: number, outPointers: number, length: number) => void
type DiffersFunction = (a: number, b: number, length: number) => number

const PAGE_BYTES = 65536
// Fixed layout of the kernel's linear memory; everything after TABLES is sized per call.
const IN_POINTERS = 0 // 256 × i32
const OUT_POINTERS = 1024 // 256 × i32
const TABLES = 2048
/**
 * Bytes of all k + n slices of one pass together. Half of a 512 KiB L2: the inputs are copied in,
 * read by the kernel and the outputs copied out while still in cache. Measured best in bench/codec.ts.
 */
const PASS_BYTES = 256 * 1024
const MIN_SLICE_BYTES = 1024

const align = (n: number, to: number) => Math.ceil(n / to) * to

/**
 * The WebAssembly SIMD kernel: slices of the inputs are copied into one reused region of its linear
 * memory, multiplied there by the plan's matrix, and the outputs copied back. Memory grows only when
 * a call needs more, and views are re-derived after a grow (growing detaches the old buffer).
 */
export class SimdKernel {
  /** `'relaxed-simd'` when running the relaxed-SIMD build (bare PSHUFB/TBL shuffles). */
  readonly name: 'simd' | 'relaxed-simd'
  readonly #memory: WebAssembly.Memory
  readonly #mul: MulFunction[]
  readonly #differs: DiffersFunction
  #heap: Uint8Array
  #pointers: Uint32Array

  /** `exports`: of an instance of the generated module (typed loosely so no emitted .d.ts names WebAssembly). */
  constructor(exports: Record<string, unknown>, relaxed: boolean) {
    this.name = relaxed ? 'relaxed-simd' : 'simd'
    this.#memory = exports['memory'] as WebAssembly.Memory
    this.#mul = Array.from({ length: KERNEL_MAX_OUTPUTS }, (_, n) => exports[`mul${n + 1}`] as MulFunction)
    this.#differs = exports['differs'] as DiffersFunction
    this.#heap = new Uint8Array(this.#memory.buffer)
    this.#pointers = new Uint32Array(this.#memory.buffer, 0, 512)
  }

  #reserve(bytes: number): void {
    const have = this.#memory.buffer.byteLength
    if (bytes > have) this.#memory.grow(Math.ceil((bytes - have) / PAGE_BYTES))
    if (this.#heap.buffer !== this.#memory.buffer) {
      this.#heap = new Uint8Array(this.#memory.buffer)
      this.#pointers = new Uint32Array(this.#memory.buffer, 0, 512)
    }
  }

  /** Lays out tables, input and output slots (plus `extraSlots` more) for a pass over `length` bytes. */
  #prepare(plan: CodingPlan, length: number, extraSlots: number) {
    const slots = plan.inputCount + plan.outputCount + extraSlots
    const perSlot = Math.max(MIN_SLICE_BYTES, Math.floor(PASS_BYTES / slots / KERNEL_STEP_BYTES) * KERNEL_STEP_BYTES)
    const slice = Math.min(perSlot, align(length, KERNEL_STEP_BYTES))
    const inBase = align(TABLES + plan.nibbleTables.length, 64)
    const outBase = inBase + plan.inputCount * slice
    const extraBase = outBase + plan.outputCount * slice
    this.#reserve(extraBase + extraSlots * slice)
    this.#heap.set(plan.nibbleTables, TABLES)
    const pointers = this.#pointers
    for (let i = 0; i < plan.inputCount; i++) pointers[i] = inBase + i * slice
    for (let j = 0; j < plan.outputCount; j++) pointers[256 + j] = outBase + j * slice
    return { slice, inBase, outBase, extraBase }
  }

  /** Multiplies one slice [offset, offset + len) of the inputs; results land in the output slots. */
  #pass(plan: CodingPlan, inputs: readonly Uint8Array[], offset: number, len: number, slice: number, inBase: number): void {
    const heap = this.#heap
    for (let i = 0; i < plan.inputCount; i++) {
      const input = inputs[i]!
      heap.set(offset === 0 && len === input.length ? input : input.subarray(offset, offset + len), inBase + i * slice)
    }
    // Bytes past `len` in the slots are stale but harmless: GF(2^8) arithmetic is bytewise, so they
    // only produce output bytes that are never copied out.
    const padded = align(len, KERNEL_STEP_BYTES)
    for (const group of plan.groups) {
      this.#mul[group.count - 1]!(IN_POINTERS, plan.inputCount, TABLES + group.tableOffset, OUT_POINTERS + 4 * group.first, padded)
    }
  }

  /** outputs[j][0..length) = Σ plan.rows[j][i] · inputs[i][0..length). */
  code(plan: CodingPlan, inputs: readonly Uint8Array[], outputs: readonly Uint8Array[], length: number): void {
    if (length === 0 || plan.outputCount === 0) return
    const { slice, inBase, outBase } = this.#prepare(plan, length, 0)
    for (let offset = 0; offset < length; offset += slice) {
      const len = Math.min(slice, length - offset)
      this.#pass(plan, inputs, offset, len, slice, inBase)
      const heap = this.#heap
      for (let j = 0; j < plan.outputCount; j++) {
        const at = outBase + j * slice
        outputs[j]!.set(heap.subarray(at, at + len), offset)
      }
    }
  }

  /** True when `expected[j]` equals what {@link code} would write, for every output j. */
  matches(plan: CodingPlan, inputs: readonly Uint8Array[], expected: readonly Uint8Array[], length: number): boolean {
    if (length === 0 || plan.outputCount === 0) return true
    const { slice, inBase, outBase, extraBase } = this.#prepare(plan, length, 1)
    for (let offset = 0; offset < length; offset += slice) {
      const len = Math.min(slice, length - offset)
      this.#pass(plan, inputs, offset, len, slice, inBase)
      const heap = this.#heap
      const vectorLen = len & ~15
      for (let j = 0; j < plan.outputCount; j++) {
        const exp = expected[j]!
        const at = outBase + j * slice
        heap.set(exp.subarray(offset, offset + len), extraBase)
        if (this.#differs(at, extraBase, vectorLen) !== 0) return false
        for (let p = vectorLen; p < len; p++) if (heap[at + p] !== heap[extraBase + p]) return false
      }
    }
    return true
  }
}

let kernelPromise: Promise<SimdKernel | undefined> | undefined

/**
 * The process-wide SIMD kernel, compiled once: the relaxed-SIMD build where the engine has it, else
 * the standard SIMD one; undefined where WebAssembly or its SIMD proposal is unavailable. One instance serves every encoder: calls are synchronous, so they never interleave.
 */
export function loadSimdKernel(): Promise<SimdKernel | undefined> {
  kernelPromise ??= (async () => {
    if (typeof WebAssembly !== 'object') return undefined
    for (const [base64, relaxed] of [[relaxedKernelWasmBase64, true], [kernelWasmBase64, false]] as const) {
      const bytes = decodeBase64(base64)
      if (!WebAssembly.validate(bytes)) continue
      const module = await WebAssembly.compile(bytes)
      return new SimdKernel((await WebAssembly.instantiate(module)).exports, relaxed)
    }
    return undefined
  })()
  return kernelPromise
}
