// The `tessera` CLI as a real child process (dist/cli/main.js, built) against a real gateway child
// process: uploads, argument errors, an unreachable endpoint, SIGINT, and kill -9 + re-run resume.
// The only fake is a throttling TCP proxy (a slow network) so a kill can land mid-upload.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { dirname, join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { ProgressView } from '../src/cli/progress-view.js'
import { bytes, download, sha256, startGateway, tempDir, type Gateway } from './helpers.js'
import { JWT_FLAGS, hsToken } from './helpers/jwt.js'

const CLI = join(dirname(fileURLToPath(import.meta.url)), '../dist/cli/main.js')
const MiB = 1024 * 1024
const URL_LINE = /^http:\/\/127\.0\.0\.1:\d+\/files\/[A-Za-z0-9_-]+$/

interface Run {
  readonly child: ChildProcess
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>
}

function tessera(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Run {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  )
  return { child, exited }
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '')
}

/**
 * A TCP proxy to `port` that forwards client → server bytes at `bytesPerSecond` in total (a slow
 * uplink) and counts them; server → client is not throttled.
 */
async function throttlingProxy(port: number, bytesPerSecond: number): Promise<{ port: number; sent: () => number; reset: () => void; close: () => Promise<void> }> {
  let sent = 0
  let budgetStart = Date.now()
  let budgetBytes = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1')
    sockets.add(client).add(upstream)
    upstream.pipe(client)
    client.on('data', (chunk: Buffer) => {
      sent += chunk.length
      budgetBytes += chunk.length
      upstream.write(chunk)
      const ahead = (budgetBytes * 1000) / bytesPerSecond - (Date.now() - budgetStart)
      if (ahead > 5) {
        client.pause()
        setTimeout(() => client.resume(), ahead)
      }
    })
    client.on('end', () => upstream.end())
    const destroy = (): void => {
      client.destroy()
      upstream.destroy()
    }
    client.on('error', destroy).on('close', destroy)
    upstream.on('error', destroy).on('close', destroy)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as { port: number }).port,
    sent: () => sent,
    reset: () => {
      sent = 0
      budgetStart = Date.now()
      budgetBytes = 0
    },
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Polls the state dir until a resume document satisfies `ready`. */
async function waitForState(dir: string, ready: (state: { partitions: { done: boolean; acked: number; length?: number; url?: string }[] }) => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.json'))
    for (const f of files) {
      const state = JSON.parse(await readFile(join(dir, f), 'utf8').catch(() => '{}')) as { partitions?: { done: boolean; acked: number }[] }
      if (state.partitions && ready(state as { partitions: { done: boolean; acked: number }[] })) return
    }
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error(`no resume state in ${dir} became ready within ${timeoutMs} ms`)
}

