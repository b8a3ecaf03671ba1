import assert from 'node:assert/strict'
import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { describe, test } from 'node:test'
import { FsBackend, type FsBackendOptions } from '../src/index.js'
import { assertBytes, bytesOf, code, describeBackend } from './describe-backend.js'

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'tessera-fs-backend-'))
}

/** Every file under `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort()
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  )
}

async function withBackend(options: Partial<FsBackendOptions>, run: (backend: FsBackend, root: string) => Promise<void>): Promise<void> {
  const dir = await tempDir()
  try {
    const root = join(dir, 'blocks')
    await run(await FsBackend.open({ id: 'fs-test', root, ...options }), root)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

describeBackend('FsBackend', async () => {
  const dir = await tempDir()
  const root = join(dir, 'nested', 'root')
  return {
    backend: await FsBackend.open({ id: 'fs-conformance', root }),
    rawEntries: () => filesUnder(root),
    teardown: () => rm(dir, { recursive: true, force: true }),
  }
})

describe('FsBackend', () => {
  test('stores a block as a file in the directories of its key, and prunes emptied ones', async () => {
    await withBackend({}, async (backend, root) => {
      await backend.put('u1/0-3', bytesOf(10))
      await backend.put('u1/0-4', bytesOf(11))
      assert.deepEqual(await filesUnder(root), ['u1/0-3~blk', 'u1/0-4~blk'])
      assertBytes(await readFile(join(root, 'u1', '0-3~blk')), bytesOf(10))
      await backend.delete('u1/0-3')
      assert.ok(await exists(join(root, 'u1')))
      await backend.delete('u1/0-4')
      assert.equal(await exists(join(root, 'u1')), false)
      assert.ok(await exists(root), 'the root is never pruned')
      await backend.put('u1/0-5', bytesOf(1))
      assert.deepEqual(await filesUnder(root), ['u1/0-5~blk'])
    })
  })

  test('puts and deletes racing in one directory (deletes prune it) lose no put', async () => {
    await withBackend({}, async (backend) => {
      for (let round = 1; round <= 20; round++) {
        const ops = []
        for (let i = 0; i < 6; i++) {
          // Each delete may empty and remove `race/` while the puts need it.
          ops.push(backend.put(`race/p${i}`, bytesOf(8, round + i)), backend.delete(`race/p${i}`).then(() => undefined))
        }
        await Promise.all(ops)
        for (const key of await listAll(backend)) await backend.delete(key)
        await backend.put('race/last', bytesOf(8, round))
        assertBytes(await backend.read('race/last'), bytesOf(8, round))
        await backend.delete('race/last')
      }
      assert.deepEqual(await listAll(backend), [])
    })
  })

  test('open() removes temp files a crash left behind, and list never shows them', async () => {
    await withBackend({}, async (first, root) => {
      await first.put('u1/0-0', bytesOf(5))
      await writeFile(join(root, 'u1', '.tmp~0123456789abcdef'), 'half a block')
      await writeFile(join(root, '.tmp~fedcba9876543210'), 'another half')
      assert.deepEqual(await listAll(first), ['u1/0-0'])
      const reopened = await FsBackend.open({ id: 'fs-test', root })
      assert.deepEqual(await filesUnder(root), ['u1/0-0~blk'])
      assertBytes(await reopened.read('u1/0-0'), bytesOf(5))
    })
  })

  test('open() while another process removes directories under the root (a shared root, its probe) neither fails nor misses a temp file', async () => {
    await withBackend({}, async (_first, root) => {
      for (let round = 0; round < 20; round++) {
        const dirs = Array.from({ length: 50 }, (_, i) => join(root, `gone${i}`, 'sub'))
        await Promise.all(dirs.map((d) => mkdir(d, { recursive: true })))
        await writeFile(join(root, `.tmp~${String(round).padStart(16, '0')}`), 'left by a crash')
        const [reopened] = await Promise.all([FsBackend.open({ id: 'fs-test', root }), ...dirs.map((d) => rm(join(d, '..'), { recursive: true, force: true }))])
        assert.equal(reopened.id, 'fs-test')
        assert.ok(!(await filesUnder(root)).some((f) => f.startsWith('.tmp~')), `round ${round}: the crash's temp file was swept`)
      }
    })
  })

  test('a put in flight is a temp file that list does not show', async () => {
    await withBackend({}, async (backend, root) => {
      let release!: () => void
      let written!: () => void
      const firstChunkWritten = new Promise<void>((resolve) => (written = resolve))
      async function* slow(): AsyncGenerator<Uint8Array> {
        yield bytesOf(100)
        await new Promise<void>((resolve) => {
          release = resolve
          written()
        })
        yield bytesOf(100, 2)
      }
      const put = backend.put('p/k', slow())
      await firstChunkWritten
      const files = await filesUnder(root)
      assert.equal(files.length, 1)
      assert.match(files[0] ?? '', /^p\/\.tmp~[0-9a-f]{16}$/)
      assert.deepEqual(await listAll(backend), [])
      assert.equal(await backend.stat('p/k'), undefined)
      release()
      assert.deepEqual(await put, { bytes: 200 })
      assert.deepEqual(await filesUnder(root), ['p/k~blk'])
    })
  })

  test('a deleted root looks dead: reads NOT_FOUND, writes UNAVAILABLE, and it is not recreated', async () => {
    await withBackend({}, async (backend, root) => {
      await backend.put('a/b', bytesOf(3))
      await backend.put('c', bytesOf(3))
      await rm(root, { recursive: true })
      for (const key of ['a/b', 'c']) {
        await assert.rejects(backend.read(key), code('STORAGE_ERR_NOT_FOUND'))
        await assert.rejects(backend.get(key), code('STORAGE_ERR_NOT_FOUND'))
        assert.equal(await backend.stat(key), undefined)
        await backend.delete(key)
      }
      for (const key of ['a/b', 'c', 'new/deeper/x']) {
        await assert.rejects(backend.put(key, bytesOf(3)), code('STORAGE_ERR_UNAVAILABLE'))
      }
      await assert.rejects(listAll(backend), code('STORAGE_ERR_UNAVAILABLE'))
      await assert.rejects(backend.capacity(), code('STORAGE_ERR_UNAVAILABLE'))
      assert.equal(await exists(root), false, 'the root must not come back')
      const revived = await FsBackend.open({ id: 'fs-test', root })
      await revived.put('a/b', bytesOf(4))
      assertBytes(await backend.read('a/b'), bytesOf(4))
    })
  })

  for (const how of ['removed', 'replaced'] as const) {
    test(`a root ${how} from outside while its block is read through a kept handle: the next range read fails NOT_FOUND`, async () => {
      await withBackend({}, async (backend, root) => {
        await backend.put('u/0-0', bytesOf(4096))
        for (const at of [0, 1024]) assertBytes(await backend.readRange('u/0-0', at, 1024), bytesOf(4096).subarray(at, at + 1024))
        await rm(root, { recursive: true })
        if (how === 'replaced') await mkdir(root)
        await assert.rejects(backend.readRange('u/0-0', 2048, 1024), code('STORAGE_ERR_NOT_FOUND'))
      })
    })
  }

  test("fsync 'always' stores, replaces and deletes blocks", async () => {
    await withBackend({ fsync: 'always' }, async (backend) => {
      assert.equal(backend.fsync, 'always')
      await backend.put('u/1/2', bytesOf(70_000, 3))
      await backend.put('u/1/2', bytesOf(5, 4))
      await backend.put('top', new Uint8Array(0))
      assertBytes(await backend.read('u/1/2'), bytesOf(5, 4))
      assert.equal((await backend.stat('top'))?.bytes, 0)
      await backend.delete('u/1/2')
      assert.deepEqual(await listAll(backend), ['top'])
    })
  })

  test('file system errors map to STORAGE_ERR_IO and leave no temp file', async () => {
    await withBackend({}, async (backend, root) => {
      await mkdir(join(root, 'x~blk')) // a directory where the block file should be
      await assert.rejects(backend.read('x'), code('STORAGE_ERR_IO'))
      await assert.rejects(backend.stat('x'), code('STORAGE_ERR_IO'))
      await assert.rejects(backend.put('x', bytesOf(3)), code('STORAGE_ERR_IO'))
      await writeFile(join(root, 'file'), 'not a directory of blocks')
      await assert.rejects(backend.put('file/k', bytesOf(3)), code('STORAGE_ERR_IO'))
      assert.deepEqual(await filesUnder(root), ['file'])
      await assert.rejects(backend.put('k'.repeat(300), bytesOf(3)), code('STORAGE_ERR_INVALID_KEY'))
    })
  })

  test('invalid options fail naming the option, the expected and the actual value', async () => {
    const dir = await tempDir()
    try {
      const invalid = (pattern: RegExp) => (err: unknown) => code('STORAGE_ERR_INVALID_ARGUMENT')(err) && pattern.test((err as Error).message)
      await assert.rejects(FsBackend.open({ id: 'x', root: dir, fsync: 'sometimes' as 'never' }), invalid(/`fsync`.*'never' or 'always'.*"sometimes"/))
      await assert.rejects(FsBackend.open({ id: '', root: dir }), invalid(/`id`/))
      await assert.rejects(FsBackend.open({ id: 'x', root: 42 as unknown as string }), invalid(/`root`.*`42` \(number\)/))
      await writeFile(join(dir, 'a-file'), '')
      await assert.rejects(FsBackend.open({ id: 'x', root: join(dir, 'a-file') }), code('STORAGE_ERR_IO'))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

async function listAll(backend: FsBackend): Promise<string[]> {
  const keys: string[] = []
  for await (const key of backend.list('')) keys.push(key)
  return keys.sort()
}
