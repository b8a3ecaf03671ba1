import { parseDuration } from '../config-values.js'

/** The hooks Tessera sends, with tusd's names (docs/hooks.md). */
export const HOOK_TYPES = ['pre-create', 'post-create', 'post-receive', 'post-finish', 'post-terminate'] as const

/** One of {@link HOOK_TYPES}. */
export type HookType = (typeof HOOK_TYPES)[number]

/** HTTP hooks (`--hooks-url`, `--hooks-events`, `--hooks-timeout`). */
export interface HooksConfig {
  /** `http:` or `https:` URL every hook request is POSTed to. */
  readonly url: string
  /** The hooks sent. Default all five, as tusd's `-hooks-enabled-events` default. */
  readonly events: ReadonlySet<HookType>
  /** How long one hook request may take, ms (a `pre-create` past it fails the creation with 500). Default 15 s, as tusd. */
  readonly timeoutMs: number
}

/** The option keys this part of the configuration reads. */
export type HooksOptionKey = 'hooksUrl' | 'hooksEvents' | 'hooksTimeout'

/** A configuration value and where it came from (a flag, a variable, a config field), as `loadConfig` reads it. */
export type RawHooksOption = (key: HooksOptionKey) => { readonly value: string; readonly from: string } | undefined

const DEFAULT_TIMEOUT_MS = 15_000

/**
 * The hooks part of the gateway configuration; `undefined` without `--hooks-url` (no hooks).
 * Problems go to `problems`: a URL that is not http(s), an unknown event name, a duration that is
 * not positive, and `--hooks-events`/`--hooks-timeout` without `--hooks-url` (they would be ignored).
 */
export function parseHooksConfig(raw: RawHooksOption, problems: string[]): HooksConfig | undefined {
  const urlRaw = raw('hooksUrl')
  const eventsRaw = raw('hooksEvents')
  const timeoutRaw = raw('hooksTimeout')
  if (!urlRaw) {
    for (const given of [eventsRaw, timeoutRaw]) if (given) problems.push(`${given.from} is set but --hooks-url (TESSERA_HOOKS_URL) is not: no hook would be sent`)
    return undefined
  }
  const parsedUrl = URL.canParse(urlRaw.value) ? new URL(urlRaw.value) : undefined
  if (!parsedUrl || (parsedUrl.protocol !== 'http:' && parsedUrl.protocol !== 'https:')) {
    problems.push(`${urlRaw.from}: expected an http:// or https:// URL, got ${JSON.stringify(urlRaw.value)}`)
  }
  const events = new Set<HookType>(HOOK_TYPES)
  if (eventsRaw) {
    events.clear()
    for (const name of eventsRaw.value.split(',').map((s) => s.trim()).filter(Boolean)) {
      if ((HOOK_TYPES as readonly string[]).includes(name)) events.add(name as HookType)
      else problems.push(`${eventsRaw.from}: unknown hook ${JSON.stringify(name)} (known: ${HOOK_TYPES.join(', ')})`)
    }
  }
  let timeoutMs = DEFAULT_TIMEOUT_MS
  if (timeoutRaw) {
    const ms = parseDuration(timeoutRaw.value)
    if (ms === undefined || ms < 1) problems.push(`${timeoutRaw.from}: expected a positive duration such as 15s or 500ms, got ${JSON.stringify(timeoutRaw.value)}`)
    else timeoutMs = ms
  }
  return { url: urlRaw.value, events, timeoutMs }
}