describe('tessera CLI', { timeout: 120_000 }, () => {
  let gw: Gateway
  let tmp: { dir: string; remove: () => Promise<void> }
  before(async () => {
    gw = await startGateway()
    tmp = await tempDir('tessera-cli-')
  })
  after(async () => {
    await gw.stop()
    await tmp.remove()
  })

  test('uploads two files; the last lines are their URLs, in order, and the downloads are byte-identical', async () => {
    const a = bytes(5 * MiB + 17, 11)
    const b = bytes(MiB + 3, 12)
    await writeFile(join(tmp.dir, 'a.bin'), a)
    await writeFile(join(tmp.dir, 'b.bin'), b)
    const run = tessera(['upload', join(tmp.dir, 'a.bin'), join(tmp.dir, 'b.bin'), '--endpoint', gw.url, '--state-dir', join(tmp.dir, 'state-two'), '--metadata', 'team=x'])
    const { code, stdout, stderr } = await run.exited
    assert.equal(code, 0, stderr)
    const out = lines(stdout)
    assert.equal(out.length, 2)
    assert.match(out[0]!, URL_LINE)
    assert.match(out[1]!, URL_LINE)
    assert.deepEqual(await download(out[0]!), { sha256: sha256(a), size: a.length })
    assert.deepEqual(await download(out[1]!), { sha256: sha256(b), size: b.length })
    // Not a TTY: plain lines, no escape sequences.
    assert.match(stderr, /^tessera: .*a\.bin: uploading 5\.0 MiB$/m)
    assert.match(stderr, /^tessera: .*b\.bin: done /m)
    assert.doesNotMatch(stderr, /\x1b\[/)
    // The state of finished uploads is removed.
    assert.deepEqual((await readdir(join(tmp.dir, 'state-two'))).filter((f) => f.endsWith('.json')), [])
  })

  test('bad arguments exit 2 with the usage', async () => {
    const file = join(tmp.dir, 'small.bin')
    await writeFile(file, bytes(1000, 3))
    const cases: [string, string[], RegExp][] = [
      ['unknown flag', ['upload', file, '--endpoint', gw.url, '--bogus'], /Unknown option '--bogus'/],
      ['missing --endpoint', ['upload', file], /missing --endpoint URL/],
      ['missing FILE', ['upload', '--endpoint', gw.url], /missing FILE/],
      ['file does not exist', ['upload', join(tmp.dir, 'nope.bin'), '--endpoint', gw.url], /nope\.bin: no such file/],
      ['not an upload command', ['download', file, '--endpoint', gw.url], /unknown command "download"/],
      ['bad --concurrency', ['upload', file, '--endpoint', gw.url, '--concurrency', '0'], /--concurrency expects/],
      ['bad --metadata', ['upload', file, '--endpoint', gw.url, '--metadata', 'novalue'], /--metadata expects KEY=VALUE/],
      ['bad --header', ['upload', file, '--endpoint', gw.url, '--header', 'no colon'], /--header expects "NAME: VALUE"/],
      ['--token-env of an unset variable', ['upload', file, '--endpoint', gw.url, '--token-env', 'TESSERA_TEST_UNSET_TOKEN'], /--token-env TESSERA_TEST_UNSET_TOKEN: the environment variable is not set/],
      ['bad endpoint', ['upload', file, '--endpoint', 'ftp://x'], /Expected `endpoints\[0\]` to be an absolute http\(s\) URL/],
    ]
    await Promise.all(
      cases.map(async ([name, args, reason]) => {
        const { code, stdout, stderr } = await tessera(args).exited
        assert.equal(code, 2, name)
        assert.equal(stdout, '', name)
        assert.match(stderr, reason, name)
        assert.match(stderr, /^Usage: tessera upload FILE\.\.\. --endpoint URL/m, name)
      }),
    )
  })

  test('an unreachable endpoint: exit 1 and a one-line reason, no stack trace', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as { port: number }).port
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const file = join(tmp.dir, 'unreachable.bin')
    await writeFile(file, bytes(1000, 4))
    // The engine retries discovery with its default delays (≈ 19 s) before giving up.
    const { code, stdout, stderr } = await tessera(['upload', file, '--endpoint', `http://127.0.0.1:${port}/files`, '--state-dir', join(tmp.dir, 'state-unreachable')]).exited
    assert.equal(code, 1)
    assert.equal(stdout, '')
    const last = lines(stderr).at(-1)!
    assert.match(last, /^tessera: .*unreachable\.bin: CLIENT_ERR_UNREACHABLE: .+/)
    assert.doesNotMatch(stderr, /^\s+at /m)
  })

  test('SIGINT stops cleanly: exit 130, the resume state is kept', async () => {
    const proxy = await throttlingProxy(gw.port, 4 * MiB)
    try {
      const file = join(tmp.dir, 'sigint.bin')
      await writeFile(file, bytes(16 * MiB, 5))
      const stateDir = join(tmp.dir, 'state-sigint')
      const run = tessera(['upload', file, '--endpoint', `http://127.0.0.1:${proxy.port}/files`, '--state-dir', stateDir])
      await waitForState(stateDir, (s) => s.partitions.some((p) => p.url !== undefined))
      run.child.kill('SIGINT')
      const { code, stdout, stderr } = await run.exited
      assert.equal(code, 130, stderr)
      assert.equal(stdout, '')
      assert.match(lines(stderr).at(-1)!, /sigint\.bin: interrupted; the upload is kept, re-run the same command to resume$/)
      assert.equal((await readdir(stateDir)).filter((f) => f.endsWith('.json')).length, 1)
    } finally {
      await proxy.close()
    }
  })

  test('kill -9 mid-upload, then the same command resumes: fewer bytes than the file are sent, the result is identical', async () => {
    const size = 24 * MiB
    const data = bytes(size, 6)
    const file = join(tmp.dir, 'killed.bin')
    await writeFile(file, data)
    const stateDir = join(tmp.dir, 'state-kill')
    const proxy = await throttlingProxy(gw.port, 6 * MiB)
    try {
      const args = ['upload', file, '--endpoint', `http://127.0.0.1:${proxy.port}/files`, '--state-dir', stateDir, '--verbose']
      const first = tessera(args)
      // Kill once a third of the file is acknowledged: the re-run then owes at most two thirds plus
      // hedges (≤ budget + one partition), so "fewer bytes than the file" holds however busy the
      // machine (killing after the first partition left too thin a margin under load).
      await waitForState(stateDir, (s) => s.partitions.reduce((sum, p) => sum + (p.done ? p.length ?? 0 : 0), 0) >= size / 3)
      first.child.kill('SIGKILL')
      const killed = await first.exited
      assert.equal(killed.signal, 'SIGKILL')
      assert.equal(killed.stdout, '')

      proxy.reset()
      const { code, stdout, stderr } = await tessera(args).exited
      assert.equal(code, 0, stderr)
      const resumed = /resuming: (\d+) partitions done, (\d+) started/.exec(stderr)
      assert.ok(resumed, stderr)
      assert.ok(Number(resumed[1]) >= 1)
      const sentLine = /sent (\d+) of (\d+) bytes in this run/.exec(stderr)
      assert.ok(sentLine, stderr)
      assert.equal(Number(sentLine[2]), size)
      assert.ok(Number(sentLine[1]) < size, `the re-run sent ${sentLine[1]} body bytes`)
      // What went over the wire (bodies + headers) in the re-run, counted by the proxy.
      assert.ok(proxy.sent() < size, `the re-run put ${proxy.sent()} bytes on the wire for a ${size}-byte file`)
      if (process.env['TESSERA_TEST_VERBOSE']) console.log(`kill -9 resume: re-run sent ${sentLine[1]} body bytes, ${proxy.sent()} on the wire, of ${size}`)
      const url = lines(stdout).at(-1)!
      assert.match(url, URL_LINE)
      assert.deepEqual(await download(url), { sha256: sha256(data), size })
    } finally {
      await proxy.close()
    }
  })
})

