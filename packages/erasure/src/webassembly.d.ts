// The subset of the WebAssembly JS API this package uses.
//
// Why a hand-written declaration: the build compiles with `"types": []` and lib ES2023 so that a
// stray `node:*` import fails the build (the codec must run unchanged in browsers). Neither ES2023
// nor any lib short of "dom"/"webworker" declares `WebAssembly`, and pulling in "dom" would let
// browser-only globals leak into code that must also run in Node. Being a `.d.ts`, this file is not
// emitted to dist, so no exported declaration may mention these types (none does: the kernel hides
// them behind ES private fields), and consumers' own lib "dom" declarations never collide with it.
declare namespace WebAssembly {
  interface Module {}
  interface Instance {
    readonly exports: Record<string, unknown>
  }
  interface Memory {
    readonly buffer: ArrayBuffer
    /** Grows by `deltaPages` 64 KiB pages and returns the previous size; detaches old views. */
    grow(deltaPages: number): number
  }
  const Module: { new (bytes: Uint8Array): Module }
  const Instance: { new (module: Module, imports?: Record<string, unknown>): Instance }
  function validate(bytes: Uint8Array): boolean
  function compile(bytes: Uint8Array): Promise<Module>
  function instantiate(module: Module, imports?: Record<string, unknown>): Promise<Instance>
}
