import { ClientError } from './errors.js'

/** What `getToken` may give: the token, or a promise of it. */
export type GetToken = () => Promise<string> | string

// RFC 6750 §2.1 b64token: what an `Authorization: Bearer` header may carry, nothing that could end the header.
const B64TOKEN = /^[A-Za-z0-9._~+/-]+=*$/

/**
 * The bearer token of one upload's requests, from the caller's `getToken()`: asked once at the
 * first request and kept, asked again only when the server refused it (401) — one refresh for all
 * the requests refused with the same token, however many were in flight.
 */
export class BearerToken {
  #current: Promise<string> | undefined

  constructor(private readonly getToken: GetToken) {}

  /** The token to send now (a promise: the first call asks `getToken()`). Keep it to hand to {@link refresh}. */
  current(): Promise<string> {
    return (this.#current ??= this.#ask())
  }

  /**
   * A fresh token after the server refused `refused` (a promise {@link current} gave): asks
   * `getToken()` again unless another request already did since.
   */
  refresh(refused: Promise<string>): Promise<string> {
    if (this.#current === refused) this.#current = this.#ask()
    return this.#current!
  }

  async #ask(): Promise<string> {
    let token: unknown
    try {
      token = await this.getToken()
    } catch (err) {
      throw new ClientError('CLIENT_ERR_UNAUTHORIZED', `getToken() failed: ${(err as Error)?.message ?? String(err)}`, { cause: err })
    }
    if (typeof token !== 'string' || !B64TOKEN.test(token)) {
      throw new ClientError('CLIENT_ERR_UNAUTHORIZED', `getToken() must resolve a bearer token (RFC 6750 characters, no spaces), got ${typeof token === 'string' ? `a string of ${token.length} characters` : typeof token}`)
    }
    return token
  }
}
