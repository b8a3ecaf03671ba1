import { Counter, type Registry } from 'prom-client'

/** Label values of one sample. */
export type Labels = Record<string, string>

/**
 * A counter whose samples are running totals kept elsewhere (the durability engine's, the store's),
 * read at scrape time by `read` — each scrape replaces the values, nothing is added between them.
 */
export function collectedCounter(registry: Registry, name: string, help: string, labelNames: string[], read: () => readonly (readonly [Labels, number])[]): Counter {
  return new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset()
      for (const [labels, v] of read()) this.inc(labels, v)
    },
  })
}
