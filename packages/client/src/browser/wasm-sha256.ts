import { createSHA256, type IHasher } from 'hash-wasm'
import type { Hash, HashFactory } from '../ports.js'

let shared: Promise<IHasher> | undefined

/**
 * Loads hash-wasm's SHA-256 (compiled once per page) and resolves a synchronous, incremental
 * {@link HashFactory} on it. SubtleCrypto's `digest()` is one-shot and async, but the engine hashes
 * each partition and the whole file in pieces, synchronously, several at a time; so every
 * {@link Hash} here keeps its own saved state (hash-wasm `save()`/`load()`, ~100 bytes) and borrows
 * the one WebAssembly instance for each update. JavaScript is single-threaded and the calls are
 * synchronous, so the borrowings never interleave.
 */
export async function loadWasmSha256(): Promise<HashFactory> {
  shared ??= createSHA256()
  const hasher = await shared
  return () => savedStateHash(hasher)
}

function savedStateHash(hasher: IHasher): Hash {
  hasher.init()
  let state: Uint8Array | undefined = hasher.save()
  return {
    update(bytes: Uint8Array): void {
      if (!state) throw new Error('SHA-256 used after digest()')
      hasher.load(state)
      hasher.update(bytes)
      state = hasher.save()
    },
    digest(): Uint8Array {
      if (!state) throw new Error('SHA-256 used after digest()')
      hasher.load(state)
      state = undefined
      return hasher.digest('binary')
    },
  }
}