describe('ProgressView', () => {
  const sink = (): { text: string; write: (s: string) => void } => {
    const o = { text: '', write: (s: string) => void (o.text += s) }
    return o
  }

  test('a terminal gets one bar redrawn at most every 100 ms with bytes, rate, ETA and hedges', () => {
    let now = 0
    const out = sink()
    const view = new ProgressView({ ...out, write: out.write, isTTY: true, columns: 120 }, { clock: () => now })
    view.start('video.mp4', 10 * MiB)
    const before = out.text
    for (let i = 1; i <= 9; i++) {
      now += 10 // 9 updates within 100 ms of the first draw: none drawn now (one is scheduled)
      view.update({ bytesAcked: i * 100 * 1024, bytesTotal: 10 * MiB, rateBps: MiB, hedges: 0 })
    }
    assert.equal(out.text, before)
    now += 11
    view.update({ bytesAcked: 5 * MiB, bytesTotal: 10 * MiB, rateBps: MiB, hedges: 2 })
    assert.match(out.text, /\r\x1b\[2Kvideo\.mp4 \[#+-+\]  50% 5\.0 MiB\/10\.0 MiB 1\.0 MiB\/s ETA 5s hedges 2$/)
    view.finish('done 10.0 MiB in 10s, hedges 2')
    assert.ok(out.text.endsWith('done 10.0 MiB in 10s, hedges 2\n'))
    view.close()
  })

  test('a pipe gets plain lines at most every 5 s', () => {
    let now = 0
    const out = sink()
    const view = new ProgressView({ write: out.write, isTTY: false }, { clock: () => now })
    view.start('a.bin', 4 * MiB)
    for (let i = 1; i <= 100; i++) {
      now += 100
      view.update({ bytesAcked: i * 40_000, bytesTotal: 4 * MiB, rateBps: 400_000, hedges: 0 })
    }
    view.finish('done 4.0 MiB in 10s, hedges 0')
    view.close()
    assert.deepEqual(lines(out.text), [
      'tessera: a.bin: uploading 4.0 MiB',
      'tessera: a.bin:  47% 1.9 MiB/4.0 MiB 390.6 KiB/s ETA 6s hedges 0',
      'tessera: a.bin:  95% 3.8 MiB/4.0 MiB 390.6 KiB/s ETA 1s hedges 0',
      'tessera: a.bin: done 4.0 MiB in 10s, hedges 0',
    ])
  })
})

describe('tessera CLI against a gateway with --auth jwt', { timeout: 60_000 }, () => {
  let gw: Gateway
  let tmp: { dir: string; remove: () => Promise<void> }
  let file: string
  const data = bytes(3 * MiB + 5, 21)
  before(async () => {
    gw = await startGateway([...JWT_FLAGS])
    tmp = await tempDir('tessera-cli-auth-')
    file = join(tmp.dir, 'f.bin')
    await writeFile(file, data)
  })
  after(async () => {
    await gw.stop()
    await tmp.remove()
  })

  const run = async (extra: string[], env: NodeJS.ProcessEnv = process.env) =>
    tessera(['upload', file, '--endpoint', gw.url, '--state-dir', join(tmp.dir, `state-${extra.length}-${Object.keys(env).length}`), ...extra], env).exited

  test('--header "Authorization: Bearer …" (and any other header) on every request', async () => {
    const token = hsToken('alice')
    const { code, stdout, stderr } = await run(['--header', `Authorization: Bearer ${token}`, '--header', 'X-Trace: cli-test'])
    assert.equal(code, 0, stderr)
    assert.deepEqual(await download(lines(stdout)[0]!, { authorization: `Bearer ${token}` }), { sha256: sha256(data), size: data.length })
  })

  test('--token-env VAR: the token comes from the environment, not the command line', async () => {
    const token = hsToken('alice')
    const { code, stdout, stderr } = await run(['--token-env', 'TESSERA_TEST_TOKEN'], { ...process.env, TESSERA_TEST_TOKEN: token })
    assert.equal(code, 0, stderr)
    assert.deepEqual(await download(lines(stdout)[0]!, { authorization: `Bearer ${token}` }), { sha256: sha256(data), size: data.length })
    // Someone else's token does not reach it.
    assert.equal((await fetch(lines(stdout)[0]!, { headers: { authorization: `Bearer ${hsToken('bob')}` } })).status, 404)
  })

  test('no token, or an expired one: exit 1 with CLIENT_ERR_UNAUTHORIZED, the token not echoed', async () => {
    for (const extra of [[], ['--header', `Authorization: Bearer ${hsToken('alice', -3600)}`]]) {
      const { code, stdout, stderr } = await run(extra)
      assert.equal(code, 1)
      assert.equal(stdout, '')
      assert.match(lines(stderr).at(-1)!, /^tessera: .*f\.bin: CLIENT_ERR_UNAUTHORIZED: .*401/)
      if (extra.length > 0) assert.ok(!stderr.includes(extra[1]!.slice(22)), 'the token is not printed')
    }
  })
})
