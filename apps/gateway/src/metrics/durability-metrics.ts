import type { DurabilityStatus } from '@tessera/durability'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { GatewayDurability } from '../gateway-durability.js'
import { collectedCounter, type Labels } from './collected-counter.js'

/**
 * The durability engine's figures as Prometheus metrics (docs/metrics.md): per-backend health,
 * capacity and risk, the repair queue, actions by kind and outcome, scrub progress. Read from
 * `durability.status()` at scrape time by collect callbacks — one status per scrape, taken by
 * {@link beginScrape} — so nothing polls; the backends' cumulative operation and error counts and
 * the stripes scrubbed are added up from the health monitor's windows and the engine's events as
 * they happen.
 */
export class DurabilityMetrics {
  #status: DurabilityStatus | undefined

  constructor(
    private readonly durability: GatewayDurability,
    registry: Registry,
  ) {
    const registers = [registry]
    const status = (): DurabilityStatus => (this.#status ??= durability.status())
    const perBackend = (name: string, help: string, value: (b: DurabilityStatus['backends'][number]) => number | null | undefined): void => {
      new Gauge({
        name,
        help,
        labelNames: ['backend'],
        registers,
        collect() {
          this.reset()
          for (const b of status().backends) {
            const v = value(b)
            if (typeof v === 'number' && Number.isFinite(v)) this.set({ backend: b.backend }, v)
          }
        },
      })
    }
    perBackend('tessera_backend_up', '1 while the backend answers (its last probe and health window succeeded), else 0.', (b) => (b.risk.unavailable || b.lastProbe?.ok === false ? 0 : 1))
    perBackend('tessera_backend_latency_seconds', "Median duration of the backend's operations in its last health window.", (b) => (b.latest ? b.latest.latencyMs / 1000 : null))
    perBackend('tessera_backend_error_ratio', "Failed operations / operations in the backend's last health window.", (b) => b.latest?.errorRate)
    perBackend('tessera_backend_free_bytes', 'Free space on the medium at the last probe (absent when the backend cannot tell).', (b) => b.capacity?.freeBytes)
    perBackend('tessera_backend_capacity_bytes', 'Total space on the medium at the last probe (absent when the backend cannot tell).', (b) => b.capacity?.totalBytes)
    perBackend('tessera_backend_unavailable_probability', 'P(the backend is unavailable within the risk horizon), 0 to 1.', (b) => b.risk.probability)
    perBackend('tessera_backend_blocks', 'Blocks the manifests place on the backend (as of the last evaluation).', (b) => b.blocks)

    const totalFrom = (name: string, help: string, labelNames: string[], read: (s: DurabilityStatus) => [Labels, number][]): void => {
      collectedCounter(registry, name, help, labelNames, () => read(status()))
    }
    totalFrom('tessera_durability_actions_total', 'Background actions by kind (regenerate, migrate, add-parity, drop-parity, scrub, fault, suspect) and outcome (planned, done, failed, skipped, deferred, observed).', ['kind', 'outcome'], (s) =>
      Object.entries(s.totals).flatMap(([kind, outcomes]) => Object.entries(outcomes).map(([outcome, n]): [Labels, number] => [{ kind, outcome }, n])),
    )
    totalFrom('tessera_durability_evaluations_total', 'Evaluations run (manifests re-read, risk and the priority list refreshed).', [], (s) => [[{}, s.evaluations]])
    totalFrom('tessera_backend_io_operations_total', 'Backend operations by purpose (foreground, probe, scrub, regenerate, migrate, add-parity, drop-parity).', ['purpose'], (s) =>
      Object.entries(s.io).map(([purpose, io]): [Labels, number] => [{ purpose }, io.ops]),
    )
    totalFrom('tessera_backend_io_bytes_total', 'Backend bytes by purpose and direction (read, written).', ['purpose', 'direction'], (s) =>
      Object.entries(s.io).flatMap(([purpose, io]): [Labels, number][] => [
        [{ purpose, direction: 'read' }, io.bytesRead],
        [{ purpose, direction: 'written' }, io.bytesWritten],
      ]),
    )

    new Gauge({
      name: 'tessera_repair_queue_tasks',
      help: 'Background tasks in the queue by state (waiting, running).',
      labelNames: ['state'],
      registers,
      collect() {
        const { queue } = status()
        this.set({ state: 'waiting' }, queue.waiting)
        this.set({ state: 'running' }, queue.running)
      },
    })
    new Gauge({
      name: 'tessera_durability_objects',
      help: 'Objects the last evaluation indexed.',
      registers,
      collect() {
        this.set(status().objects)
      },
    })

    const operations = new Counter({ name: 'tessera_backend_operations_total', help: 'Operations on the backend (traffic and probes), counted as each health window closes.', labelNames: ['backend'], registers })
    const errors = new Counter({ name: 'tessera_backend_errors_total', help: 'Failed operations on the backend (corrupt blocks included), counted as each health window closes.', labelNames: ['backend'], registers })
    durability.health.onSample((backend, record) => {
      operations.inc({ backend }, record.ops)
      errors.inc({ backend }, record.errors)
    })
    const verified = new Counter({ name: 'tessera_scrub_stripes_verified_total', help: 'Stripes re-read and verified by scrub passes.', registers })
    const faults = new Counter({ name: 'tessera_scrub_faults_total', help: 'Bad blocks (missing, unreadable, corrupt) scrub passes found.', registers })
    durability.engine.onEvent((event) => {
      if (event.action !== 'scrub' || event.outcome !== 'done') return
      verified.inc(Number(event.detail?.['verified'] ?? 0))
      faults.inc(Number(event.detail?.['faults'] ?? 0))
    })
  }

  /** Takes the one status this scrape's collect callbacks read. */
  beginScrape(): void {
    this.#status = this.durability.status()
  }

  /** Drops it once the scrape is written. */
  endScrape(): void {
    this.#status = undefined
  }
}
