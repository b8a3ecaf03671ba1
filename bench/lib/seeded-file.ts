// The bench's upload source: a file of seeded pseudo-random (incompressible) bytes, written in
// 1 MiB pieces so it is never held in memory, hashed while it is written.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'

const PIECE_BYTES = 1 << 20

/** Fills `words` with xorshift32 output from `state`; returns the next state. */
function fill(words: Uint32Array, state: number): number {
  let x = state >>> 0 || 1
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    words[i] = x
  }
  return x
}

/**
 * `bytes` seeded pseudo-random bytes in memory, for benches that send from a Buffer (keep it small).
 * The same bytes {@link writeSeededFile} writes for the same seed.
 */
export function seededBytes(bytes: number, seed: number): Buffer {
  const words = new Uint32Array(Math.ceil(bytes / 4))
  fill(words, seed)
  return Buffer.from(words.buffer, 0, bytes)
}

/**
 * Writes `bytes` seeded pseudo-random bytes to `path`.
 * @returns the SHA-256 of the file, hex.
 */
export async function writeSeededFile(path: string, bytes: number, seed: number): Promise<string> {
  const hash = createHash('sha256')
  const piece = new Uint32Array(PIECE_BYTES / 4)
  const view = new Uint8Array(piece.buffer)
  const file = await open(path, 'w')
  try {
    let state = seed
    for (let written = 0; written < bytes; written += PIECE_BYTES) {
      state = fill(piece, state)
      const chunk = view.subarray(0, Math.min(PIECE_BYTES, bytes - written))
      hash.update(chunk)
      await file.write(chunk)
    }
  } finally {
    await file.close()
  }
  return hash.digest('hex')
}

/** SHA-256 of a file, hex, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: PIECE_BYTES })) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** SHA-256 and length of an HTTP response body (a download), hex. */
export async function sha256Url(url: string): Promise<{ sha256: string; bytes: number; status: number }> {
  const res = await fetch(url)
  const hash = createHash('sha256')
  let bytes = 0
  if (res.body) {
    for await (const chunk of res.body) {
      hash.update(chunk)
      bytes += chunk.byteLength
    }
  }
  return { sha256: hash.digest('hex'), bytes, status: res.status }
}
