// A strict parser of the Prometheus text exposition format (0.0.4): every line is a HELP, a TYPE
// or a sample of a family declared before it; anything else throws, naming the line.

export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

export interface Exposition {
  /** Family name → its TYPE. */
  readonly types: ReadonlyMap<string, string>
  readonly samples: readonly Sample[]
  /** The value of the one sample `name` with exactly `labels` (0 when there is none: a counter not yet moved). */
  value(name: string, labels?: Record<string, string>): number
  /** The samples of `name` whose labels include `labels`. */
  find(name: string, labels?: Record<string, string>): Sample[]
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: -?\\d+)?$`)
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)",?/
const SUFFIXES: Record<string, readonly string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['', '_sum', '_count'] }

export function parsePrometheusText(text: string): Exposition {
  const types = new Map<string, string>()
  const samples: Sample[] = []
  text.split('\n').forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`
    if (line === '') return
    const meta = new RegExp(`^# (HELP|TYPE) (${NAME}) ?(.*)$`).exec(line)
    if (meta) {
      if (meta[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(meta[3]!)) throw new Error(`unknown type, ${where}`)
        if (types.has(meta[2]!)) throw new Error(`second TYPE, ${where}`)
        types.set(meta[2]!, meta[3]!)
      }
      return
    }
    const m = SAMPLE.exec(line)
    if (!m) throw new Error(`not a sample, ${where}`)
    const [, name, labelText = '', valueText] = m
    const family = [...types].find(([f, type]) => (SUFFIXES[type] ?? ['']).some((s) => `${f}${s}` === name))
    if (!family) throw new Error(`sample of no declared family, ${where}`)
    const labels: Record<string, string> = {}
    for (let rest = labelText; rest !== ''; ) {
      const l = LABEL.exec(rest)
      if (!l) throw new Error(`bad labels, ${where}`)
      labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1')
      rest = rest.slice(l[0].length)
    }
    // Go's strconv.ParseFloat, which Prometheus uses: NaN and Inf in any case (prom-client writes `Nan`).
    const special = /^([+-]?)(inf|nan)$/i.exec(valueText!)
    const value = special ? (special[2]!.toLowerCase() === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity) : Number(valueText)
    if (Number.isNaN(value) && !special) throw new Error(`bad value, ${where}`)
    samples.push({ name: name!, labels, value })
  })
  const matches = (s: Sample, name: string, labels: Record<string, string>): boolean => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  return {
    types,
    samples,
    find: (name, labels = {}) => samples.filter((s) => matches(s, name, labels)),
    value(name, labels = {}) {
      const exact = samples.filter((s) => matches(s, name, labels) && Object.keys(s.labels).length === Object.keys(labels).length)
      if (exact.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${exact.length} samples`)
      return exact[0]?.value ?? 0
    },
  }
}
