// One (trace, policy) replay in a process of its own, so the three policies of a trace run side by
// side (their injected latencies are real sleeps that overlap). Prints one JSON line: the SimResult.
// Usage: node --import tsx bench/sim/child.ts TRACE_FILE POLICY CONFIG_JSON
import type { DurabilityPolicy } from '@tessera/durability'
import { simulate, type SimConfig } from './simulate.js'
import { loadTrace } from './trace.js'

const [file, policy, config] = process.argv.slice(2)
if (!file || !policy || !config) throw new Error('usage: child.ts TRACE_FILE POLICY CONFIG_JSON')
const lines: string[] = []
const result = await simulate(loadTrace(file), policy as DurabilityPolicy, JSON.parse(config) as SimConfig, (line) => lines.push(line))
process.stdout.write(`${JSON.stringify({ result, lines })}\n`)
