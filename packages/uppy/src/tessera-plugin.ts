import { upload, type BrowserUploadOptions, type Upload, type UploadResult } from '@tessera/client/browser'
import { BasePlugin, type Body, type DefinePluginOpts, type Meta, type PluginOpts, type Uppy, type UppyFile } from '@uppy/core'
import { uploadMetadata } from './file-metadata.js'
import { FileSlots } from './file-slots.js'

/** What `@tessera/client`'s browser `upload()` takes that the plugin sets per file itself. */
type PerFile = 'metadata' | 'fingerprint' | 'size' | 'signal' | 'headers'

/** Options of the {@link Tessera} plugin: `@tessera/client`'s upload options, plus what Uppy users know from @uppy/tus. */
export interface TesseraOptions<M extends Meta, B extends Body> extends PluginOpts, Omit<BrowserUploadOptions, PerFile> {
  /** Gateways sharing storage (`https://…/files`); partitions are spread across them and hedged. Required. */
  endpoints: readonly string[]
  /** Headers on every request of a file's upload (e.g. `authorization`), or a function of the file. Default none. */
  headers?: Readonly<Record<string, string>> | ((file: UppyFile<M, B>) => Readonly<Record<string, string>>)
  /** Files uploading at once (each sends several partitions in parallel). Default 3. */
  limit?: number
  /** Meta fields sent as `Upload-Metadata`: `true` all (default), `false` none, or their names. */
  allowedMetaFields?: boolean | readonly string[]
}

const defaults = { limit: 3, allowedMetaFields: true } as const

type Opts<M extends Meta, B extends Body> = DefinePluginOpts<TesseraOptions<M, B>, keyof typeof defaults>

/** What `upload-success` carries in `response.body`. */
export interface TesseraResponseBody {
  /** The uploaded file's URL on the gateway (GET downloads it). */
  readonly url: string
  readonly size: number
  /** The partition-list digest the gateway checked the upload against, hex (parallel mode). */
  readonly partitionsSha256: string | undefined
  /** Whole-file SHA-256, hex, with `integrity: 'sha256'`. */
  readonly sha256: string | undefined
}

/** One file being uploaded: its upload once started, and how to abandon its wait for a slot. */
interface Running {
  upload: Upload | undefined
  readonly waiting: AbortController
  /** Removed or cancelled: its end is not reported as an error. */
  dropped: boolean
}

/**
 * Uppy uploader plugin on `@tessera/client`: `uppy.use(Tessera, { endpoints: […] })` in place of
 * `uppy.use(Tus, { endpoint })`. Every file is uploaded in adaptive partitions, hedged, with SHA-256
 * verified per partition and for the whole file; progress, success and errors reach Uppy as its
 * events (`upload-progress`, `upload-success`, `upload-error`), and Uppy's pause, resume, cancel,
 * retry and Golden Retriever work as with @uppy/tus: a retried or restored file resumes from the
 * resume state the client keeps in IndexedDB under the file's Uppy id, sending no acknowledged
 * byte again. Remote (Companion) files are not supported (an `upload-error` says so).
 */
export default class Tessera<M extends Meta, B extends Body> extends BasePlugin<Opts<M, B>, M, B> {
  static VERSION = '0.1.0'
  readonly #slots: FileSlots
  readonly #running = new Map<string, Running>()

  constructor(uppy: Uppy<M, B>, opts: TesseraOptions<M, B>) {
    super(uppy, { ...defaults, ...opts })
    this.type = 'uploader'
    this.id = this.opts.id ?? 'Tessera'
    if (!Array.isArray(this.opts.endpoints) || this.opts.endpoints.length === 0) throw new TypeError('@tessera/uppy: `endpoints` must list at least one tus endpoint URL')
    if (!Number.isInteger(this.opts.limit) || this.opts.limit < 1) throw new TypeError(`@tessera/uppy: \`limit\` must be a positive integer, got ${String(this.opts.limit)}`)
    this.#slots = new FileSlots(this.opts.limit)
  }

  override install(): void {
    this.#plug(true)
  }

  override uninstall(): void {
    this.#plug(false)
    this.#onCancelAll()
  }

