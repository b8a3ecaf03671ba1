/**
 * The `Upload-Metadata` of an Uppy file, as @uppy/tus builds it: the meta fields `allowed` lets
 * through (`true`: all of them), each as a string, with `name` and `type` also as `filename` and
 * `filetype` (what tusd and @tus/server hooks read) unless the meta has those already.
 */
export function uploadMetadata(meta: Readonly<Record<string, unknown>>, allowed: boolean | readonly string[]): Record<string, string> {
  const fields = allowed === true ? Object.keys(meta) : allowed === false ? [] : allowed
  const out: Record<string, string> = {}
  for (const field of fields) {
    const value = meta[field]
    if (value !== undefined) out[field] = String(value)
  }
  if (out['name'] !== undefined && out['filename'] === undefined) out['filename'] = out['name']
  if (out['type'] !== undefined && out['filetype'] === undefined) out['filetype'] = out['type']
  return out
}
