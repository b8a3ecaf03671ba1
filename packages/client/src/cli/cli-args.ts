import { parseArgs } from 'node:util'

/** Usage text of `tessera`, printed with every argument error (exit 2) and for `--help`. */
export const USAGE = `Usage: tessera upload FILE... --endpoint URL [--endpoint URL ...] [options]

Uploads each FILE (in order) over tus with parallel partitions and end-to-end SHA-256; prints
each upload's URL on stdout, one line per file. Re-running the same command resumes.

Options:
  --endpoint URL        tus creation URL (repeatable: gateways that share storage)
  --metadata KEY=VALUE  Upload-Metadata of the upload (repeatable; filename defaults to the file's name)
  --header "NAME: VALUE"
                        a header on every request (repeatable), e.g. "X-Api-Key: k"
  --token-env VAR       send the bearer token in environment variable VAR as
                        Authorization: Bearer (keeps it off the command line and ps)
  --concurrency N       partitions in flight at most (default 8, starts at min(4, N))
  --state-dir DIR       resume state directory (default $TESSERA_STATE_DIR or ~/.tessera)
  --quiet               no progress output, only the URLs and errors
  --verbose             also print resume, retry and stall events
  -h, --help            this text

Exit status: 0 every file uploaded, 1 an upload failed, 2 bad arguments, 130 interrupted.`

/** A parsed `tessera upload` command. */
export interface UploadCommand {
  readonly command: 'upload'
  readonly files: readonly string[]
  readonly endpoints: readonly string[]
  readonly metadata: Readonly<Record<string, string>>
  /** `--header` values, by name as given. */
  readonly headers: Readonly<Record<string, string>>
  /** `--token-env`: the environment variable holding the bearer token. */
  readonly tokenEnv: string | undefined
  /** Partitions in flight at most; undefined → the engine's default. */
  readonly concurrency: number | undefined
  /** Undefined → `TESSERA_STATE_DIR` or `~/.tessera`. */
  readonly stateDir: string | undefined
  readonly quiet: boolean
  readonly verbose: boolean
}

/** What the command line asks for. */
export type CliCommand = UploadCommand | { readonly command: 'help' }

/** A command line that cannot be run; the CLI prints the message and {@link USAGE}, exit 2. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError'
}

/**
 * Parses `argv` (without node and the script) with `node:util` parseArgs, strictly: an unknown
 * flag, a missing value, a missing `--endpoint` or FILE, a bad `--metadata` or `--concurrency`
 * throws {@link CliUsageError}. Files are not looked at here.
 */
export function parseCliArgs(argv: readonly string[]): CliCommand {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (err) {
    throw new CliUsageError((err as Error).message)
  }
  const { values, positionals } = parsed
  if (values.help) return { command: 'help' }
  const [command, ...files] = positionals
  if (command === undefined) throw new CliUsageError('missing command (upload)')
  if (command !== 'upload') throw new CliUsageError(`unknown command ${JSON.stringify(command)} (expected upload)`)
  if (files.length === 0) throw new CliUsageError('missing FILE')
  const endpoints = values.endpoint ?? []
  if (endpoints.length === 0) throw new CliUsageError('missing --endpoint URL')
  const metadata: Record<string, string> = {}
  for (const pair of values.metadata ?? []) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw new CliUsageError(`--metadata expects KEY=VALUE, got ${JSON.stringify(pair)}`)
    metadata[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  const headers: Record<string, string> = {}
  for (const line of values.header ?? []) {
    const match = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/.exec(line)
    if (!match || /[\r\n\0]/.test(match[2]!)) throw new CliUsageError(`--header expects "NAME: VALUE", got ${JSON.stringify(line)}`)
    headers[match[1]!] = match[2]!
  }
  const tokenEnv = values['token-env']
  if (tokenEnv !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(tokenEnv)) throw new CliUsageError(`--token-env expects an environment variable name, got ${JSON.stringify(tokenEnv)}`)
  let concurrency: number | undefined
  if (values.concurrency !== undefined) {
    concurrency = Number(values.concurrency)
    if (!/^\d+$/.test(values.concurrency) || !Number.isSafeInteger(concurrency) || concurrency < 1) {
      throw new CliUsageError(`--concurrency expects a whole number from 1 and up, got ${JSON.stringify(values.concurrency)}`)
    }
  }
  if (values.quiet && values.verbose) throw new CliUsageError('--quiet and --verbose exclude each other')
  return {
    command: 'upload',
    files,
    endpoints,
    metadata,
    headers,
    tokenEnv,
    concurrency,
    stateDir: values['state-dir'],
    quiet: values.quiet ?? false,
    verbose: values.verbose ?? false,
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: true,
    options: {
      endpoint: { type: 'string', multiple: true },
      metadata: { type: 'string', multiple: true },
      header: { type: 'string', multiple: true },
      'token-env': { type: 'string' },
      concurrency: { type: 'string' },
      'state-dir': { type: 'string' },
      quiet: { type: 'boolean' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
}
