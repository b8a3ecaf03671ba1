import { encodeBase64 } from '@tessera/protocol'
import { ClientError } from './errors.js'
import type { Hash, RandomAccessSource, SequentialSource } from './ports.js'
import { concatBytes } from './sequential-source.js'
import type { StreamedBody } from './tus-client.js'

/** A contiguous run of a partition's bytes (a buffer, or a stream of known length), and whether it reaches the partition's end. */
export interface Chunk<B = Uint8Array> {
  readonly bytes: B
  readonly last: boolean
}

/** Where a partition's bytes come from; `chunk()` may be called again for bytes to re-send. */
export interface PartitionData {
  /** Length in bytes, or undefined while unknown (a stream sent as one deferred-length upload). */
  readonly length: number | undefined
  /**
   * The bytes [from, from + maxBytes) clipped to the partition, in one buffer.
   * @throws ClientError `CLIENT_ERR_SOURCE_SHORT` when the source ends before the partition does.
   */
  chunk(from: number, maxBytes: number): Promise<Chunk>
  /**
   * The bytes [from, from + maxBytes) clipped to the partition, as a stream read as it is consumed
   * (no buffer of the range); absent where bytes cannot be read again (a stream sent as one upload).
   * The stream throws `CLIENT_ERR_SOURCE_SHORT` when the source ends early.
   */
  stream?(from: number, maxBytes: number): Chunk<StreamedBody>
  /**
   * The bytes [from, to) of this partition as a partition of their own (a split, docs/client.md);
   * absent where bytes cannot be read again. No I/O.
   */
  slice?(from: number, to: number): PartitionData
}

/** One partition of the upload and what the server acknowledged of it. */
export interface Partition {
  readonly index: number
  /** Offset within the whole source, bytes. */
  readonly offset: number
  /** Its bytes; replaced by a shorter slice when the partition is split. */
  data: PartitionData
  /**
   * base64 SHA-256 of the partition's bytes (parallel mode); replaced at a split. Undefined in
   * sequential mode, and — until its first attempt has streamed it whole, or something needs it
   * sooner — for a partition cut with `digest: 'as-sent'` (see {@link cutPartition}).
   */
  sha256: string | undefined
  /** Endpoint index the partition was assigned to (round-robin). */
  readonly home: number
  /** URL of the partial upload once created. */
  url: string | undefined
  /** Bytes of this partition the server acknowledged. */
  acked: number
  done: boolean
}

/** A range of a random-access source. */
export class RangeData implements PartitionData {
  constructor(
    private readonly source: RandomAccessSource,
    private readonly start: number,
    readonly length: number,
  ) {}

  async chunk(from: number, maxBytes: number): Promise<Chunk> {
    const end = Math.min(this.length, from + maxBytes)
    const bytes = await readRange(this.source, this.start + from, this.start + end)
    return { bytes, last: end === this.length }
  }

  stream(from: number, maxBytes: number): Chunk<StreamedBody> {
    const end = Math.min(this.length, from + maxBytes)
    const [start, stop] = [this.start + from, this.start + end]
    const blob = this.source.blob?.(start, stop)
    return { bytes: { length: end - from, stream: exactRange(this.source, start, stop), ...(blob && { blob }) }, last: end === this.length }
  }

  slice(from: number, to: number): RangeData {
    return new RangeData(this.source, this.start + from, to - from)
  }
}

/** Yields [start, end) of a random-access source as read, checking that exactly that many bytes came. */
async function* exactRange(source: RandomAccessSource, start: number, end: number): AsyncGenerator<Uint8Array> {
  let at = start
  for await (const piece of source.read(start, end)) {
    if (at + piece.length > end) throw new ClientError('CLIENT_ERR_SOURCE', `the source yielded more than the ${end - start} bytes asked for at ${start}`)
    at += piece.length
    yield piece
  }
  if (at < end) throw short(at, end)
}

/** Reads [start, end) of a random-access source into one buffer. */
async function readRange(source: RandomAccessSource, start: number, end: number): Promise<Uint8Array> {
  const out = new Uint8Array(end - start)
  let at = 0
  for await (const piece of source.read(start, end)) {
    if (at + piece.length > out.length) throw new ClientError('CLIENT_ERR_SOURCE', `the source yielded more than the ${end - start} bytes asked for at ${start}`)
    out.set(piece, at)
    at += piece.length
  }
  if (at < out.length) throw short(start + at, end)
  return out
}

/** A partition held in memory (cut from a stream). */
export class MemoryData implements PartitionData {
  constructor(private readonly bytes: Uint8Array) {}

  get length(): number {
    return this.bytes.length
  }

  async chunk(from: number, maxBytes: number): Promise<Chunk> {
    const end = Math.min(this.bytes.length, from + maxBytes)
    return { bytes: this.bytes.subarray(from, end), last: end === this.bytes.length }
  }

  stream(from: number, maxBytes: number): Chunk<StreamedBody> {
    const end = Math.min(this.bytes.length, from + maxBytes)
    return { bytes: { length: end - from, stream: [this.bytes.subarray(from, end)] }, last: end === this.bytes.length }
  }

  slice(from: number, to: number): MemoryData {
    return new MemoryData(this.bytes.subarray(from, to))
  }
}

/**
 * A whole stream sent as one upload (sequential mode). Keeps the last chunk handed out so a failed
 * PATCH can be re-sent from any offset within it; going further back is impossible (the server
 * would have lost acknowledged bytes). Memory: one chunk.
 */
export class StreamData implements PartitionData {
  #kept: { from: number; bytes: Uint8Array; last: boolean } | undefined
  #position = 0

  constructor(
    private readonly source: SequentialSource,
    /** Declared size, or undefined (deferred length). */
    readonly length: number | undefined,
  ) {}

