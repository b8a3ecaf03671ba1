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
  const total = (name: string, help: string, read: () => number): void => {
    collectedCounter(registry, name, help, [], () => [[{}, read()]])
  }
  total('tessera_read_stripes_total', 'Stripe reads finished (successfully or not).', () => store.readStats().stripes)
  total('tessera_read_blocks_needed_total', 'Blocks those stripe reads needed (k, or fewer for a range inside one stripe).', () => store.readStats().blocksNeeded)
  total('tessera_read_blocks_total', 'Block reads started (needed, hedges and replacements).', () => store.readStats().blocksRead)
  total('tessera_read_hedges_total', "Block reads started because another was late against its backend's latency.", () => store.readStats().hedges)
  total('tessera_read_hedges_denied_total', 'Late blocks the hedge budget allowed no hedge for.', () => store.readStats().hedgesDenied)
  total('tessera_read_replacements_total', 'Block reads started because another was missing, unreadable or corrupt.', () => store.readStats().replacements)
  total('tessera_read_decoded_stripes_total', 'Stripes rebuilt from parity rather than read from their data blocks.', () => store.readStats().decoded)
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
  total('tessera_echo_hits_total', 'Block reads served from the echo cache.', () => echoes.stats().hits)
  total('tessera_echo_misses_total', 'Block reads that had to go to the backends.', () => echoes.stats().misses)
  total('tessera_echo_evicted_total', 'Echoed blocks dropped to stay within the byte budget.', () => echoes.stats().evicted)
  total('tessera_echo_invalidated_total', 'Echoed blocks dropped because their object was deleted.', () => echoes.stats().invalidated)
  total('tessera_echo_prefetched_total', 'Blocks the prefetcher stored before any read asked for them.', () => echoes.stats().prefetched)
  new Gauge({
    name: 'tessera_echo_bytes',
    help: 'Bytes of blocks the echo cache holds now.',
    registers,
    collect() {
      this.set(echoes.stats().bytes)
    },
  })
}
