// Does a GET of a finished upload kill the server? DESIGN.md reports that @tus/server 2.4.5's own
// GET handler (FileStore `read` → web Response) kills the whole process under curl with
// `ERR_INVALID_STATE: ReadableStream is already closed`. This uploads one file to stock
// @tus/server + FileStore and to our gateway, then GETs it with curl `--gets` times each,
// checking after every GET whether the server process is still alive (restarting it on the same
// data when it died) and whether the body was complete and right.
//
//   node --import tsx bench/get-crash.ts [--gets 24] [--size 8MiB]
//
// Writes bench/results/get-crash.json and .md. Needs curl on PATH.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'
import { compileChild } from './lib/compile-child.js'
import { startGateway } from './lib/gateway.js'
import { send } from './lib/http-raw.js'
import { alive, type Started, startChild, stopChild } from './lib/proc.js'
import { seededBytes, sha256File } from './lib/seeded-file.js'
import { parseBytes } from './lib/stats.js'

const here = dirname(fileURLToPath(import.meta.url))
const { values } = parseArgs({ options: { gets: { type: 'string', default: '24' }, size: { type: 'string', default: '8MiB' } } })
const GETS = Number(values.gets)
const SIZE = parseBytes(values.size)
const TUS = { 'Tus-Resumable': '1.0.0' }
const run = promisify(execFile)
const tusServer = compileChild('tus-server')

interface Target {
  readonly name: 'tus-server' | 'tessera'
  readonly describe: string
  start(data: string): Promise<Started>
}

const targets: Target[] = [
  { name: 'tus-server', describe: "@tus/server 2.4.5 + @tus/file-store, @tus/server's own GET handler", start: (data) => startChild(process.execPath, [tusServer, '--data', data], /listening: (http:\/\/\S+)/) },
  { name: 'tessera', describe: "Tessera gateway, default config, the gateway's own GET route", start: async (data) => (await startGateway(data)).server },
]

async function trials(target: Target, bytes: Buffer, sha256: string) {
  const data = await mkdtemp(join(tmpdir(), `tessera-getcrash-${target.name}-`))
  let server = await target.start(data)
  const endpoint = server.match[1]!
  const created = await send(endpoint, 'POST', { ...TUS, 'Upload-Length': String(bytes.length) }, undefined, 5_000)
  // Restarted servers listen on a new port: the URL is rebuilt from the path.
  const path = new URL(created.headers['location'] as string, endpoint).pathname
  const patched = await send(new URL(path, endpoint).href, 'PATCH', { ...TUS, 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' }, bytes, 30_000)
  if (patched.status !== 204) throw new Error(`${target.name}: upload PATCH answered ${patched.status}`)
  const gets: { n: number; curlExit: number; httpCode: string; bytes: number; bodyOk: boolean; serverAlive: boolean; crash?: string }[] = []
  try {
    for (let n = 1; n <= GETS; n++) {
      const url = new URL(path, server.match[1]!).href
      const file = join(data, `get-${n}.bin`)
      let curlExit = 0
      let out = ''
      try {
        out = (await run('curl', ['-s', '-o', file, '-w', '%{http_code} %{size_download}', '--max-time', '30', url])).stdout
      } catch (err) {
        const e = err as { code?: number; stdout?: string }
        curlExit = typeof e.code === 'number' ? e.code : -1
        out = e.stdout ?? ''
      }
      const [httpCode = '', size = '0'] = out.trim().split(' ')
      let bodyOk = false
      try {
        bodyOk = (await sha256File(file)) === sha256
        await rm(file, { force: true })
      } catch {
        bodyOk = false
      }
      // Give a dying process a moment to go.
      await sleep(200)
      const serverAlive = alive(server.pid) && server.child.exitCode === null
      const entry: (typeof gets)[number] = { n, curlExit, httpCode, bytes: Number(size), bodyOk, serverAlive }
      if (!serverAlive) {
        const lines = server.stderr().split('\n')
        const at = lines.findIndex((l) => /^\w*Error\b/.test(l))
        entry.crash = at >= 0 ? lines.slice(at, at + 3).map((l) => l.trim()).join(' ') : lines.slice(-5).join(' | ')
        server = await target.start(data)
      }
      gets.push(entry)
    }
  } finally {
    await stopChild(server)
    await rm(data, { recursive: true, force: true })
  }
  return { server: target.name, describe: target.describe, gets: gets.length, processDied: gets.filter((g) => !g.serverAlive).length, completeAndCorrect: gets.filter((g) => g.bodyOk).length, firstDeathAtGet: gets.find((g) => !g.serverAlive)?.n, crashMessages: [...new Set(gets.flatMap((g) => (g.crash ? [g.crash] : [])))], trials: gets }
}

async function main(): Promise<void> {
  const bytes = seededBytes(SIZE, 0x6e7c7a5)
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  const { stdout: curlVersion } = await run('curl', ['--version'])
  const results = []
  for (const target of targets) {
    const r = await trials(target, bytes, sha256)
    console.error(`${r.server}: process died after ${r.processDied} of ${r.gets} GETs; ${r.completeAndCorrect} complete and correct bodies${r.crashMessages.length ? `; ${r.crashMessages.join(' / ')}` : ''}`)
    results.push(r)
  }
  const report = {
    benchmark: 'get-crash',
    command: `node --import tsx bench/get-crash.ts --gets ${GETS} --size ${values.size}`,
    scenario: `upload ${SIZE} bytes with one POST + PATCH, then \`curl -s -o FILE URL\` ${GETS} times in sequence (a new connection each); after each GET: is the server process alive, is the body complete and its SHA-256 right; a dead server is restarted on the same data dir`,
    curl: curlVersion.split('\n')[0],
    node: process.version,
    date: new Date().toISOString(),
    results,
  }
  mkdirSync(join(here, 'results'), { recursive: true })
  writeFileSync(join(here, 'results/get-crash.json'), `${JSON.stringify(report, null, 2)}\n`)
  const md = [
    '# GET of a finished upload under curl',
    '',
    `\`${report.command}\` — ${report.date}, Node ${report.node}, ${report.curl}.`,
    '',
    report.scenario,
    '',
    '| server | GETs | process died | first death at GET # | complete, correct bodies | error on death |',
    '|---|---:|---:|---:|---:|---|',
    ...results.map((r) => `| ${r.server} | ${r.gets} | ${r.processDied} | ${r.firstDeathAtGet ?? '—'} | ${r.completeAndCorrect} | ${r.crashMessages.join('<br>') || '—'} |`),
    '',
  ].join('\n')
  writeFileSync(join(here, 'results/get-crash.md'), md)
  console.log(md)
}

await main()
