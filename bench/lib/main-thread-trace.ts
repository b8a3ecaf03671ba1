// Where a page's main thread spends its time: a Chromium trace (CDP `Tracing`, the timeline
// categories DevTools records) around one action, reduced to self time per kind of work on the
// renderer's main thread (CrRendererMain). Names are Chromium's trace event names (v156).
import type { CDPSession } from 'playwright-core'

const CATEGORIES = ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'toplevel', 'blink', 'v8', 'v8.execute', 'disabled-by-default-v8.gc', 'mojom', 'loading']

interface TraceEvent {
  readonly name: string
  readonly ph: string
  readonly pid: number
  readonly tid: number
  readonly ts: number
  readonly dur?: number
  readonly args?: { readonly name?: string; readonly chrome_mojo_event_info?: { readonly watcher_notify_interface_tag?: string } }
}

/** Kinds of main-thread work, in the order a report lists them. */
export const WORK_KINDS = ['reading Blobs into ArrayBuffers', 'WebCrypto SHA-256', 'requests (fetch, XHR), Blob bodies, responses', 'microtasks (native self time)', 'JavaScript', 'garbage collection', 'tasks (native self time)', 'other'] as const
export type WorkKind = (typeof WORK_KINDS)[number]

function kindOf(e: TraceEvent): WorkKind {
  const n = e.name
  if (n === 'SimpleWatcher::OnHandleReady' && e.args?.chrome_mojo_event_info?.watcher_notify_interface_tag?.endsWith('file_reader_loader.cc')) return 'reading Blobs into ArrayBuffers'
  if (n === 'DoDigest' || n === 'DoDigestReply') return 'WebCrypto SHA-256'
  if (/^(ResourceFetcher|URLLoader|ThrottlingURLLoader|ResourceRequestSender|ResponseBodyLoader|BlobRegistry|XHR|ThreadableLoader)/.test(n)) return 'requests (fetch, XHR), Blob bodies, responses'
  if (n === 'RunMicrotasks') return 'microtasks (native self time)'
  if (n === 'FunctionCall' || n === 'v8.callFunction' || n === 'EvaluateScript' || n === 'v8.compile' || n === 'V8.Execute') return 'JavaScript'
  if (n.startsWith('V8.GC') || n.includes('GC')) return 'garbage collection'
  if (n === 'RunTask' || n === 'ThreadControllerImpl::RunTask') return 'tasks (native self time)'
  return 'other'
}

/** Main-thread time of `action`, seconds: in all, and self time per {@link WorkKind}. */
export async function traceMainThread(cdp: CDPSession, action: () => Promise<void>): Promise<{ totalS: number; byKind: Record<WorkKind, number> }> {
  const events: TraceEvent[] = []
  cdp.on('Tracing.dataCollected', (e) => events.push(...(e.value as unknown as TraceEvent[])))
  const complete = new Promise<void>((resolve) => cdp.once('Tracing.tracingComplete', () => resolve()))
  await cdp.send('Tracing.start', { transferMode: 'ReportEvents', traceConfig: { includedCategories: CATEGORIES } })
  try {
    await action()
  } finally {
    await cdp.send('Tracing.end')
    await complete
  }
  const mains = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`))
  const perThread = new Map<string, TraceEvent[]>()
  for (const e of events) {
    const key = `${e.pid}:${e.tid}`
    if (e.ph !== 'X' || e.dur === undefined || !mains.has(key)) continue
    const list = perThread.get(key)
    if (list) list.push(e)
    else perThread.set(key, [e])
  }
  let best = { totalS: 0, byKind: noWork() }
  for (const list of perThread.values()) {
    const r = selfTimes(list)
    if (r.totalS > best.totalS) best = r
  }
  return best
}

/** Zero seconds of every {@link WorkKind}. */
function noWork(): Record<WorkKind, number> {
  return Object.fromEntries(WORK_KINDS.map((k) => [k, 0])) as Record<WorkKind, number>
}

/** Self time of each event (its duration less its children's), summed per kind; total = top-level events. */
function selfTimes(list: TraceEvent[]): { totalS: number; byKind: Record<WorkKind, number> } {
  const byKind = noWork()
  const sorted = [...list].sort((a, b) => a.ts - b.ts || b.dur! - a.dur!)
  const stack: TraceEvent[] = []
  let total = 0
  for (const e of sorted) {
    while (stack.length > 0 && stack.at(-1)!.ts + stack.at(-1)!.dur! <= e.ts) stack.pop()
    const parent = stack.at(-1)
    if (parent) byKind[kindOf(parent)] -= Math.min(e.dur!, parent.ts + parent.dur! - e.ts)
    else total += e.dur!
    byKind[kindOf(e)] += e.dur!
    stack.push(e)
  }
  for (const k of WORK_KINDS) byKind[k] = Math.round(byKind[k] / 1e4) / 100
  return { totalS: Math.round(total / 1e4) / 100, byKind }
}
