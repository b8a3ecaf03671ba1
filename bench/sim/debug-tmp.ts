import { DurabilityEngine } from '@tessera/durability'
const orig = DurabilityEngine.prototype.evaluate
let n = 0
DurabilityEngine.prototype.evaluate = async function (this: DurabilityEngine) {
  const r = await orig.call(this)
  if (n++ % 12 === 0) {
    const s = this.status()
    console.log((r.atMs / 3.6e6).toFixed(2), s.backends.map((b) => `${b.backend}:${b.risk.probability.toFixed(4)}${b.risk.unavailable ? 'X' : ''}(${b.latest?.latencyMs.toFixed(0)}ms,${b.latest?.errorRate.toFixed(2)})`).join(' '))
    const failed = s.recent.filter((e) => e.outcome === 'failed').slice(-3)
    for (const f of failed) console.log('   failed', f.action, f.code, f.reason, f.objectId, f.stripe)
    console.log('   top', s.priority.slice(0, 2).map((p) => `${p.objectId}:${p.probability.toExponential(2)}`).join(' '), JSON.stringify(s.totals))
  }
  return r
}
await import('./try-tmp.js')
