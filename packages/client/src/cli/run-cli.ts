import { stat } from 'node:fs/promises'
import { basename } from 'node:path'
import { ClientError } from '../errors.js'
import { resolveUploadOptions, type UploadOptions } from '../options.js'
import type { Upload } from '../upload.js'
import { UploadSession } from '../upload-session.js'
import { defaultStateDir, FileStateStore } from '../node/file-state-store.js'
import { upload } from '../node/node-upload.js'
import { CliUsageError, parseCliArgs, USAGE, type UploadCommand } from './cli-args.js'
import { formatBytes, formatDuration } from './format.js'
import { ProgressView, type ProgressOutput } from './progress-view.js'

/** What the CLI talks to; `main.ts` binds the process, tests may bind fakes. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown }
  /** Progress and messages. A TTY gets progress bars, anything else plain lines. */
  readonly stderr: ProgressOutput
  readonly env: Readonly<Record<string, string | undefined>>
  /** Subscribes to the user's interrupt (SIGINT); returns the unsubscribe function. */
  readonly onInterrupt: (handler: () => void) => () => void
}

/** Exit statuses of `tessera`. */
export const ExitCode = Object.freeze({ ok: 0, failed: 1, usage: 2, interrupted: 130 })

/**
 * Runs `tessera` with `argv` (no node/script prefix) and resolves its exit status. Never throws:
 * every failure becomes one line `tessera: <file>: <code>: <message>` on stderr.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let command: UploadCommand
  try {
    const parsed = parseCliArgs(argv)
    if (parsed.command === 'help') {
      io.stdout.write(`${USAGE}\n`)
      return ExitCode.ok
    }
    command = withToken(parsed, io.env)
    await checkFiles(command.files)
    resolveUploadOptions(uploadOptions(command, command.files[0]!))
  } catch (err) {
    if (err instanceof CliUsageError || (err instanceof ClientError && err.code === 'CLIENT_ERR_INVALID_OPTION')) {
      io.stderr.write(`tessera: ${err.message}\n${USAGE}\n`)
      return ExitCode.usage
    }
    io.stderr.write(`tessera: ${oneLine(err)}\n`)
    return ExitCode.failed
  }

  const view = new ProgressView(io.stderr, { quiet: command.quiet })
  const stateStore = new FileStateStore(command.stateDir ?? defaultStateDir(io.env))
  let current: Upload | undefined
  let interrupted = false
  const unsubscribe = io.onInterrupt(() => {
    // Second ^C: the user does not want to wait for the state to be written.
    if (interrupted) process.exit(ExitCode.interrupted)
    interrupted = true
    current?.abort()
  })
  let status: number = ExitCode.ok
  try {
    // The files of one command share what is learned about the endpoints (one OPTIONS round, models).
    const session = new UploadSession()
    for (const file of command.files) {
      if (interrupted) break
      const result = await uploadOne(file, command, { stateStore, session }, view, (u) => (current = u))
      if (result === 'interrupted') {
        view.log(`tessera: ${file}: interrupted; the upload is kept, re-run the same command to resume`)
        return ExitCode.interrupted
      }
      if (result === 'failed') status = ExitCode.failed
      else io.stdout.write(`${result.url}\n`)
    }
    return interrupted ? ExitCode.interrupted : status
  } finally {
    view.close()
    unsubscribe()
  }
}

async function uploadOne(
  file: string,
  command: UploadCommand,
  shared: { readonly stateStore: FileStateStore; readonly session: UploadSession },
  view: ProgressView,
  started: (u: Upload) => void,
): Promise<{ url: string } | 'failed' | 'interrupted'> {
  const size = (await stat(file).catch(() => ({ size: 0 }))).size
  const begin = Date.now()
  view.start(file, size)
  let hedges = 0
  let sentThisRun = 0
  let last = { bytesAcked: 0, bytesTotal: size as number | undefined, rateBps: 0 }
  const redraw = (): void => view.update({ ...last, hedges })
  let u: Upload
  try {
    u = upload(file, { ...uploadOptions(command, file), ...shared })
  } catch (err) {
    view.finish('failed')
    view.log(`tessera: ${file}: ${oneLine(err)}`)
    return 'failed'
  }
  started(u)
  u.on('progress', (e) => {
    last = { bytesAcked: e.bytesAcked, bytesTotal: e.bytesTotal, rateBps: e.rateBps }
    redraw()
  })
  u.on('hedge-start', (e) => {
    hedges++
    if (command.verbose) {
      view.log(`tessera: ${file}: partition ${e.partition} hedged on ${e.toEndpoint} (risk ${(100 * e.risk).toFixed(0)}%, ${formatBytes(e.committedBytes)} of ${formatBytes(e.budgetBytes)} budget)`)
    }
    redraw()
  })
  u.on('attempt-done', (e) => (sentThisRun += e.bytesSent))
  if (command.verbose) {
    u.on('resume', (e) => view.log(`tessera: ${file}: resuming: ${e.partitionsDone} partitions done, ${e.partitionsStarted} started`))
    u.on('attempt-failed', (e) =>
      view.log(`tessera: ${file}: partition ${e.partition} attempt ${e.attempt} on ${e.endpoint}: ${e.code}${e.willRetry ? `, retry in ${e.retryInMs} ms` : ''}`),
    )
    u.on('stall', (e) => view.log(`tessera: ${file}: partition ${e.partition} stalled on ${e.endpoint} (no progress for ${e.stallTimeoutMs} ms)`))
    u.on('endpoint-skipped', (e) => view.log(`tessera: ${file}: endpoint ${e.endpoint} left out: ${e.code}${e.status === undefined ? '' : ` (${e.status})`}`))
    u.on('partition-split', (e) =>
      view.log(`tessera: ${file}: partition ${e.partition} split at ${formatBytes(e.at)} of ${formatBytes(e.lengthBefore)} on ${e.endpoint} (${formatBytes(e.rateBps)}/s); the rest is ${e.newPartitions.length} new partition(s)`),
    )
  }
  try {
    const result = await u.done
    const seconds = (Date.now() - begin) / 1000
    view.finish(`done ${formatBytes(result.size)} in ${formatDuration(seconds)}, hedges ${hedges}`)
    if (command.verbose) view.log(`tessera: ${file}: sent ${sentThisRun} of ${result.size} bytes in this run, ${result.sha256 !== undefined ? `sha256 ${result.sha256}` : `partition-list sha256 ${result.partitionsSha256}`}`)
    return { url: result.url }
  } catch (err) {
    if (err instanceof ClientError && err.code === 'CLIENT_ERR_ABORTED') {
      view.finish('interrupted')
      return 'interrupted'
    }
    view.finish('failed')
    view.log(`tessera: ${file}: ${oneLine(err)}`)
    return 'failed'
  }
}

/** The engine options for one file; `filename` defaults to the file's base name. */
function uploadOptions(command: UploadCommand, file: string): UploadOptions {
  const max = command.concurrency
  return {
    endpoints: command.endpoints,
    metadata: { filename: basename(file), ...command.metadata },
    headers: command.headers,
    ...(max !== undefined && { maxConcurrency: max, initialConcurrency: Math.min(4, max), minConcurrency: 1 }),
  }
}

