// Bench children run as plain JavaScript, not under tsx: the tsx loader adds ~55 MiB of RSS and
// its own CPU to a process, which would bias the servers' and clients' memory figures.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const benchDir = dirname(dirname(fileURLToPath(import.meta.url)))
/** Where compiled children go (git-ignored); next to bench/ so bare imports resolve as from bench/. */
const OUT = join(benchDir, '.build')

/**
 * Transpiles `bench/child/<name>.ts` (type-stripped, no bundling) to `bench/.build/<name>.mjs`.
 * @returns the path of the JavaScript file to run with plain `node`.
 */
export function compileChild(name: string): string {
  const source = readFileSync(join(benchDir, 'child', `${name}.ts`), 'utf8')
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    fileName: `${name}.ts`,
  })
  mkdirSync(OUT, { recursive: true })
  const out = join(OUT, `${basename(name)}.mjs`)
  writeFileSync(out, outputText)
  return out
}
