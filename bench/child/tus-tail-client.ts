// The tail bench's baseline: stock tus-js-client 4.3.1 uploading one file several times, one
// upload after another, each to the endpoint the plan gives it (a load balancer's pick).
//
//   node bench/.build/tus-tail-client.mjs --file PATH --plan URL,URL,… [--socket-timeout-ms 10000]
//     [--retry-delays 0,1000,3000,5000] [--upload-timeout-ms 120000]
//
// tus-js-client has no timeout of its own. Its Node HttpStack passes `requestOptions` to
// http.request, so `requestOptions: { timeout }` only arms the socket's idle timer: Node then emits
// 'timeout' on the request and *does nothing else*, and tus-js-client listens for 'error' and
// 'response' only — the stalled request hangs forever (DESIGN.md saw exactly that). What bounds it
// is an HttpStack whose requests destroy themselves on that 'timeout' (`TimeoutHttpStack` below):
// the destroy surfaces as a request error, which tus-js-client retries per `retryDelays` (HEAD for
// the offset, then PATCH the rest). A per-upload cap (`--upload-timeout-ms`) stops an upload that
// still does not finish (reported ok false) so the bench is bounded.
//
// Prints one JSON line per upload { kind: 'upload', i, endpoint, ok, ms, retries, error? } and a
// summary line.
import { createReadStream, readFileSync } from 'node:fs'
import type { ClientRequest } from 'node:http'
import { basename } from 'node:path'
import { parseArgs } from 'node:util'
import { DefaultHttpStack, type HttpRequest, Upload } from 'tus-js-client'

const { values } = parseArgs({
  options: {
    file: { type: 'string' },
    plan: { type: 'string' },
    'socket-timeout-ms': { type: 'string', default: '10000' },
    'retry-delays': { type: 'string', default: '0,1000,3000,5000' },
    'upload-timeout-ms': { type: 'string', default: '120000' },
  },
})
const file = values.file
const plan = values.plan?.split(',').filter(Boolean) ?? []
if (!file || plan.length === 0) throw new Error('--file and --plan are required')
const socketTimeoutMs = Number(values['socket-timeout-ms'])
const retryDelays = values['retry-delays'].split(',').map(Number)
const uploadTimeoutMs = Number(values['upload-timeout-ms'])

/** tus-js-client's Node HttpStack, but a request whose socket is idle for `timeoutMs` is destroyed (→ a retriable error). */
class TimeoutHttpStack extends DefaultHttpStack {
  constructor(readonly timeoutMs: number) {
    super({})
  }
  override createRequest(method: string, url: string): HttpRequest {
    const req = super.createRequest(method, url)
    const send = req.send.bind(req)
    req.send = (body) => {
      const sent = send(body) // creates the http.ClientRequest synchronously
      const r = req.getUnderlyingObject() as ClientRequest
      r.setTimeout(this.timeoutMs, () => r.destroy(new Error(`socket idle for ${this.timeoutMs} ms`)))
      return sent
    }
    return req
  }
}
const httpStack = new TimeoutHttpStack(socketTimeoutMs)

const cpuBefore = process.cpuUsage()
let ok = true
for (const [i, endpoint] of plan.entries()) {
  const started = performance.now()
  let retries = 0
  let upload: Upload | undefined
  let timer: NodeJS.Timeout | undefined
  const line = await new Promise<Record<string, unknown>>((resolve) => {
    upload = new Upload(createReadStream(file), {
      endpoint,
      retryDelays,
      httpStack,
      metadata: { filename: basename(file), filetype: 'application/octet-stream' },
      // tus-js-client's default rule (no 4xx but 409/423), counting the retries it takes.
      onShouldRetry: (err) => {
        const status = err.originalResponse?.getStatus() ?? 0
        const retry = status < 400 || status >= 500 || status === 409 || status === 423
        if (retry) retries++
        return retry
      },
      onSuccess: () => resolve({ ok: true, url: upload!.url }),
      onError: (err) => resolve({ ok: false, error: String(err.message).split('\n')[0]!.slice(0, 300) }),
    })
    timer = setTimeout(() => {
      void upload!.abort()
      resolve({ ok: false, error: `not finished within ${uploadTimeoutMs} ms` })
    }, uploadTimeoutMs)
    upload.start()
  })
  clearTimeout(timer)
  if (!line['ok']) ok = false
  console.log(JSON.stringify({ kind: 'upload', i, endpoint, ms: performance.now() - started, retries, ...line }))
}
const cpu = process.cpuUsage(cpuBefore)
const hwm = readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s+(\d+) kB/m)
console.log(JSON.stringify({ kind: 'summary', ok, peakRssMiB: Number(hwm?.[1] ?? NaN) / 1024, cpuSeconds: (cpu.user + cpu.system) / 1e6 }))
process.exit(0)
