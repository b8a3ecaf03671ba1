import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { describe, test } from 'node:test'
import { FaultyBackend, type FaultyBackendOptions, FsBackend, isStorageError } from '../src/index.js'
import { assertBytes, bytesOf, code, describeBackend } from './describe-backend.js'

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)))
}

async function withFaulty(options: FaultyBackendOptions, run: (faulty: FaultyBackend, inner: FsBackend) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-faulty-'))
  try {
    const inner = await FsBackend.open({ id: 'disk-1', root: dir })
    await run(new FaultyBackend(inner, options), inner)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(Buffer.from(chunk))
  return Buffer.concat(chunks)
}

async function listAll(backend: FaultyBackend | FsBackend, prefix = ''): Promise<string[]> {
  const keys: string[] = []
  for await (const key of backend.list(prefix)) keys.push(key)
  return keys
}

/** Each op of the port once, on key `k`. */
function everyOp(backend: FaultyBackend): Array<Promise<unknown>> {
  return [
    backend.put('k', bytesOf(4)),
    backend.get('k'),
    backend.read('k'),
    backend.delete('k'),
    backend.stat('k'),
    listAll(backend),
    backend.capacity(),
  ]
}

function differingBytes(a: Uint8Array, b: Uint8Array): number {
  let count = 0
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) count++
  return count
}

describeBackend('FaultyBackend (no faults)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-faulty-conformance-'))
  return {
    backend: new FaultyBackend(await FsBackend.open({ id: 'disk-1', root: dir })),
    rawEntries: () => filesUnder(dir),
    teardown: () => rm(dir, { recursive: true, force: true }),
  }
})

