// The reference peer: stock @tus/server 2.x + @tus/file-store, as its README sets it up, in a
// process of its own so the bench can read its CPU time and memory.
//
//   node --import tsx bench/child/tus-server.ts --data DIR [--port 0]
//
// Prints `tus-server listening: http://127.0.0.1:<port>/files` once it accepts connections.
// GET is @tus/server's own handler (FileStore implements `read`), which get-crash.ts exercises.
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'
import { FileStore } from '@tus/file-store'
import { Server } from '@tus/server'

const { values } = parseArgs({ options: { data: { type: 'string' }, port: { type: 'string', default: '0' } } })
if (!values.data) throw new Error('--data DIR is required')

const server = new Server({ path: '/files', datastore: new FileStore({ directory: values.data }) })
const http = server.listen(Number(values.port), '127.0.0.1', () => {
  const { port } = http.address() as AddressInfo
  console.log(`tus-server listening: http://127.0.0.1:${port}/files`)
})
// Same as the gateway: Node's 5-minute request timeout must not cut a long upload.
http.requestTimeout = 0
process.on('SIGTERM', () => process.exit(0))
