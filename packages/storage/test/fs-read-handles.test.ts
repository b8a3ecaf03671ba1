import assert from 'node:assert/strict'
import { mkdtemp, readdir, readlink, rename, rm, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { FsReadHandles } from '../src/fs-read-handles.js'

const dirs: string[] = []
after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-handles-'))
  dirs.push(dir)
  return dir
}

/** File descriptors of this process open on `path` (Linux: /proc/self/fd). */
async function openOn(path: string): Promise<number> {
  let n = 0
  for (const fd of await readdir('/proc/self/fd')) if ((await readlink(`/proc/self/fd/${fd}`).catch(() => '')) === path) n++
  return n
}

test('range reads of one file share one open handle; a forgotten file is read afresh', async () => {
  const dir = await scratch()
  const path = join(dir, 'seg')
  await writeFile(path, Buffer.from('0123456789'))
  const handles = new FsReadHandles()
  const reads = await Promise.all([0, 3, 6].map((at) => handles.readRange(path, at, 3)))
  assert.deepEqual(reads.map((b) => Buffer.from(b).toString()), ['012', '345', '678'])
  assert.equal(await openOn(path), 1, 'one handle for the three reads, kept open')
  assert.equal(Buffer.from(await handles.readRange(path, 8, 5)).toString(), '89', 'short at the end')
  // Replaced under the same path (as FsBackend.put renames over it): forget, then the new bytes.
  await writeFile(join(dir, 'next'), Buffer.from('abcdefghij'))
  await rename(join(dir, 'next'), path)
  handles.forget(path)
  assert.equal(Buffer.from(await handles.readRange(path, 0, 3)).toString(), 'abc')
  // Deleted: forget closes the handle, and the next read sees the file gone.
  handles.forget(path)
  await unlink(path)
  await new Promise((r) => setTimeout(r, 20))
  assert.equal(await openOn(path + ' (deleted)'), 0, 'no handle left on the deleted file')
  await assert.rejects(handles.readRange(path, 0, 1), { code: 'ENOENT' })
})

test('at most maxOpen handles stay open; an idle one closes after idleMs', async () => {
  const dir = await scratch()
  const paths = [0, 1, 2].map((i) => join(dir, `f${i}`))
  for (const p of paths) await writeFile(p, Buffer.from('xyz'))
  const handles = new FsReadHandles(2, 50)
  for (const p of paths) await handles.readRange(p, 0, 1)
  const open = async (): Promise<number[]> => Promise.all(paths.map(openOn))
  assert.deepEqual(await open(), [0, 1, 1], 'the least recently used closed')
  await new Promise((r) => setTimeout(r, 120))
  assert.deepEqual(await open(), [0, 0, 0])
})
