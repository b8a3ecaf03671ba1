/** Longest request head the framer waits for before it gives up and treats the stream as opaque. */
const MAX_HEAD_BYTES = 64 * 1024
/** Longest chunk-size or trailer line accepted in a chunked body. */
const MAX_LINE_BYTES = 8 * 1024

type State = 'idle' | 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailers' | 'opaque'

/**
 * Finds where HTTP/1.1 requests begin in the client → upstream byte stream, so that faults can be
 * rolled per request on keep-alive connections. It only frames (Content-Length, chunked, no body);
 * bytes are never changed. Anything it does not understand — a non-HTTP protocol, `CONNECT`, an
 * `Upgrade`, a head over 64 KiB — turns it *opaque*: the rest of the connection is one request.
 */
export class RequestFramer {
  #state: State = 'idle'
  #head = ''
  #line = ''
  #remaining = 0
  #requests = 0

  /** Requests started so far. */
  get requests(): number {
    return this.#requests
  }

  /** True once the stream is no longer framed (see the class comment). */
  get opaque(): boolean {
    return this.#state === 'opaque'
  }

  /** Feeds the next bytes; returns the offsets in `chunk` at which a new request begins, in order. */
  push(chunk: Uint8Array): number[] {
    const starts: number[] = []
    let i = 0
    while (i < chunk.length) {
      switch (this.#state) {
        case 'opaque':
          return starts
        case 'idle': {
          const b = chunk[i]
          if (b === 0x0d || b === 0x0a) {
            i++ // stray CRLF between requests (RFC 9112 §2.2)
            break
          }
          starts.push(i)
          this.#requests++
          this.#state = 'head'
          this.#head = ''
          break
        }
        case 'head': {
          const from = Math.max(0, this.#head.length - 3)
          const take = Math.min(chunk.length - i, MAX_HEAD_BYTES + 4 - this.#head.length)
          const before = this.#head.length
          this.#head += latin1(chunk, i, i + take)
          const end = this.#head.indexOf('\r\n\r\n', from)
          if (end === -1) {
            i += take
            if (this.#head.length > MAX_HEAD_BYTES) this.#state = 'opaque'
            break
          }
          i += end + 4 - before
          this.#head = this.#head.slice(0, end)
          this.#afterHead()
          break
        }
        case 'body': {
          const n = Math.min(this.#remaining, chunk.length - i)
          i += n
          this.#remaining -= n
          if (this.#remaining === 0) this.#state = 'idle'
          break
        }
        case 'chunk-size':
        case 'trailers': {
          const nl = chunk.indexOf(0x0a, i)
          const stop = nl === -1 ? chunk.length : nl
          this.#line += latin1(chunk, i, stop)
          if (this.#line.length > MAX_LINE_BYTES) {
            this.#state = 'opaque'
            break
          }
          if (nl === -1) {
            i = chunk.length
            break
          }
          i = nl + 1
          const line = this.#line.replace(/\r$/, '')
          this.#line = ''
          if (this.#state === 'trailers') {
            if (line === '') this.#state = 'idle'
            break
          }
          const size = Number.parseInt(line.split(';')[0]!.trim(), 16)
          if (!Number.isFinite(size) || size < 0) this.#state = 'opaque'
          else if (size === 0) this.#state = 'trailers'
          else {
            this.#remaining = size
            this.#state = 'chunk-data'
          }
          break
        }
        case 'chunk-data': {
          const n = Math.min(this.#remaining, chunk.length - i)
          i += n
          this.#remaining -= n
          if (this.#remaining === 0) {
            this.#remaining = 2
            this.#state = 'chunk-crlf'
          }
          break
        }
        case 'chunk-crlf': {
          const n = Math.min(this.#remaining, chunk.length - i)
          i += n
          this.#remaining -= n
          if (this.#remaining === 0) this.#state = 'chunk-size'
          break
        }
      }
    }
    return starts
  }

  #afterHead(): void {
    const lines = this.#head.split('\r\n')
    this.#head = ''
    const requestLine = /^([A-Za-z]+) \S+ HTTP\/1\.[01]$/.exec(lines[0] ?? '')
    if (requestLine === null || requestLine[1]!.toUpperCase() === 'CONNECT') {
      this.#state = 'opaque'
      return
    }
    let length: number | undefined
    let chunked = false
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':')
      if (colon <= 0) continue
      const name = line.slice(0, colon).trim().toLowerCase()
      const value = line.slice(colon + 1).trim()
      if (name === 'upgrade') {
        this.#state = 'opaque'
        return
      }
      if (name === 'transfer-encoding') chunked = /(?:^|,)\s*chunked\s*$/i.test(value)
      if (name === 'content-length') {
        if (!/^\d+$/.test(value)) {
          this.#state = 'opaque'
          return
        }
        length = Number(value)
      }
    }
    if (chunked) {
      this.#state = 'chunk-size'
    } else if (length !== undefined && length > 0) {
      this.#remaining = length
      this.#state = 'body'
    } else {
      this.#state = 'idle'
    }
  }
}

function latin1(chunk: Uint8Array, from: number, to: number): string {
  return Buffer.from(chunk.buffer, chunk.byteOffset + from, to - from).toString('latin1')
}
