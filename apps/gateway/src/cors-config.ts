/** Which browser origins may call the tus routes (`--cors-origins`). */
export interface CorsConfig {
  /**
   * `'*'`: any origin (the embedded default: the browser SDK, Uppy and tus-js-client work from any
   * page, without cookies); else the exact origins (`https://app.example:8443`) that may, which
   * may also send credentials (cookies, `withCredentials`). Others get no CORS headers.
   */
  readonly origins: '*' | readonly string[]
}

/** A raw option value and where it came from (a flag, a variable, a config field), as `config.ts` reads it. */
export type RawCorsOption = { readonly value: string; readonly from: string } | undefined

/**
 * `--cors-origins`: `*`, or a comma-separated list of origins — `http:` or `https:` URLs with no
 * path (a trailing `/` is accepted), query, fragment or credentials; kept as browsers send them in
 * `Origin` (lower-case host, default port dropped). Problems go to `problems`, naming the option.
 */
export function parseCorsConfig(raw: RawCorsOption, problems: string[]): CorsConfig {
  if (raw === undefined || raw.value.trim() === '*') return { origins: '*' }
  const entries = raw.value.split(',').map((s) => s.trim()).filter(Boolean)
  if (entries.length === 0) problems.push(`${raw.from}: expected '*' or a comma-separated list of origins such as https://app.example, got ${JSON.stringify(raw.value)}`)
  const origins: string[] = []
  for (const entry of entries) {
    const origin = originOf(entry)
    if (origin === undefined) problems.push(`${raw.from}: ${JSON.stringify(entry)} is not an origin (scheme://host[:port], http or https, no path), nor '*' alone`)
    else if (!origins.includes(origin)) origins.push(origin)
  }
  return { origins }
}

function originOf(entry: string): string | undefined {
  if (!URL.canParse(entry)) return undefined
  const url = new URL(entry)
  const bare = url.pathname === '/' && url.search === '' && url.hash === '' && url.username === '' && url.password === ''
  if (!bare || (url.protocol !== 'http:' && url.protocol !== 'https:') || !/^[a-z]+:\/\/[^/]+\/?$/i.test(entry)) return undefined
  return url.origin
}
