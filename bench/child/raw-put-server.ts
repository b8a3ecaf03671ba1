// The ceiling: a minimal node:http server that pipes each PUT body into one file, and nothing else.
//
//   node --import tsx bench/child/raw-put-server.ts --data DIR [--port 0]
//
// `PUT /<name>` writes DIR/<name> and answers 201 once the file is closed.
import { createWriteStream } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { data: { type: 'string' }, port: { type: 'string', default: '0' } } })
const dir = values.data
if (!dir) throw new Error('--data DIR is required')

const server = createServer((req, res) => {
  const name = (req.url ?? '').slice(1)
  if (req.method !== 'PUT' || !/^[A-Za-z0-9_-]{1,100}$/.test(name)) {
    res.writeHead(400).end()
    return
  }
  pipeline(req, createWriteStream(join(dir, name))).then(
    () => res.writeHead(201, { 'Content-Length': '0' }).end(),
    (err: unknown) => {
      console.error('raw-put-server:', err)
      res.writeHead(500).end()
    },
  )
})
server.requestTimeout = 0
server.listen(Number(values.port), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo
  console.log(`raw-put-server listening: http://127.0.0.1:${port}`)
})
process.on('SIGTERM', () => process.exit(0))
