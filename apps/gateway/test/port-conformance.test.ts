// The gateway's local Locker and KvStore run the same conformance suites as their Redis
// counterparts in @tessera/cluster (RedisLocker, RedisKvStore).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after } from 'node:test'
import { describeKvStore, describeLocker } from '@tessera/cluster/testing'
import { FileKvStore } from '../src/file-kv-store.js'
import { LocalLocker } from '../src/local-locker.js'

const dirs: string[] = []
after(async () => void (await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))))

describeLocker('LocalLocker', async () => ({ locker: new LocalLocker() }))

describeKvStore('FileKvStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-kv-'))
  dirs.push(dir)
  return { store: await FileKvStore.open<unknown>(dir) }
})
