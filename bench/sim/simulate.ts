// One replay of a failure trace against the real ObjectStore under one durability policy.
// Real FsBackends in a tmp dir, behind FaultyBackends the trace drives, observed by a HealthMonitor;
// time is a ManualClock advanced one simulated step at a time (hours run in seconds).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { DurabilityEngine, HealthMonitor, InProcessTaskQueue, ManualClock, type DurabilityPolicy } from '@tessera/durability'
import { seededRandom } from '@tessera/predict'
import { FaultyBackend, FileManifestStore, FsBackend, ObjectStore, wholeBlocksOnly, type Backend, type Manifest } from '@tessera/storage'
import { faultsAt, type Trace } from './trace.js'

/** What the simulator is set to; the same for every policy of a run. */
export interface SimConfig {
  readonly seed: number
  readonly objects: number
  /** Stripes per object are drawn from 1…maxStripes. */
  readonly maxStripes: number
  readonly blockBytes: number
  readonly dataBlocks: number
  readonly parityBlocks: number
  /** Simulated time per step, ms (probes run once per step). */
  readonly stepMs: number
  /** Ground truth is taken every this many steps. */
  readonly accountEverySteps: number
  /** Real ms slept per simulated ms of injected latency; durations are measured back in simulated ms. */
  readonly latencyScale: number
  /** Foreground reads of whole random objects per step. */
  readonly readsPerStep: number
  readonly sampleIntervalMs: number
  readonly evaluateIntervalMs: number
  readonly scrubIntervalMs: number
  /** A full scrub sweep of every stripe takes this long (same budget for every policy). */
  readonly scrubSweepMs: number
  /** Repair budget: estimated task bytes per simulated second. */
  readonly repairBytesPerSecond: number
  readonly latencyLimitMs: number
}

export interface SimResult {
  readonly trace: string
  readonly policy: DurabilityPolicy
  readonly objects: number
  readonly stripes: number
  readonly objects_lost: number
  readonly objects_lost_ground_truth: number
  readonly below_redundancy_object_hours: number
  readonly repair_bytes: number
  readonly scrub_bytes: number
  readonly probe_bytes: number
  readonly foreground_read_bytes: number
  readonly stored_bytes_end: number
  readonly peak_extra_parity_blocks: number
  readonly actions: Readonly<Record<string, Readonly<Record<string, number>>>>
  readonly first_loss_hours: number | null
  readonly wall_s: number
}


function objectBytes(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n)
  const r = seededRandom(seed)
  for (let i = 0; i < n; i += 4) out.writeUInt32LE(Math.floor(r() * 2 ** 32) >>> 0, Math.min(i, n - 4))
  return out
}


async function liveManifests(manifests: FileManifestStore): Promise<Map<string, Manifest>> {
  const out = new Map<string, Manifest>()
  for await (const id of manifests.list()) {
    const m = await manifests.get(id)
    if (m && !m.deleted) out.set(id, m)
  }
  return out
}