/**
 * `--token-env VAR`: the token in `VAR` becomes `Authorization: Bearer` (over an `--header
 * Authorization`); an unset or empty `VAR` is a usage error, before anything is sent.
 */
function withToken(command: UploadCommand, env: CliIo['env']): UploadCommand {
  if (command.tokenEnv === undefined) return command
  const token = env[command.tokenEnv]?.trim()
  if (!token) throw new CliUsageError(`--token-env ${command.tokenEnv}: the environment variable is not set or empty`)
  const headers = Object.fromEntries(Object.entries(command.headers).filter(([name]) => name.toLowerCase() !== 'authorization'))
  return { ...command, headers: { ...headers, Authorization: `Bearer ${token}` } }
}

/** Every FILE must be a readable regular file before anything is sent (else exit 2). */
async function checkFiles(files: readonly string[]): Promise<void> {
  for (const file of files) {
    const info = await stat(file).catch(() => undefined)
    if (!info) throw new CliUsageError(`${file}: no such file`)
    if (!info.isFile()) throw new CliUsageError(`${file}: not a regular file`)
  }
}

/** `<code>: <message>` on one line, never a stack. */
function oneLine(err: unknown): string {
  const code = err instanceof ClientError ? err.code : 'ERROR'
  const message = err instanceof Error ? err.message : String(err)
  return `${code}: ${message.replace(/\s*\n\s*/g, ' ')}`
}
