import { invalidOption } from './invalid-option.js'
import type { Amount, BandwidthPhase } from './options.js'

const NUMBER = String.raw`(\d+(?:\.\d+)?|\.\d+)`

/** `500`, `500ms`, `10s`, `2m`, `1h` → ms; `inf`/`infinity` → `Infinity`. `name` is used in errors. */
export function parseDurationMs(text: string, name: string): number {
  const t = text.trim().toLowerCase()
  if (t === 'inf' || t === 'infinity') return Infinity
  const m = new RegExp(`^${NUMBER}\\s*(ms|s|m|h)?$`).exec(t)
  if (m === null) throw invalidOption(name, 'a duration like `250`, `250ms`, `10s` or `2m`', text)
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms']
  return Number(m[1]) * unit
}

/** `65536`, `64KiB`, `1MiB`, `64kb`, `1mb` → bytes (an integer). */
export function parseBytes(text: string, name: string): number {
  const m = new RegExp(`^${NUMBER}\\s*(b|kb|kib|mb|mib|gb|gib)?$`).exec(text.trim().toLowerCase())
  if (m === null) throw invalidOption(name, 'a size like `65536`, `64KiB` or `1MiB`', text)
  const unit = { b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3 }[(m[2] ?? 'b') as 'b']
  return Math.round(Number(m[1]) * unit)
}

/** `200mbit`, `20Mbit/s`, `1gbps`, `500kbit`, `8000` (bit/s), `unlimited` → bits per second. */
export function parseRate(text: string, name: string): number {
  const t = text.trim().toLowerCase()
  if (t === 'unlimited' || t === 'inf' || t === 'infinity') return Infinity
  const m = new RegExp(`^${NUMBER}\\s*(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)?(?:/s)?$`).exec(t)
  if (m === null) throw invalidOption(name, 'a rate like `200mbit`, `500kbit`, `1gbit` or `unlimited`', text)
  const prefix = (m[2] ?? 'bit').replace(/bit|bps/, '')
  return Number(m[1]) * { '': 1, k: 1e3, m: 1e6, g: 1e9 }[prefix as '']
}

/** `10` → 10, `10-50` → `{ min: 10, max: 50 }`, each side parsed by `one`. */
export function parseAmount(text: string, name: string, one: (t: string, name: string) => number): Amount {
  const parts = text.split('-')
  if (parts.length === 1) return one(text, name)
  if (parts.length !== 2) throw invalidOption(name, 'a value or a range `min-max`', text)
  return { min: one(parts[0]!, name), max: one(parts[1]!, name) }
}

/** `200mbit:10s,20mbit:10s,200mbit:10s` → phases. */
export function parseSchedule(text: string, name: string): BandwidthPhase[] {
  return text.split(',').map((phase) => {
    const [rate, duration, extra] = phase.split(':')
    if (rate === undefined || duration === undefined || extra !== undefined) {
      throw invalidOption(name, 'a schedule like `200mbit:10s,20mbit:10s` (rate:duration, comma-separated)', text)
    }
    return { bitsPerSecond: parseRate(rate, name), durationMs: parseDurationMs(duration, name) }
  })
}
