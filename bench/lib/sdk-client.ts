// The Tessera SDK as a bench client: bench/child/tessera-client in a process of its own, with a
// resume-state directory of its own (fresh, removed afterwards) so no run resumes another's.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { compileChild } from './compile-child.js'
import { pinned, runJsonChild } from './proc.js'

/** What the child's last line (`kind: 'summary'`) reports; see bench/child/tessera-client.ts. */
export interface SdkClientSummary {
  readonly ok: boolean
  readonly wallMs: number
  /** The first upload's URL (a run that returns succeeded). */
  readonly url: string
  readonly peakRssMiB: number
  readonly cpuSeconds: number
}

let compiled: string | undefined

/**
 * Uploads `file` to `endpoints` with the SDK child (`extraArgs` after its own flags), pinned to
 * `cpus` when given. Rejects when the child fails or its upload did.
 */
export async function runSdkClient(file: string, endpoints: readonly string[], options: { extraArgs?: readonly string[]; timeoutMs?: number; cpus?: string } = {}): Promise<SdkClientSummary> {
  compiled ??= compileChild('tessera-client')
  const state = await mkdtemp(join(tmpdir(), 'tessera-bench-state-'))
  try {
    const args = [compiled, '--file', file, ...endpoints.flatMap((e) => ['--endpoint', e]), '--state-dir', state, ...(options.extraArgs ?? [])]
    const result = await runJsonChild<SdkClientSummary>(...pinned(options.cpus, process.execPath, args), options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs })
    if (!result.ok) throw new Error('the SDK upload failed (see its upload line)')
    return result
  } finally {
    await rm(state, { recursive: true, force: true })
  }
}
