import { open } from 'node:fs/promises'
import type { ReconciliationEvent } from '../reconciliation/event-log.js'

/** How much of the end of the event log one call reads, bytes. */
const TAIL_BYTES = 64 * 1024

/** `GET /_tessera/reconciliation`: the latest reconciliation events of this gateway. */
export interface ReconciliationTail {
  /** The latest events (at most `limit`), newest last, each with the `time` the log added. */
  readonly recent: readonly (ReconciliationEvent & { readonly time: string })[]
  /** Events per type among those read (the last 64 KiB of the log: a few hundred events). */
  readonly counts: Readonly<Record<string, number>>
}

/**
 * Reads the end of the JSON-lines event log (`--reconciliation-log`): one bounded read, whatever
 * the file's size; the line the read starts inside of, and any line that does not parse (a write
 * cut by a crash), are skipped. A missing file is an empty log.
 */
export async function reconciliationTail(path: string, limit: number): Promise<ReconciliationTail> {
  let text: string
  let fromStart: boolean
  try {
    const file = await open(path, 'r')
    try {
      const { size } = await file.stat()
      const start = Math.max(0, size - TAIL_BYTES)
      const buffer = Buffer.alloc(size - start)
      const { bytesRead } = await file.read(buffer, 0, buffer.length, start)
      text = buffer.subarray(0, bytesRead).toString('utf8')
      fromStart = start === 0
    } finally {
      await file.close()
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { recent: [], counts: {} }
    throw err
  }
  const lines = text.split('\n')
  if (!fromStart) lines.shift()
  const events: (ReconciliationEvent & { time: string })[] = []
  for (const line of lines) {
    if (line === '') continue
    try {
      events.push(JSON.parse(line) as ReconciliationEvent & { time: string })
    } catch {
      // A torn last line: skipped, as the log's contract allows.
    }
  }
  const counts: Record<string, number> = {}
  for (const e of events) counts[e.event] = (counts[e.event] ?? 0) + 1
  return { recent: events.slice(-limit), counts }
}
