import type { Readable } from 'node:stream'
import * as tus from 'tus-js-client'

/** What tus-js-client accepts in Node: a Buffer, or a Readable (an `fs.ReadStream` is read by path). Its typings omit Readable. */
export type UploadInput = Buffer | Readable

/** Options of {@link tusUpload}: tus-js-client's own, with `endpoint` required. */
export type TusUploadOptions = tus.UploadOptions & { readonly endpoint: string }

/** A running tus-js-client upload and its outcome. */
export interface RunningUpload {
  readonly upload: tus.Upload
  /** Resolves the upload URL on success; rejects with tus-js-client's error. */
  readonly done: Promise<string>
}

/**
 * Starts a tus-js-client upload. Protocol-generic: it knows nothing of Tessera, so the same helper
 * runs against any tus 1.0 server (see interop.test.ts). `retryDelays` default to none so a
 * failure surfaces instead of being retried behind the test's back.
 */
export function tusUpload(input: UploadInput, options: TusUploadOptions): RunningUpload {
  let upload!: tus.Upload
  const done = new Promise<string>((resolve, reject) => {
    upload = new tus.Upload(input as tus.Upload['file'], {
      retryDelays: null,
      ...options,
      onSuccess: (payload) => {
        options.onSuccess?.(payload)
        resolve(upload.url!)
      },
      onError: (err) => {
        options.onError?.(err)
        reject(err)
      },
    })
  })
  upload.start()
  return { upload, done }
}

/** Uploads `input` and resolves its URL (see {@link tusUpload}). */
export function uploadAll(input: UploadInput, options: TusUploadOptions): Promise<string> {
  return tusUpload(input, options).done
}

/**
 * Uploads `input` (typically resuming on `options.uploadUrl`) and resolves its URL and the offset
 * the client started from: the first progress event, which on a resume is the server's HEAD answer
 * (-1 when no progress was reported).
 */
export async function uploadFrom(input: UploadInput, options: TusUploadOptions): Promise<{ url: string; resumedAt: number }> {
  let resumedAt = -1
  const url = await uploadAll(input, {
    ...options,
    onProgress: (sent, total) => {
      if (resumedAt < 0) resumedAt = sent
      options.onProgress?.(sent, total)
    },
  })
  return { url, resumedAt }
}

/**
 * Resumes an upload from tus-js-client's URL storage (`findPreviousUploads` +
 * `resumeFromPreviousUpload`), as an application would after a restart. Resolves the URL and the
 * offset the client resumed from (the server's HEAD answer, seen as the first progress event).
 */
export async function resumeFromStorage(input: UploadInput, options: TusUploadOptions): Promise<{ url: string; previous: number; resumedAt: number }> {
  let upload!: tus.Upload
  let resumedAt = -1
  const done = new Promise<string>((resolve, reject) => {
    upload = new tus.Upload(input as tus.Upload['file'], {
      retryDelays: null,
      ...options,
      onProgress: (sent, total) => {
        if (resumedAt < 0) resumedAt = sent
        options.onProgress?.(sent, total)
      },
      onSuccess: () => resolve(upload.url!),
      onError: reject,
    })
  })
  const previous = await upload.findPreviousUploads()
  if (previous[0]) upload.resumeFromPreviousUpload(previous[0])
  upload.start()
  return { url: await done, previous: previous.length, resumedAt }
}
