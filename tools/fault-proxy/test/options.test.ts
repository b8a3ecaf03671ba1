// Option validation (codes and the named option), units, and the request framer.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isFaultProxyError, parseBytes, parseDurationMs, parseRate, parseSchedule, resolveFaultProxyOptions, startFaultProxy, type FaultProxyOptions } from '../src/index.js'
import { RequestFramer } from '../src/request-framer.js'

const invalid = (option: string) => (err: unknown) => {
  assert.ok(isFaultProxyError(err, 'FAULT_PROXY_ERR_INVALID_OPTION'), String(err))
  assert.ok(err.message.includes(`\`${option}\``), err.message)
  return true
}

describe('options', () => {
  const up = 'http://127.0.0.1:1'
  const cases: [string, FaultProxyOptions][] = [
    ['endpoints', { endpoints: [] }],
    ['seed', { seed: -1, endpoints: [{ upstream: up }] }],
    ['endpoints[0].upstream', { endpoints: [{ upstream: 'nope nope' }] }],
    ['endpoints[0].stallRate', { endpoints: [{ upstream: up, stallRate: 2 }] }],
    ['endpoints[0].stallRate + resetRate + statusRate', { endpoints: [{ upstream: up, stallRate: 0.6, resetRate: 0.6 }] }],
    ['endpoints[0].latencyMs', { endpoints: [{ upstream: up, latencyMs: { min: 5, max: 1 } }] }],
    ['endpoints[0].bandwidth[1].bitsPerSecond', { endpoints: [{ upstream: up, bandwidth: [{ bitsPerSecond: 1e6, durationMs: 1 }, { bitsPerSecond: -1, durationMs: 1 }] }] }],
    ['endpoints[0].status', { endpoints: [{ upstream: up, status: 200 }] }],
    ['endpoints[0].faultsPer', { endpoints: [{ upstream: up, faultsPer: 'packet' as 'request' }] }],
    ['endpoints[0].stalRate', { endpoints: [{ upstream: up, stalRate: 1 } as never] }],
    ['endpoints[1].name', { endpoints: [{ upstream: up, name: 'a' }, { upstream: up, name: 'a' }] }],
  ]
  for (const [option, o] of cases) {
    it(`rejects a bad \`${option}\``, async () => {
      assert.throws(() => resolveFaultProxyOptions(o), invalid(option))
      await assert.rejects(startFaultProxy(o), invalid(option))
    })
  }

  it('names option, expected and actual like p-queue', () => {
    assert.throws(() => resolveFaultProxyOptions({ endpoints: [{ upstream: up, stallRate: 2 }] }), {
      message: 'Expected `endpoints[0].stallRate` to be a number from 0 to 1, got `2` (number)',
    })
  })

  it('setFaults validates and never half-applies', async () => {
    const proxy = await startFaultProxy({ endpoints: [{ upstream: up, stallRate: 0.1 }] })
    try {
      const e = proxy.endpoints[0]!
      assert.throws(() => e.setFaults({ stallRate: 0.5, resetRate: 0.9 }), invalid('stallRate + resetRate + statusRate'))
      assert.equal(e.faults.stallRate, 0.1)
    } finally {
      await proxy.close()
    }
    assert.throws(() => proxy.endpoints[0]!.setFaults({}), (err) => isFaultProxyError(err, 'FAULT_PROXY_ERR_CLOSED'))
  })

  it('a port in use rejects FAULT_PROXY_ERR_LISTEN and closes the endpoints already open', async () => {
    const first = await startFaultProxy({ endpoints: [{ upstream: up }] })
    try {
      await assert.rejects(startFaultProxy({ endpoints: [{ upstream: up }, { upstream: up, listenPort: first.endpoints[0]!.port }] }), (err) =>
        isFaultProxyError(err, 'FAULT_PROXY_ERR_LISTEN'),
      )
    } finally {
      await first.close()
    }
  })
})

describe('units', () => {
  it('parses rates, sizes, durations and schedules', () => {
    assert.equal(parseRate('200mbit', 'x'), 200e6)
    assert.equal(parseRate('20Mbit/s', 'x'), 20e6)
    assert.equal(parseRate('unlimited', 'x'), Infinity)
    assert.equal(parseBytes('64KiB', 'x'), 65536)
    assert.equal(parseDurationMs('10s', 'x'), 10_000)
    assert.equal(parseDurationMs('inf', 'x'), Infinity)
    assert.deepEqual(parseSchedule('200mbit:10s,20mbit:500ms', 'x'), [
      { bitsPerSecond: 200e6, durationMs: 10_000 },
      { bitsPerSecond: 20e6, durationMs: 500 },
    ])
    assert.throws(() => parseSchedule('200mbit', '--bandwidth'), invalid('--bandwidth'))
    assert.throws(() => parseRate('fast', '--bandwidth'), invalid('--bandwidth'))
  })
})

describe('RequestFramer', () => {
  const enc = (s: string) => Buffer.from(s, 'latin1')
  it('finds request starts across Content-Length, chunked and bodiless requests, byte by byte too', () => {
    const stream =
      'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello' +
      'PATCH /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n0\r\nTrailer: t\r\n\r\n' +
      'HEAD /c HTTP/1.1\r\n\r\n' +
      'GET /d HTTP/1.1\r\n\r\n'
    const expected = [0, stream.indexOf('PATCH'), stream.indexOf('HEAD'), stream.indexOf('GET')]
    assert.deepEqual(new RequestFramer().push(enc(stream)), expected)
    const f = new RequestFramer()
    const starts: number[] = []
    for (let i = 0; i < stream.length; i++) if (f.push(enc(stream[i]!)).length > 0) starts.push(i)
    assert.deepEqual(starts, expected)
    assert.equal(f.requests, 4)
  })

  it('goes opaque on what it does not frame', () => {
    const f = new RequestFramer()
    assert.deepEqual(f.push(enc('GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\nGET / HTTP/1.1\r\n\r\n')), [0])
    assert.ok(f.opaque)
    const g = new RequestFramer()
    assert.deepEqual(g.push(enc('\x16\x03\x01garbage\r\n\r\nmore')), [0])
    assert.ok(g.opaque)
  })
})