  /** Installs (`on`) or removes the uploader, its capability and its listeners — one list for both. */
  #plug(on: boolean): void {
    this.uppy.setState({ capabilities: { ...this.uppy.getState().capabilities, resumableUploads: on } })
    if (on) this.uppy.addUploader(this.#handleUpload)
    else this.uppy.removeUploader(this.#handleUpload)
    const listen = on ? this.uppy.on.bind(this.uppy) : this.uppy.off.bind(this.uppy)
    listen('upload-pause', this.#onPause)
    listen('pause-all', this.#onPauseAll)
    listen('resume-all', this.#onResumeAll)
    listen('cancel-all', this.#onCancelAll)
    listen('file-removed', this.#onRemoved)
  }

  #handleUpload = async (fileIDs: string[]): Promise<void> => {
    // As @uppy/tus: files with an error or already complete are skipped; a file Golden Retriever
    // restored after it had started is not announced again.
    const files = this.uppy.getFilesByIds(fileIDs).filter((f) => !f.error && !f.progress.uploadComplete)
    this.uppy.emit('upload-start', files.filter((f) => !f.progress.uploadStarted || !f.isRestored))
    await Promise.allSettled(files.map((f) => this.#uploadFile(f)))
  }

  async #uploadFile(file: UppyFile<M, B>): Promise<void> {
    this.#running.get(file.id)?.upload?.abort()
    const running: Running = { upload: undefined, waiting: new AbortController(), dropped: false }
    this.#running.set(file.id, running)
    try {
      if (file.isRemote || !file.data) throw new Error(file.isRemote ? '@tessera/uppy uploads local files only: use @uppy/tus for remote (Companion) files' : `the data of ${file.name ?? file.id} is gone (not restored after a reload)`)
      await this.#slots.acquire(running.waiting.signal)
      try {
        if (running.dropped) return
        const result = await this.#send(file, file.data, running)
        const body: TesseraResponseBody = { url: result.url, size: result.size, partitionsSha256: result.partitionsSha256, sha256: result.sha256 }
        this.uppy.emit('upload-success', this.uppy.getFile(file.id), { uploadURL: result.url, status: 200, body: body as unknown as B })
      } finally {
        this.#slots.release()
      }
    } catch (err) {
      if (running.dropped) return
      this.uppy.log(err as Error)
      this.uppy.emit('upload-error', this.uppy.getFile(file.id) ?? file, err as Error)
      throw err
    } finally {
      if (this.#running.get(file.id) === running) this.#running.delete(file.id)
    }
  }

  #send(file: UppyFile<M, B>, data: Blob, running: Running): Promise<UploadResult> {
    const { endpoints, headers, limit: _limit, allowedMetaFields, id: _id, ...client } = this.opts
    const u = upload(data, {
      ...client,
      endpoints,
      metadata: uploadMetadata(file.meta, allowedMetaFields),
      // Uppy's file id (name, type, size, lastModified, relative path) names the file across reloads:
      // Golden Retriever restores it as a Blob, which has no fingerprint of its own.
      fingerprint: `uppy:${file.id}`,
      ...(headers && { headers: typeof headers === 'function' ? headers(file) : headers }),
    })
    running.upload = u
    if (this.uppy.getFile(file.id)?.isPaused) u.pause()
    u.on('progress', ({ bytesAcked, bytesTotal }) => {
      const latest = this.uppy.getFile(file.id)
      if (!latest) return
      this.uppy.emit('upload-progress', latest, { uploadStarted: latest.progress.uploadStarted || Date.now(), bytesUploaded: bytesAcked, bytesTotal: bytesTotal ?? data.size })
    })
    return u.done
  }

  #onPause = (file: UppyFile<M, B> | undefined, isPaused: boolean): void => {
    const u = file && this.#running.get(file.id)?.upload
    if (isPaused) u?.pause()
    else u?.resume()
  }

  #onPauseAll = (): void => {
    for (const r of this.#running.values()) r.upload?.pause()
  }

  #onResumeAll = (): void => {
    for (const r of this.#running.values()) r.upload?.resume()
  }

  #onCancelAll = (): void => {
    for (const id of [...this.#running.keys()]) this.#drop(id)
  }

  #onRemoved = (file: UppyFile<M, B>): void => this.#drop(file.id)

  /** Stops a file's upload for good (removed, cancelled): its partials on the gateway are terminated and its resume state deleted, as @uppy/tus terminates its upload. */
  #drop(id: string): void {
    const running = this.#running.get(id)
    if (!running) return
    running.dropped = true
    running.waiting.abort()
    void running.upload?.cancel()
    this.#running.delete(id)
  }
}