export async function simulate(trace: Trace, policy: DurabilityPolicy, cfg: SimConfig, log: (line: string) => void = () => {}): Promise<SimResult> {
  const started = performance.now()
  const root = await mkdtemp(join(tmpdir(), `tessera-sim-${trace.name}-${policy}-`))
  try {
    const clock = new ManualClock(0)
    const health = new HealthMonitor({
      clock,
      elapsed: () => performance.now() / cfg.latencyScale,
      sampleIntervalMs: cfg.sampleIntervalMs,
      probeIntervalMs: cfg.stepMs,
      probe: 'write',
      probeTimeoutMs: 5_000,
    })
    const ids = Array.from({ length: trace.backends }, (_, i) => `b${i}`)
    const fs = await Promise.all(ids.map((id) => FsBackend.open({ id, root: join(root, id) })))
    const faulty = fs.map((b, i) => new FaultyBackend(wholeBlocksOnly(b), { seed: cfg.seed * 1000 + i + 1 }))
    const manifests = await FileManifestStore.open({ dir: join(root, 'meta') })
    const store = await ObjectStore.open({ backends: faulty.map((b) => health.wrap(b)), manifests, dataBlocks: cfg.dataBlocks, parityBlocks: cfg.parityBlocks, blockBytes: cfg.blockBytes, blockTimeoutMs: 2_000 })

    // Objects: 1…maxStripes stripes, the last one partly filled.
    const rand = seededRandom(cfg.seed)
    const stripeBytes = cfg.dataBlocks * cfg.blockBytes
    const sizes = new Map<string, number>()
    let stripes = 0
    for (let i = 0; i < cfg.objects; i++) {
      const n = 1 + Math.floor(rand() * cfg.maxStripes)
      const size = (n - 1) * stripeBytes + 64 + Math.floor(rand() * (stripeBytes - 64))
      const id = `obj${i}`
      sizes.set(id, size)
      stripes += n
      await store.create(id)
      await store.append(id, (async function* () {
        yield objectBytes(size, cfg.seed * 100_000 + i)
      })())
    }

    health.sample() // close (and drop) the window of the uploads: the trace starts now
    const passes = Math.max(1, Math.round(cfg.scrubSweepMs / cfg.scrubIntervalMs))
    const queue = new InProcessTaskQueue({ clock, concurrency: 2, bytesPerSecond: cfg.repairBytesPerSecond, tasksPerInterval: Infinity })
    const engine = new DurabilityEngine({
      store,
      health,
      policy,
      clock,
      queue,
      evaluateIntervalMs: cfg.evaluateIntervalMs,
      scrubIntervalMs: cfg.scrubIntervalMs,
      scrubStripesPerPass: Math.ceil(stripes / passes),
      risk: { latencyLimitMs: cfg.latencyLimitMs },
    })
    engine.start()

    const dead = new Set<string>()
    const rotten = new Set<string>()
    const lostAt = new Map<string, number>()
    const traceRand = seededRandom(cfg.seed + 7)
    const readRand = seededRandom(cfg.seed + 13)
    let belowObjectMs = 0
    let peakExtra = 0
    let nextEvent = 0
    const endMs = trace.durationHours * 3_600_000
    const objectIds = [...sizes.keys()]

    const account = async (spanMs: number): Promise<void> => {
      const live = await liveManifests(manifests)
      let below = 0
      let extra = 0
      for (const [id, m] of live) {
        let isBelow = false
        for (const s of m.stripes) {
          const intact = s.blocks.filter((b) => b !== null && !dead.has(b.backend) && !rotten.has(`${b.backend}\0${b.key}`)).length
          if (intact < s.dataBlocks && !lostAt.has(id)) lostAt.set(id, clock.now())
          if (intact < s.dataBlocks + cfg.parityBlocks) isBelow = true
          extra += Math.max(0, s.parityBlocks - cfg.parityBlocks)
        }
        if (isBelow || lostAt.has(id)) below++
      }
      belowObjectMs += below * spanMs
      peakExtra = Math.max(peakExtra, extra)
    }

    const applyEvents = async (nowMs: number): Promise<void> => {
      const hours = nowMs / 3_600_000
      while (nextEvent < trace.events.length && trace.events[nextEvent]!.atHours <= hours) {
        const e = trace.events[nextEvent++]!
        const i = ids.indexOf(e.backend)
        if ('die' in e) {
          dead.add(e.backend)
          faulty[i]!.setFaults({ gone: true })
          log(`  ${hours.toFixed(2)} h: ${e.backend} dies`)
        } else if ('corrupt' in e) {
          let n = 0
          for (const m of (await liveManifests(manifests)).values()) {
            for (const s of m.stripes) {
              for (const b of s.blocks) {
                if (!b || b.backend !== e.backend || traceRand() >= e.corrupt || dead.has(b.backend)) continue
                const bytes = Buffer.from(await fs[i]!.read(b.key))
                const at = Math.floor(traceRand() * bytes.length)
                bytes[at] = bytes[at]! ^ (1 + Math.floor(traceRand() * 255))
                await fs[i]!.put(b.key, bytes)
                rotten.add(`${b.backend}\0${b.key}`)
                n++
              }
            }
          }
          log(`  ${hours.toFixed(2)} h: ${n} blocks on ${e.backend} rot`)
        }
      }
      for (let j = 0; j < ids.length; j++) {
        if (dead.has(ids[j]!)) continue
        const f = faultsAt(trace, ids[j]!, hours)
        faulty[j]!.setFaults({ latencyMs: f.latencyMs * cfg.latencyScale, errorRate: f.errorRate })
      }
    }

    let step = 0
    for (let now = 0; now < endMs; now += cfg.stepMs, step++) {
      await applyEvents(now)
      await clock.advance(cfg.stepMs)
      await queue.onSettled()
      for (let r = 0; r < cfg.readsPerStep; r++) {
        const id = objectIds[Math.floor(readRand() * objectIds.length)]!
        try {
          for await (const _chunk of await store.read(id, { onFault: (f) => void engine.onFault(f) })) void _chunk
        } catch {
          // A lost object: the ground truth counts it.
        }
      }
      await queue.onSettled()
      if ((step + 1) % cfg.accountEverySteps === 0) await account(cfg.accountEverySteps * cfg.stepMs)
    }
    const status = engine.status()
    await engine.stop()

    // Ground truth from the bytes: every object read back whole through the store.
    let lost = 0
    for (const [id, size] of sizes) {
      const want = objectBytes(size, cfg.seed * 100_000 + Number(id.slice(3)))
      try {
        const parts: Uint8Array[] = []
        for await (const c of await store.read(id)) parts.push(c)
        if (!Buffer.concat(parts).equals(want)) lost++
      } catch {
        lost++
      }
    }
    const io = health.io()
    const moved = (k: keyof typeof io) => io[k].bytesRead + io[k].bytesWritten
    let storedEnd = 0
    for (const m of (await liveManifests(manifests)).values()) for (const s of m.stripes) storedEnd += s.blocks.filter((b) => b && !dead.has(b.backend)).length * s.blockBytes
    const firstLoss = lostAt.size > 0 ? Math.min(...lostAt.values()) / 3_600_000 : null
    return {
      trace: trace.name,
      policy,
      objects: cfg.objects,
      stripes,
      objects_lost: lost,
      objects_lost_ground_truth: lostAt.size,
      below_redundancy_object_hours: belowObjectMs / 3_600_000,
      repair_bytes: moved('regenerate') + moved('migrate') + moved('add-parity') + moved('drop-parity'),
      scrub_bytes: moved('scrub'),
      probe_bytes: moved('probe'),
      foreground_read_bytes: io.foreground.bytesRead,
      stored_bytes_end: storedEnd,
      peak_extra_parity_blocks: peakExtra,
      actions: status.totals,
      first_loss_hours: firstLoss,
      wall_s: (performance.now() - started) / 1000,
    }
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

export const WIDTH_NOTE = 'k+m = 4+2 on 10 backends (parity may grow to 4+4), whole blocks (an S3-like store)'
