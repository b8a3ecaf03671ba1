// The machine's Redis for the cross-process scale-out tests (REDIS_URL, default
// redis://127.0.0.1:6379), spoken to in raw RESP so test/ needs no Redis client: unreachable →
// skip with the reason, unless CI is set → fail; a unique key prefix per test, deleted afterwards.
import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'

export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379'
const inCi = (): boolean => ![undefined, '', '0', 'false'].includes(process.env['CI'])

/** A key prefix no other test uses (`--redis-prefix`). */
export const uniquePrefix = (tag: string): string => `tessera-test-${tag}-${randomBytes(4).toString('hex')}`

/** `host:port` of REDIS_URL as an http: URL, for {@link TcpRelay} targets. */
export const redisTcpTarget = (): string => {
  const url = new URL(REDIS_URL)
  return `http://${url.hostname}:${url.port || '6379'}`
}

/** Sends one command and resolves its raw reply text; rejects on a `-ERR` reply, a closed socket or after `timeoutMs`. */
export function redisCommand(args: readonly string[], timeoutMs = 3000): Promise<string> {
  const url = new URL(REDIS_URL)
  const db = url.pathname.length > 1 ? url.pathname.slice(1) : undefined
  const encode = (a: readonly string[]): string => `*${a.length}\r\n${a.map((s) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`).join('')}`
  const auth = url.password ? encode(url.username ? ['AUTH', decodeURIComponent(url.username), decodeURIComponent(url.password)] : ['AUTH', decodeURIComponent(url.password)]) : ''
  const select = db ? encode(['SELECT', db]) : ''
  const expected = (auth ? 1 : 0) + (select ? 1 : 0)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port || 6379), url.hostname)
    let text = ''
    const timer = setTimeout(() => socket.destroy(new Error(`no answer from ${url.host} within ${timeoutMs} ms`)), timeoutMs)
    socket.setEncoding('utf8')
    socket.on('connect', () => socket.write(auth + select + encode(args)))
    socket.on('data', (chunk: string) => {
      text += chunk
      // Replies of the commands used here are single-line ('+OK', ':1', '-ERR …') after AUTH/SELECT's '+OK'.
      const lines = text.split('\r\n')
      if (lines.length - 1 > expected) {
        clearTimeout(timer)
        socket.end()
        const reply = lines[expected]!
        if (lines.slice(0, expected + 1).some((l) => l.startsWith('-'))) reject(new Error(`redis answered ${reply}`))
        else resolve(reply)
      }
    })
    socket.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
  })
}

/**
 * `false` when Redis answers PING; otherwise the reason to skip. With CI set an unreachable Redis
 * throws instead: CI must never silently skip the scale-out tests.
 */
export async function redisSkipReason(): Promise<string | false> {
  try {
    await redisCommand(['PING'], 1500)
    return false
  } catch (err) {
    if (inCi()) throw new Error(`Redis is unreachable at ${REDIS_URL} and CI is set: the scale-out tests must run (${(err as Error).message})`, { cause: err })
    return `Redis is unreachable at ${REDIS_URL} (${(err as Error).message}); start redis-server or set REDIS_URL (with CI set this fails)`
  }
}

/** Deletes every key under `prefix:` (one server-side SCAN loop). Resolves how many went. */
export async function deleteRedisPrefix(prefix: string): Promise<number> {
  const script = [
    'local cursor, n = "0", 0',
    'repeat',
    '  local r = redis.call("SCAN", cursor, "MATCH", ARGV[1], "COUNT", 1000)',
    '  cursor = r[1]',
    '  for _, k in ipairs(r[2]) do redis.call("DEL", k); n = n + 1 end',
    'until cursor == "0"',
    'return n',
  ].join('\n')
  const reply = await redisCommand(['EVAL', script, '0', `${prefix}:*`], 10_000)
  return Number(reply.slice(1))
}
