#!/usr/bin/env node
// The `tessera` executable (package.json `bin`). Only this file touches the process: argv, the
// streams, SIGINT and the exit status; everything else is runCli().
import { runCli } from './run-cli.js'

const status = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  onInterrupt(handler) {
    process.on('SIGINT', handler)
    return () => process.off('SIGINT', handler)
  },
}).catch((err: unknown) => {
  // runCli reports its own failures; this is a bug in it, still one line and no stack.
  process.stderr.write(`tessera: internal error: ${err instanceof Error ? err.message : String(err)}\n`)
  return 1
})
process.exitCode = status
