// The digest worker: its message types and its source, a string run from a Blob URL. A string, not a
// module file of its own, so it ships inside every bundle of the package whatever the bundler does
// with `new URL('./x.js', import.meta.url)` (esbuild and Rollup leave it pointing at a file the
// bundle lacks) and whatever the bundler's transforms do to functions (a downlevelled async function
// would refer to helpers the worker has not got).

/** Asks a digest worker for the SHA-256 of `blob.slice(start, end)`. The Blob is cloned as a handle: no byte crosses threads. */
export interface DigestJob {
  readonly blob: Blob
  readonly start: number
  readonly end: number
}

/**
 * A digest worker's answer to its {@link DigestJob} (a worker runs one at a time): the 32-byte
 * SHA-256 (transferred), or the `got` bytes the Blob had when fewer than asked, or the `error`
 * reading or digesting them raised.
 */
export type DigestReply = { readonly sha256: ArrayBuffer } | { readonly got: number } | { readonly error: string }

/**
 * The worker's script (classic, no imports): reads the job's range of the Blob inside the worker
 * (`slice().arrayBuffer()`), digests it with WebCrypto there and posts the digest back.
 */
export const DIGEST_WORKER_SOURCE = `"use strict";
onmessage = async (event) => {
  const { blob, start, end } = event.data;
  try {
    const bytes = await blob.slice(start, end).arrayBuffer();
    if (bytes.byteLength < end - start) return postMessage({ got: bytes.byteLength });
    const sha256 = await crypto.subtle.digest("SHA-256", bytes);
    postMessage({ sha256 }, [sha256]);
  } catch (err) {
    postMessage({ error: String((err && err.message) || err) });
  }
};
`
