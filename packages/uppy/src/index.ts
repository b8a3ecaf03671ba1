// @tessera/uppy: `uppy.use(Tessera, { endpoints })` — an Uppy uploader on @tessera/client.
export { default, default as Tessera } from './tessera-plugin.js'
export type { TesseraOptions, TesseraResponseBody } from './tessera-plugin.js'
export { uploadMetadata } from './file-metadata.js'
