// TcpRelay against a real echo server: relays, cuts (refused), restores on the same port, stalls and lets held bytes through.
import assert from 'node:assert/strict'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { after, before, test } from 'node:test'
import { TcpRelay } from '../src/index.js'

let echo: Server
let port = 0
before(async () => {
  echo = createServer((s) => s.pipe(s))
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve))
  port = (echo.address() as { port: number }).port
})
after(() => new Promise<void>((resolve) => echo.close(() => resolve())))

function open(p: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(p, '127.0.0.1', () => resolve(s))
    s.once('error', reject)
  })
}

function reply(s: Socket, text: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = ''
    const timer = setTimeout(() => reject(new Error(`no reply, got ${JSON.stringify(got)}`)), timeoutMs)
    s.on('data', (d: Buffer) => {
      got += d.toString()
      if (got.length >= text.length) {
        clearTimeout(timer)
        resolve(got)
      }
    })
    s.write(text)
  })
}

test('relays, cuts (connections reset, new ones refused), restores on the same port', async () => {
  const relay = await TcpRelay.start(`http://127.0.0.1:${port}`)
  assert.equal(relay.url('redis'), `redis://127.0.0.1:${relay.port}`)
  const a = await open(relay.port)
  assert.equal(await reply(a, 'hello'), 'hello')
  const closed = new Promise((resolve) => a.once('close', resolve))
  await relay.cut()
  await closed
  await assert.rejects(open(relay.port), (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED')
  await relay.restore()
  const b = await open(relay.port)
  assert.equal(await reply(b, 'again'), 'again')
  b.destroy()
  await relay.close()
})

test('a stall holds every byte with the connection open; unstall lets them through in order', async () => {
  const relay = await TcpRelay.start(`http://127.0.0.1:${port}`)
  const s = await open(relay.port)
  relay.stall()
  const answered = reply(s, 'held', 300)
  await assert.rejects(answered, /no reply/)
  assert.equal(s.destroyed, false)
  const late = new Promise<string>((resolve) => s.once('data', (d: Buffer) => resolve(d.toString())))
  relay.unstall()
  assert.equal(await late, 'held')
  s.destroy()
  await relay.close()
})
