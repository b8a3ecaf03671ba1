import { formatBytes, formatDuration, formatRate } from './format.js'

/** Where progress goes (process.stderr, or a fake in tests). */
export interface ProgressOutput {
  write(text: string): unknown
  readonly isTTY?: boolean
  readonly columns?: number
}

/** One file's state as the view shows it. */
export interface FileProgress {
  readonly bytesAcked: number
  /** Undefined while unknown. */
  readonly bytesTotal: number | undefined
  /** Acknowledgement rate, bytes/s. */
  readonly rateBps: number
  /** Hedged attempts started so far (0 when the engine reports none). */
  readonly hedges: number
}

/** Options of {@link ProgressView}. */
export interface ProgressViewOptions {
  /** Redraw a bar (true) or print plain lines (false). Default: `output.isTTY`. */
  readonly tty?: boolean
  /** Least time between two bar redraws, ms. Default 100 (≤ 10 redraws/s). */
  readonly redrawMs?: number
  /** Least time between two plain progress lines, ms. Default 5000. */
  readonly plainIntervalMs?: number
  /** Print nothing but {@link ProgressView.log} lines. Default false. */
  readonly quiet?: boolean
  /** Clock, ms. Default `Date.now`. */
  readonly clock?: () => number
}

const CLEAR_LINE = '\r\x1b[2K'

/**
 * Progress of one file at a time on a terminal (a bar redrawn in place, at most every `redrawMs`;
 * finished files keep their last line) or in a pipe (a plain line at most every
 * `plainIntervalMs`). Other messages go through {@link log} so they never tear a bar.
 */
export class ProgressView {
  readonly #out: ProgressOutput
  readonly #tty: boolean
  readonly #redrawMs: number
  readonly #plainMs: number
  readonly #quiet: boolean
  readonly #clock: () => number
  #name = ''
  #state: FileProgress | undefined
  #lastDraw = -Infinity
  #timer: ReturnType<typeof setTimeout> | undefined
  #barShown = false

  constructor(output: ProgressOutput, options: ProgressViewOptions = {}) {
    this.#out = output
    this.#tty = options.tty ?? output.isTTY === true
    this.#redrawMs = options.redrawMs ?? 100
    this.#plainMs = options.plainIntervalMs ?? 5000
    this.#quiet = options.quiet ?? false
    this.#clock = options.clock ?? Date.now
  }

  /** A file starts (`size` in bytes). */
  start(name: string, size: number): void {
    this.#name = name
    this.#state = { bytesAcked: 0, bytesTotal: size, rateBps: 0, hedges: 0 }
    this.#lastDraw = this.#clock()
    if (this.#quiet) return
    if (this.#tty) this.#draw()
    else this.#out.write(`tessera: ${name}: uploading ${formatBytes(size)}\n`)
  }

  /** New numbers for the current file; drawn now or at the next allowed moment. */
  update(state: FileProgress): void {
    this.#state = state
    if (this.#quiet) return
    const wait = (this.#tty ? this.#redrawMs : this.#plainMs) - (this.#clock() - this.#lastDraw)
    if (wait <= 0) return this.#render()
    if (this.#tty && this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined
        this.#render()
      }, wait)
      this.#timer.unref?.()
    }
  }

  /** The current file ended: its bar (or a plain line) shows `summary` and stays. */
  finish(summary: string): void {
    this.#cancel()
    if (!this.#quiet) {
      if (this.#tty) {
        this.#draw(summary)
        this.#out.write('\n')
        this.#barShown = false
      } else {
        this.#out.write(`tessera: ${this.#name}: ${summary}\n`)
      }
    }
    this.#state = undefined
  }

  /** A message line (errors, verbose events); shown even when quiet. */
  log(line: string): void {
    if (this.#tty && this.#barShown) {
      this.#out.write(`${CLEAR_LINE}${line}\n`)
      this.#draw()
    } else {
      this.#out.write(`${line}\n`)
    }
  }

  /** Stops pending redraws and leaves the cursor on a fresh line. */
  close(): void {
    this.#cancel()
    if (this.#tty && this.#barShown) this.#out.write('\n')
    this.#barShown = false
  }

  #cancel(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #render(): void {
    this.#lastDraw = this.#clock()
    if (this.#tty) this.#draw()
    else if (this.#state) this.#out.write(`tessera: ${this.#name}: ${this.#numbers(this.#state)}\n`)
  }

  #draw(summary?: string): void {
    const s = this.#state
    if (!s) return
    const columns = this.#out.columns ?? 80
    const fraction = s.bytesTotal ? Math.min(1, s.bytesAcked / s.bytesTotal) : 0
    const tail = summary ?? this.#numbers(s)
    const barWidth = Math.max(10, Math.min(30, columns - tail.length - 30))
    const filled = Math.round(fraction * barWidth)
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]`
    const room = Math.max(8, columns - bar.length - tail.length - 4)
    const name = this.#name.length > room ? `…${this.#name.slice(this.#name.length - room + 1)}` : this.#name
    this.#out.write(`${CLEAR_LINE}${name} ${bar} ${tail}`.slice(0, columns + CLEAR_LINE.length - 1))
    this.#barShown = true
  }

  #numbers(s: FileProgress): string {
    const total = s.bytesTotal
    const percent = total ? Math.floor((100 * s.bytesAcked) / total) : 0
    const eta = total !== undefined && s.rateBps > 0 ? (total - s.bytesAcked) / s.rateBps : undefined
    return `${String(percent).padStart(3)}% ${formatBytes(s.bytesAcked)}/${formatBytes(total ?? 0)} ${formatRate(s.rateBps)} ETA ${formatDuration(eta)} hedges ${s.hedges}`
  }
}
