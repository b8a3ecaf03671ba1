// The platform ports. Portable code (everything outside src/node/) sees only these interfaces;
// the Node entry binds node:http, node:fs and node:crypto implementations, a browser entry will bind
// fetch/XHR, Blob and IndexedDB ones.

/** One HTTP request of the tus protocol. */
export interface HttpRequest {
  readonly method: 'OPTIONS' | 'HEAD' | 'POST' | 'PATCH' | 'DELETE'
  /** Absolute URL. */
  readonly url: string
  /** Request headers, lower-case names. */
  readonly headers: Readonly<Record<string, string>>
  /**
   * Request body. A `Uint8Array` is sent with its `Content-Length`; an async iterable is sent with
   * the `Content-Length` given in `headers` (or chunked without one). The transport pulls the
   * iterable only as fast as the socket drains, so bytes pulled ≈ bytes handed to the kernel.
   */
  readonly body?: Uint8Array | AsyncIterable<Uint8Array>
  /**
   * The same bytes as an async-iterable `body`, as a slice of the source's File or Blob
   * ({@link RandomAccessSource.blob}): a transport that sends bodies whole (fetch) sends it as is —
   * the browser reads it from disk while sending, nothing is copied into page memory — and never
   * pulls `body`. A streaming transport ignores it.
   */
  readonly blob?: Blob
  /**
   * Trailer fields sent after an async-iterable body (lower-case names), which then goes chunked:
   * `headers` must carry no `Content-Length`. Only for a transport with `sendsTrailers`. A function
   * is called once the body's last byte went to the socket, so a field may depend on the body (its
   * digest, hashed as it was read); if it throws, the request fails with its error.
   */
  readonly trailers?: Readonly<Record<string, string>> | (() => Readonly<Record<string, string>>)
  /** Called with the running count of body bytes sent, at most every few KiB. */
  readonly onUploadProgress?: (bytesSent: number) => void
  /**
   * No progress (a body byte sent, the response head, a response byte) for this long → the request
   * is aborted with `CLIENT_ERR_STALLED`. ms.
   */
  readonly stallTimeoutMs: number
  readonly signal?: AbortSignal
}

/** The answer to an {@link HttpRequest}. The response body is read whole (tus bodies are small). */
export interface HttpResponse {
  readonly status: number
  /** Response headers, lower-case names; repeated headers joined with `, `. */
  readonly headers: Readonly<Record<string, string>>
  /** The response body as text (error messages), at most a few KiB kept. */
  readonly body: string
}

/**
 * Sends HTTP requests. Implementations throw {@link ClientError} only: `CLIENT_ERR_STALLED` (the
 * progress timer fired), `CLIENT_ERR_UNREACHABLE` (connect failed or timed out), `CLIENT_ERR_NETWORK`
 * (the connection broke mid-request), `CLIENT_ERR_ABORTED` (the request's signal aborted).
 * Any HTTP status is a response, not an error.
 */
export interface HttpTransport {
  /**
   * True when an async-iterable body goes to the socket as it is read (node:http). Otherwise (fetch in
   * a browser) the transport gathers it in memory first, so the client keeps PATCHes ≤ `chunkBytes`.
   */
  readonly streamsBodies?: boolean
  /**
   * True when a request's {@link HttpRequest.blob} is sent as is, at any size, with
   * `onUploadProgress` as its bytes go out (XMLHttpRequest): a verified partition whose source gives
   * Blob slices then goes in one PATCH, as with `streamsBodies`.
   */
  readonly sendsBlobs?: boolean
  /** True when the transport sends {@link HttpRequest.trailers} (node:http; fetch cannot). */
  readonly sendsTrailers?: boolean
  request(req: HttpRequest): Promise<HttpResponse>
  /** Closes idle connections; pending requests are not affected. */
  close(): Promise<void>
}

/**
 * A source whose bytes can be read at any offset, any number of times (a file, a Buffer, a Blob).
 * Memory: a read holds at most one chunk of the underlying reader at a time.
 */
export interface RandomAccessSource {
  readonly kind: 'random'
  /** Size in bytes, fixed for the upload. */
  readonly size: number
  /** Identifies the content for resume (e.g. path + size + mtime), or undefined when it cannot. */
  readonly fingerprint: string | undefined
  /**
   * Yields the bytes [start, end). Yields fewer only if the source shrank: the caller turns a short
   * read into `CLIENT_ERR_SOURCE_SHORT`.
   */
  read(start: number, end: number): AsyncIterable<Uint8Array>
  /** The bytes [start, end) as a Blob to send without reading them (a File's slice), where the source is one. */
  blob?(start: number, end: number): Blob
  /**
   * The SHA-256 of [start, end), computed by the platform off the caller's thread (WebCrypto), where
   * the source can: the engine then does not read those bytes through its incremental hash. Undefined
   * for a range it will not take (e.g. too large to hold at once). Rejects with
   * `CLIENT_ERR_SOURCE_SHORT` when the source has fewer bytes, `CLIENT_ERR_SOURCE` when unreadable.
   */
  digest?(start: number, end: number): Promise<Uint8Array> | undefined
  close(): Promise<void>
}

/** A source that can only be read once, front to back (a Node Readable, a web ReadableStream). */
export interface SequentialSource {
  readonly kind: 'sequential'
  /** Declared size in bytes, or undefined when unknown (deferred length). */
  readonly size: number | undefined
  readonly fingerprint: string | undefined
  /**
   * The next bytes, at most `maxBytes` of them; fewer only when the source ended, an empty array
   * after the end. Buffers at most `maxBytes` beyond what the underlying stream hands over.
   */
  next(maxBytes: number): Promise<Uint8Array>
  close(): Promise<void>
}

/** Where the bytes of an upload come from. */
export type UploadSource = RandomAccessSource | SequentialSource

/**
 * Persists resume state, one JSON-able document per upload key. `set` must be atomic (a crash
 * leaves the old or the new document, never a torn one).
 */
export interface StateStore {
  get(key: string): Promise<unknown | undefined>
  set(key: string, value: unknown): Promise<void>
  delete(key: string): Promise<void>
}

/** An incremental hash (SHA-256 is what the client asks for). */
export interface Hash {
  update(bytes: Uint8Array): void
  /** The digest; the hash must not be used afterwards. */
  digest(): Uint8Array
}

/** Creates incremental SHA-256 hashes (Node: node:crypto; browsers: a JS implementation). */
export type HashFactory = () => Hash

/** A monotonic-enough clock, ms. */
export type Clock = () => number

/** Timers for the hedge loop (default: the global `setTimeout`/`clearTimeout`); tests may drive time themselves. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}
