// Helpers of the reconciliation tests: Tessera partials (attempts) as our client creates them,
// finals, and the event log.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { partitionListBytes } from '@tessera/protocol'
import type { ReconciliationEvent } from '../../src/reconciliation/event-log.js'
import { TUS, metadata, type TestGateway } from './gateway.js'

/** Base64 SHA-256 of `data`, as `tessera-sha256` carries it. */
export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('base64')
}

/** Base64 partition-list digest (`tessera-partitions-sha256`) of `file` cut at `cuts` (0, …, file.length). */
export function partitionsSha256(file: Uint8Array, cuts: readonly number[]): string {
  const parts = cuts.slice(0, -1).map((offset, i) => ({ offset, length: cuts[i + 1]! - offset, sha256: createHash('sha256').update(file.subarray(offset, cuts[i + 1]!)).digest() }))
  return createHash('sha256').update(partitionListBytes(parts)).digest('base64')
}

export interface AttemptSpec {
  /** `<session>/<index>` */
  readonly partition: string
  readonly offset: number
  readonly attempt: number
  readonly length: number
  /** `tessera-sha256`; omitted when `null`. */
  readonly sha256: string | null
  /** `tessera-integrity`; omitted when undefined. */
  readonly integrity?: 'sha256' | 'partitions'
}

/** The `Upload-Metadata` of an attempt. */
export function attemptMetadata(spec: Omit<AttemptSpec, 'length'>): string {
  return metadata({
    'tessera-partition': spec.partition,
    'tessera-offset': String(spec.offset),
    'tessera-attempt': String(spec.attempt),
    ...(spec.sha256 !== null && { 'tessera-sha256': spec.sha256 }),
    ...(spec.integrity !== undefined && { 'tessera-integrity': spec.integrity }),
  })
}

/** POSTs a partial attempt; resolves the response (201 expected by callers that check). */
export function postAttempt(endpoint: string, spec: AttemptSpec): Promise<Response> {
  return fetch(endpoint, {
    method: 'POST',
    headers: { ...TUS, 'Upload-Concat': 'partial', 'Upload-Length': String(spec.length), 'Upload-Metadata': attemptMetadata(spec) },
  })
}

/** Creates an attempt of `data` at `offset` in the file; resolves its URL. */
export async function createAttempt(
  endpoint: string,
  partition: string,
  offset: number,
  attempt: number,
  data: Uint8Array,
  digest: string | null = sha256(data),
  integrity?: AttemptSpec['integrity'],
): Promise<string> {
  const res = await postAttempt(endpoint, { partition, offset, attempt, length: data.length, sha256: digest, ...(integrity && { integrity }) })
  if (res.status !== 201) throw new Error(`create attempt: ${res.status} ${await res.text()}`)
  return res.headers.get('location')!
}

/** POST of a final naming `urls`, with optional final metadata. */
export function postFinal(endpoint: string, urls: readonly string[], meta?: Record<string, string>): Promise<Response> {
  return fetch(endpoint, {
    method: 'POST',
    headers: { ...TUS, 'Upload-Concat': `final;${urls.join(' ')}`, ...(meta && { 'Upload-Metadata': metadata(meta) }) },
  })
}

/** One line of the event log as read back: the event the gateway appended, with the `time` the log added. */
export type LoggedEvent = ReconciliationEvent & { readonly time: string }

/** Every line of a JSON-lines event log (none when the file does not exist yet). */
export async function readEvents(path: string): Promise<LoggedEvent[]> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as LoggedEvent)
}

/** Events of the gateway's log concerning upload `id`. */
export async function eventsOf(gw: TestGateway, id: string): Promise<LoggedEvent[]> {
  return (await readEvents(gw.config.reconciliationLog)).filter((e) => e.uploadId === id)
}

/** Creates a deferred-length attempt (`Upload-Defer-Length: 1`, no `tessera-sha256`) at `offset`; resolves its URL. */
export async function createDeferredAttempt(endpoint: string, partition: string, offset: number, attempt: number): Promise<string> {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { ...TUS, 'Upload-Concat': 'partial', 'Upload-Defer-Length': '1', 'Upload-Metadata': attemptMetadata({ partition, offset, attempt, sha256: null }) },
  })
  if (res.status !== 201) throw new Error(`create deferred attempt: ${res.status} ${await res.text()}`)
  return res.headers.get('location')!
}