describe('FaultyBackend', () => {
  test('reports the inner id unless given one', async () => {
    await withFaulty({}, async (faulty, inner) => {
      assert.equal(faulty.id, 'disk-1')
      assert.equal(faulty.inner, inner)
      assert.equal(new FaultyBackend(inner, { id: 'flaky-1' }).id, 'flaky-1')
    })
  })

  test('the same seed gives the same fault sequence; another seed another', async () => {
    const run = async (seed: number): Promise<string[]> => {
      const outcomes: string[] = []
      await withFaulty({ seed, errorRate: 0.4, corruptRate: 0.5 }, async (faulty, inner) => {
        await inner.put('k', bytesOf(64))
        for (let i = 0; i < 40; i++) {
          try {
            const bytes = await faulty.read('k')
            outcomes.push(differingBytes(bytes, bytesOf(64)) === 0 ? 'ok' : 'corrupt')
          } catch (err) {
            outcomes.push(isStorageError(err) ? err.code : String(err))
          }
        }
      })
      return outcomes
    }
    const first = await run(7)
    assert.deepEqual(await run(7), first)
    assert.notDeepEqual(await run(8), first)
    for (const outcome of ['ok', 'corrupt', 'STORAGE_ERR_IO', 'STORAGE_ERR_UNAVAILABLE']) {
      assert.ok(first.includes(outcome), `${outcome} in ${first.join(',')}`)
    }
  })

  test('errorRate 1 fails every op with the configured code and never reaches the inner backend', async () => {
    await withFaulty({ errorRate: 1, errorCodes: ['STORAGE_ERR_IO'] }, async (faulty, inner) => {
      for (const op of everyOp(faulty)) await assert.rejects(op, code('STORAGE_ERR_IO'))
      assert.equal(await inner.stat('k'), undefined)
      assert.deepEqual(faulty.stats, { ops: 7, errors: 7, stalls: 0, corruptions: 0, delayedMs: 0 })
    })
  })

  test('injected errors default to UNAVAILABLE or IO', async () => {
    await withFaulty({ errorRate: 1, seed: 3 }, async (faulty) => {
      const codes = new Set<string>()
      for (let i = 0; i < 30; i++) await faulty.stat('k').catch((err: { code: string }) => codes.add(err.code))
      assert.deepEqual([...codes].sort(), ['STORAGE_ERR_IO', 'STORAGE_ERR_UNAVAILABLE'])
    })
  })

  test('a stalled op settles only when its signal aborts, with ABORTED and the reason', async () => {
    await withFaulty({ stallRate: 1 }, async (faulty, inner) => {
      const reason = new Error('deadline')
      const controller = new AbortController()
      const put = faulty.put('k', bytesOf(4), { signal: controller.signal })
      const read = faulty.read('k', { signal: controller.signal })
      let settled = false
      void Promise.allSettled([put, read]).then(() => (settled = true))
      await new Promise((resolve) => setImmediate(resolve))
      assert.equal(settled, false)
      controller.abort(reason)
      const aborted = (err: unknown): boolean => code('STORAGE_ERR_ABORTED')(err) && (err as Error).cause === reason
      await assert.rejects(put, aborted)
      await assert.rejects(read, aborted)
      assert.equal(await inner.stat('k'), undefined)
      assert.equal(faulty.stats.stalls, 2)
    })
  })

  test('corruption flips one byte of get and read, keeps the length, and leaves the stored block alone', async () => {
    await withFaulty({ corruptRate: 1, seed: 11 }, async (faulty, inner) => {
      const bytes = bytesOf(200_000, 5)
      await faulty.put('k', bytes)
      await faulty.put('empty', new Uint8Array(0))
      for (let i = 0; i < 5; i++) {
        const read = await faulty.read('k')
        assert.equal(read.byteLength, bytes.byteLength)
        assert.equal(differingBytes(read, bytes), 1)
        const streamed = await collect(await faulty.get('k'))
        assert.equal(streamed.byteLength, bytes.byteLength)
        assert.equal(differingBytes(streamed, bytes), 1)
      }
      assert.equal((await faulty.read('empty')).byteLength, 0)
      assertBytes(await inner.read('k'), bytes)
      assert.equal(faulty.stats.corruptions, 10)
    })
  })

  test('gone fails every op UNAVAILABLE, whatever the op filter, until it is cleared', async () => {
    await withFaulty({ gone: true, ops: ['read'] }, async (faulty) => {
      for (const op of everyOp(faulty)) await assert.rejects(op, code('STORAGE_ERR_UNAVAILABLE'))
      faulty.setFaults({ gone: false })
      await faulty.put('k', bytesOf(4))
      assertBytes(await faulty.read('k'), bytesOf(4))
      assert.deepEqual(faulty.stats, { ops: 9, errors: 7, stalls: 0, corruptions: 0, delayedMs: 0 })
    })
  })

  test('latency goes through the injected sleep, drawn from the range, and aborts with the signal', async () => {
    const slept: number[] = []
    let pendingAbort: AbortSignal | undefined
    const sleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
      slept.push(ms)
      if (ms === 1000) {
        pendingAbort = signal
        await new Promise(() => {}) // simulated time that never passes
      }
    }
    await withFaulty({ latencyMs: { min: 10, max: 20 }, sleep }, async (faulty) => {
      await faulty.put('k', bytesOf(4))
      for (let i = 0; i < 9; i++) await faulty.stat('k')
      assert.equal(slept.length, 10)
      assert.ok(slept.every((ms) => ms >= 10 && ms <= 20), slept.join(','))
      assert.ok(new Set(slept).size > 1)
      assert.equal(faulty.stats.delayedMs, slept.reduce((a, b) => a + b, 0))

      faulty.setFaults({ latencyMs: 1000 })
      const controller = new AbortController()
      const read = faulty.read('k', { signal: controller.signal })
      await new Promise((resolve) => setImmediate(resolve))
      assert.equal(pendingAbort, controller.signal, 'the sleep receives the signal')
      controller.abort()
      await assert.rejects(read, code('STORAGE_ERR_ABORTED'))
    })
  })

  test('real timers: a short fixed latency still completes the op', async () => {
    await withFaulty({ latencyMs: 1 }, async (faulty) => {
      await faulty.put('k', bytesOf(4))
      assertBytes(await faulty.read('k'), bytesOf(4))
      assert.equal(faulty.stats.delayedMs, 2)
    })
  })

  test('faults can target some ops only', async () => {
    await withFaulty({ errorRate: 1, ops: ['read', 'get'] }, async (faulty) => {
      await faulty.put('k', bytesOf(4))
      assert.equal((await faulty.stat('k'))?.bytes, 4)
      assert.deepEqual(await listAll(faulty), ['k'])
      await assert.rejects(faulty.read('k'), (err) => isStorageError(err, 'STORAGE_ERR_IO', 'STORAGE_ERR_UNAVAILABLE'))
      await assert.rejects(faulty.get('k'), (err) => isStorageError(err, 'STORAGE_ERR_IO', 'STORAGE_ERR_UNAVAILABLE'))
      assert.equal(faulty.stats.errors, 2)
    })
  })

  test('setFaults degrades a backend at runtime; an invalid change throws and changes nothing', async () => {
    await withFaulty({}, async (faulty) => {
      await faulty.put('k', bytesOf(4))
      faulty.setFaults({ errorRate: 1, errorCodes: ['STORAGE_ERR_TIMEOUT'] })
      await assert.rejects(faulty.read('k'), code('STORAGE_ERR_TIMEOUT'))
      const before = faulty.faults
      assert.throws(() => faulty.setFaults({ errorRate: 0, stallRate: 2 }), code('STORAGE_ERR_INVALID_ARGUMENT'))
      assert.equal(faulty.faults, before)
      faulty.setFaults({ errorRate: 0 })
      assertBytes(await faulty.read('k'), bytesOf(4))
    })
  })

  test('invalid keys reject INVALID_KEY even when every op would fail', async () => {
    await withFaulty({ gone: true }, async (faulty) => {
      await assert.rejects(faulty.read('../etc/passwd'), code('STORAGE_ERR_INVALID_KEY'))
      assert.equal(faulty.stats.ops, 0)
    })
  })

  test('invalid options fail at construction naming the option, the expected and the actual value', async () => {
    await withFaulty({}, async (_faulty, inner) => {
      const cases: Array<[FaultyBackendOptions, string]> = [
        [{ latencyMs: -1 }, 'Expected `latencyMs` to be a number from 0 and up, got `-1` (number)'],
        [{ latencyMs: { min: 5, max: 3 } }, 'Expected `latencyMs.max` to be a number from `latencyMs.min` (5) and up, got `3` (number)'],
        [{ errorRate: 1.5 }, 'Expected `errorRate` to be a number from 0 to 1, got `1.5` (number)'],
        [{ stallRate: Number.NaN }, 'Expected `stallRate` to be a number from 0 to 1, got `NaN` (number)'],
        [{ corruptRate: '0.1' as unknown as number }, 'Expected `corruptRate` to be a number from 0 to 1, got `"0.1"` (string)'],
        [{ seed: 1.5 }, 'Expected `seed` to be an integer, got `1.5` (number)'],
        [{ gone: 1 as unknown as boolean }, 'Expected `gone` to be a boolean, got `1` (number)'],
      ]
      for (const [options, message] of cases) {
        assert.throws(() => new FaultyBackend(inner, options), { code: 'STORAGE_ERR_INVALID_ARGUMENT', message })
      }
      assert.throws(() => new FaultyBackend(inner, { ops: ['write' as 'put'] }), code('STORAGE_ERR_INVALID_ARGUMENT'))
      assert.throws(() => new FaultyBackend(inner, { errorCodes: [] }), code('STORAGE_ERR_INVALID_ARGUMENT'))
      assert.throws(() => new FaultyBackend(inner, { sleep: 5 as unknown as () => Promise<void> }), code('STORAGE_ERR_INVALID_ARGUMENT'))
    })
  })
})