  async chunk(from: number, maxBytes: number): Promise<Chunk> {
    const kept = this.#kept
    if (kept && from >= kept.from && from < kept.from + kept.bytes.length) {
      const bytes = kept.bytes.subarray(from - kept.from, Math.min(kept.bytes.length, from - kept.from + maxBytes))
      return { bytes, last: kept.last && from - kept.from + bytes.length === kept.bytes.length }
    }
    if (from !== this.#position) {
      throw new ClientError('CLIENT_ERR_SOURCE', `a stream cannot be read again from offset ${from} (it is at ${this.#position}); the server's offset went back`)
    }
    const want = this.length === undefined ? maxBytes : Math.min(maxBytes, this.length - from)
    const bytes = want === 0 ? new Uint8Array(0) : await this.source.next(want)
    if (this.length !== undefined && bytes.length < want) throw short(from + bytes.length, this.length)
    // Unknown length: a short read is the end; an exact one is followed by an empty last chunk.
    const last = this.length !== undefined ? from + bytes.length === this.length : bytes.length < want
    this.#position = from + bytes.length
    this.#kept = { from, bytes, last }
    return { bytes, last }
  }
}

/** The error for a source that ended at `at` though `declared` bytes were expected. */
export function short(at: number, declared: number): ClientError {
  return new ClientError('CLIENT_ERR_SOURCE_SHORT', `the source ended after ${at} bytes, before its declared size of ${declared} bytes`)
}

/** A new partition's bytes as read from the source, and their SHA-256 (base64; undefined when left to the sending). */
export interface CutPartition {
  readonly data: PartitionData
  readonly length: number
  readonly sha256: string | undefined
  /** A stream of unknown size ended inside it: `length` is what it had. */
  readonly ended: boolean
}

/**
 * Reads the `length` bytes at `offset` of the source into a partition, hashing them as they come
 * (`whole`, the whole-file hash, sees them too) — or has the source digest them itself where it can
 * (`RandomAccessSource.digest`: WebCrypto in browsers) and no whole-file hash is built. A random-access source is only read here (the
 * bytes are read again when sent); a sequential one is kept in memory until acknowledged.
 * `digest: 'as-sent'` (a random-access source, no whole-file hash): nothing is read here; the
 * partition's SHA-256 is taken from the bytes its first attempt streams (`hashedBody`, sent in
 * trailers), so each byte is read from the source once.
 * @throws ClientError `CLIENT_ERR_SOURCE_SHORT` when a source of declared size ends early,
 *   `CLIENT_ERR_SOURCE` when a stream resumed from an earlier run is shorter than it was.
 */
export async function cutPartition(
  source: RandomAccessSource | SequentialSource,
  offset: number,
  length: number,
  how: { readonly hash: Hash; readonly whole: Hash | undefined; readonly declaredSize: number | undefined; readonly resumed: boolean; readonly index: number; readonly digest?: 'now' | 'as-sent' },
): Promise<CutPartition> {
  const { hash, whole } = how
  if (source.kind === 'random') {
    // A source shorter than its size shows when the bytes are streamed (`exactRange`).
    if (how.digest === 'as-sent' && !whole) {
      return { data: new RangeData(source, offset, length), length, sha256: undefined, ended: false }
    }
    // The platform's digest where the source has one and no whole-file hash needs the bytes too.
    const direct = whole ? undefined : source.digest?.(offset, offset + length)
    if (direct) return { data: new RangeData(source, offset, length), length, sha256: encodeBase64(await direct), ended: false }
    let n = 0
    for await (const piece of source.read(offset, offset + length)) {
      hash.update(piece)
      whole?.update(piece)
      n += piece.length
    }
    if (n < length) throw short(offset + n, source.size)
    return { data: new RangeData(source, offset, length), length, sha256: encodeBase64(hash.digest()), ended: false }
  }
  const bytes = await readFull(source, length)
  const ended = bytes.length < length
  if (ended) {
    if (how.declaredSize !== undefined) throw short(offset + bytes.length, how.declaredSize)
    if (how.resumed) throw new ClientError('CLIENT_ERR_SOURCE', `the stream is shorter than in the earlier run (partition ${how.index} has ${bytes.length} of ${length} bytes)`)
  }
  hash.update(bytes)
  whole?.update(bytes)
  return { data: new MemoryData(bytes), length: bytes.length, sha256: encodeBase64(hash.digest()), ended }
}

/**
 * `body` hashed as the transport pulls it: `digest()` (base64) once every one of its bytes went
 * through; before that it throws `CLIENT_ERR_SOURCE` (a transport calls it only after the body's
 * end, so that would be a bug, never a wrong digest).
 */
export function hashedBody(body: StreamedBody, hash: Hash): { readonly body: StreamedBody; readonly digest: () => string } {
  let seen = 0
  let digest: string | undefined
  async function* hashing(): AsyncGenerator<Uint8Array> {
    for await (const piece of body.stream) {
      hash.update(piece)
      seen += piece.length
      yield piece
    }
  }
  return {
    body: { length: body.length, stream: hashing() },
    digest: () => {
      if (seen !== body.length) throw new ClientError('CLIENT_ERR_SOURCE', `a body of ${body.length} bytes was digested after ${seen} of them`)
      return (digest ??= encodeBase64(hash.digest()))
    },
  }
}

/** The next `length` bytes of a stream in one buffer; fewer only where it ended. */
async function readFull(source: SequentialSource, length: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let n = 0
  while (n < length) {
    const piece = await source.next(length - n)
    if (piece.length === 0) break
    parts.push(piece)
    n += piece.length
  }
  return concatBytes(parts, n)
}

