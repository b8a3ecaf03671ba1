import type { ObjectStore } from '@tessera/storage'
import { Gauge, type Registry } from 'prom-client'
import { collectedCounter } from './collected-counter.js'

/**
 * The read path's figures (hedged reads, the echo cache) as Prometheus metrics, read from the
 * store's own counters at scrape time (`store.readStats()`, `store.options.echoes.stats()`);
 * the echo metrics appear only when the store has an echo cache.
 */
export function registerReadMetrics(store: ObjectStore, registry: Registry): void {
  const registers = [registry]
  /** One counter per `[name, field, help]`, each sample `stats()[field]` at scrape time. */
  const totals = <S>(stats: () => S, metrics: readonly (readonly [string, NumberField<S>, string])[]): void => {
    for (const [name, field, help] of metrics) collectedCounter(registry, name, help, [], () => [[{}, stats()[field] as number]])
  }
  totals(() => store.readStats(), [
    ['tessera_read_stripes_total', 'stripes', 'Stripe reads finished (successfully or not).'],
    ['tessera_read_blocks_needed_total', 'blocksNeeded', 'Blocks those stripe reads needed (k, or fewer for a range inside one stripe).'],
    ['tessera_read_blocks_total', 'blocksRead', 'Block reads started (needed, hedges and replacements).'],
    ['tessera_read_hedges_total', 'hedges', "Block reads started because another was late against its backend's latency."],
    ['tessera_read_hedges_denied_total', 'hedgesDenied', 'Late blocks the hedge budget allowed no hedge for.'],
    ['tessera_read_replacements_total', 'replacements', 'Block reads started because another was missing, unreadable or corrupt.'],
    ['tessera_read_decoded_stripes_total', 'decoded', 'Stripes rebuilt from parity rather than read from their data blocks.'],
  ])
  new Gauge({
    name: 'tessera_backend_read_predicted_seconds',
    help: 'Latency the next block read from the backend is predicted to take (what reads are ranked by).',
    labelNames: ['backend'],
    registers,
    collect() {
      this.reset()
      for (const b of store.readStats().backends) this.set({ backend: b.backend }, b.predictedMs / 1000)
    },
  })

  const echoes = store.options.echoes
  if (!echoes) return
  totals(() => echoes.stats(), [
    ['tessera_echo_hits_total', 'hits', 'Block reads served from the echo cache.'],
    ['tessera_echo_misses_total', 'misses', 'Block reads that had to go to the backends.'],
    ['tessera_echo_evicted_total', 'evicted', 'Echoed blocks dropped to stay within the byte budget.'],
    ['tessera_echo_invalidated_total', 'invalidated', 'Echoed blocks dropped because their object was deleted.'],
    ['tessera_echo_prefetched_total', 'prefetched', 'Blocks the prefetcher stored before any read asked for them.'],
  ])
  new Gauge({
    name: 'tessera_echo_bytes',
    help: 'Bytes of blocks the echo cache holds now.',
    registers,
    collect() {
      this.set(echoes.stats().bytes)
    },
  })
}

/** The keys of `S` whose values are numbers. */
type NumberField<S> = { [K in keyof S]: S[K] extends number ? K : never }[keyof S]
