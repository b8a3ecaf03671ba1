import { ReedSolomon, createBlockChecksum } from '@tessera/erasure'

/** Codecs by geometry (stripes keep the k+m they were written with) and the block checksum. */
export class CodecPool {
  readonly #codecs = new Map<string, Promise<ReedSolomon>>()

  private constructor(readonly checksum: (bytes: Uint8Array) => string) {}

  static async create(): Promise<CodecPool> {
    return new CodecPool(await createBlockChecksum())
  }

  /** The codec for `dataBlocks + parityBlocks`, created once. */
  codec(dataBlocks: number, parityBlocks: number): Promise<ReedSolomon> {
    const key = `${dataBlocks}+${parityBlocks}`
    let codec = this.#codecs.get(key)
    if (!codec) {
      codec = ReedSolomon.create({ dataBlocks, parityBlocks })
      this.#codecs.set(key, codec)
    }
    return codec
  }
}
