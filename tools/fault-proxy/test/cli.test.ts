// The proxy as a process: the line a parent parses, proxying, stats on SIGUSR2 and exit 0 on SIGTERM.
import assert from 'node:assert/strict'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { send, startUpstream, type Upstream } from './helpers.js'

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const LISTENING = /^fault-proxy listening: (http:\/\/\S+) -> (\S+)$/

interface Cli {
  readonly child: ChildProcessWithoutNullStreams
  /** Resolves with the next stdout line matching `re`. */
  line(re: RegExp): Promise<RegExpExecArray>
  stderr(): string
}

function runCli(args: string[]): Cli {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: 'pipe' })
  const pending: string[] = []
  const waiters: { re: RegExp; resolve: (m: RegExpExecArray) => void }[] = []
  let stderr = ''
  child.stderr.on('data', (c) => (stderr += c))
  createInterface({ input: child.stdout }).on('line', (l) => {
    const i = waiters.findIndex((w) => w.re.test(l))
    if (i === -1) pending.push(l)
    else {
      const w = waiters.splice(i, 1)[0]!
      w.resolve(w.re.exec(l)!)
    }
  })
  return {
    child,
    stderr: () => stderr,
    line: (re) => {
      const i = pending.findIndex((l) => re.test(l))
      if (i !== -1) return Promise.resolve(re.exec(pending.splice(i, 1)[0]!)!)
      return new Promise((resolve) => waiters.push({ re, resolve }))
    },
  }
}

describe('CLI', { timeout: 20_000 }, () => {
  let upstream: Upstream
  let dir: string
  before(async () => {
    upstream = await startUpstream()
    dir = await mkdtemp(join(tmpdir(), 'fault-proxy-cli-'))
  })
  after(async () => {
    await upstream.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('prints its line, proxies, reports stats on SIGUSR2 and exits 0 on SIGTERM', async () => {
    const cli = runCli(['--upstream', upstream.url, '--listen', '0', '--seed', '42', '--status-rate', '1', '--status', '502', '--control', '0', '--bandwidth', '200mbit:10s,20mbit:10s,200mbit:10s'])
    try {
      const [, url, target] = await cli.line(LISTENING)
      assert.equal(target, upstream.url)
      const [, control] = await cli.line(/^fault-proxy control: (\S+)$/)
      assert.equal((await send(`${url}/ok`, { timeoutMs: 5000 })).status, 502)
      const stats = JSON.parse((await send(control!, { timeoutMs: 5000 })).body.toString())
      assert.equal(stats.seed, 42)
      assert.equal(stats.endpoints[0].faults.status, 1)
      cli.child.kill('SIGUSR2')
      const [, json] = await cli.line(/^fault-proxy stats: (.*)$/)
      assert.equal(JSON.parse(json!).endpoints[0].requests, 1)
      const exited = once(cli.child, 'exit')
      cli.child.kill('SIGTERM')
      const [, finalJson] = await cli.line(/^fault-proxy stats: (.*)$/)
      assert.equal(JSON.parse(finalJson!).endpoints[0].connections, 1)
      assert.deepEqual(await exited, [0, null])
    } finally {
      cli.child.kill('SIGKILL')
    }
  })

  it('runs several endpoints from a config file', async () => {
    const file = join(dir, 'proxy.json')
    await writeFile(
      file,
      JSON.stringify({
        seed: 7,
        endpoints: [
          { name: 'fast', upstream: upstream.url },
          { name: 'flaky', upstream: upstream.url, stallRate: 0.05, stallAfterBytes: '0-64KiB', bandwidth: '200mbit:10s,20mbit:10s' },
        ],
      }),
    )
    const cli = runCli(['--config', file])
    try {
      const first = await cli.line(LISTENING)
      const second = await cli.line(LISTENING)
      assert.notEqual(first[1], second[1])
      assert.equal((await send(`${second[1]}/ok`, { timeoutMs: 5000 })).status, 200)
      const exited = once(cli.child, 'exit')
      cli.child.kill('SIGTERM')
      assert.deepEqual(await exited, [0, null])
    } finally {
      cli.child.kill('SIGKILL')
    }
  })

  it('refuses a bad option with its code, the option name, and exit code 2', async () => {
    const cli = runCli(['--upstream', upstream.url, '--stall-rate', '1.5'])
    const [code] = await once(cli.child, 'exit')
    assert.equal(code, 2)
    assert.match(cli.stderr(), /FAULT_PROXY_ERR_INVALID_OPTION: Expected `--stall-rate` to be a number from 0 to 1/)
  })
})
