import { join } from 'node:path'
import { REDIS_URL, TestPrefixes } from '@tessera/cluster/testing'
import { type GatewayProcess, killGateway, removeDir, startGateway, tempDir } from './gateway-process.js'

/** One cluster of {@link TestClusters}: its Redis prefix, and how to start one more of its gateways. */
export interface TestCluster {
  /** `--redis-prefix` of every gateway of this cluster (a test may open the cluster's keys with it). */
  readonly prefix: string
  /**
   * Starts gateway `name` of the cluster (its own `--data`). `redisUrl` may be a relay in front of
   * Redis; `args` go after the cluster's own (per-gateway flags such as `--repair-concurrency`).
   */
  start(name: string, options?: { readonly redisUrl?: string; readonly args?: readonly string[] }): Promise<GatewayProcess>
}

/**
 * The gateway clusters of one test file: each cluster a Redis prefix of its own (`TestPrefixes`),
 * every gateway of every cluster over the same `count` backend directories, each gateway its own
 * `--data` under one temp directory. `close()` (the file's `after`) kills what still runs, deletes
 * the prefixes' keys and the directory.
 */
export class TestClusters {
  readonly #prefixes: TestPrefixes
  readonly #running = new Set<GatewayProcess>()

  private constructor(
    /** The temp directory everything lives under. */
    readonly dir: string,
    /** The backend directories, in `--backends` order. */
    readonly backendDirs: readonly string[],
    label: string,
  ) {
    this.#prefixes = new TestPrefixes(label)
  }

  /** A temp directory for `label` and `count` (default 6: the default 4 + 2) backend directory paths under it (the gateways create them). */
  static async open(label: string, count = 6): Promise<TestClusters> {
    const dir = await tempDir(label)
    return new TestClusters(dir, Array.from({ length: count }, (_, i) => join(dir, 'backends', `b${i}`)), label)
  }

  /** `--backends` value of every gateway. */
  get backends(): string {
    return this.backendDirs.join(',')
  }

  /** A new cluster called `tag`; `args` are given to each of its gateways (geometry, queue timing: what a cluster must agree on). */
  cluster(tag: string, args: readonly string[] = []): TestCluster {
    const prefix = this.#prefixes.next(tag)
    return {
      prefix,
      start: async (name, options = {}) => {
        const gateway = await startGateway({
          dataDir: join(this.dir, `${tag}-${name}`),
          args: ['--redis-url', options.redisUrl ?? REDIS_URL, '--redis-prefix', prefix, '--backends', this.backends, '--log-level', 'warn', ...args, ...(options.args ?? [])],
        })
        this.#running.add(gateway)
        void gateway.exited.then(() => this.#running.delete(gateway))
        return gateway
      },
    }
  }

  /** Kills every gateway still running, deletes every cluster's keys and the temp directory. */
  async close(): Promise<void> {
    await Promise.all([...this.#running].map(killGateway))
    try {
      await this.#prefixes.drop()
    } finally {
      await removeDir(this.dir)
    }
  }
}
