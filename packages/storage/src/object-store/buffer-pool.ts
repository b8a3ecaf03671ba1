/**
 * Stripe buffers ((k+m) × block bytes) reused across appends: without it every append allocated
 * its own `pipelineDepth + 1` buffers, and ingest spent a tenth of its time collecting them. At
 * most `keep` idle buffers are held (memory: keep × size while idle).
 *
 * A buffer is given back only once every block write of its stripe has settled (`writeStripeBlocks`
 * awaits them all); a write that timed out and lands later can only fill a block no manifest
 * references (its ref is null or a spare's), so reuse never changes a committed block.
 */
export class BufferPool {
  readonly #free: Buffer[] = []

  constructor(private readonly keep: number) {}

  /** A buffer of exactly `size` bytes, contents undefined. */
  take(size: number): Buffer {
    const i = this.#free.findIndex((b) => b.length === size)
    if (i < 0) return Buffer.allocUnsafeSlow(size)
    const [buf] = this.#free.splice(i, 1)
    return buf!
  }

  give(buf: Buffer): void {
    if (this.#free.length < this.keep) this.#free.push(buf)
  }
}
