// ESM entry: the CommonJS binding (index.js, generated) re-exported by name.
import { createRequire } from 'node:module'

const binding = createRequire(import.meta.url)('./index.js')

export const { Client, DajisaasError, sign, signingStringMasked } = binding
export default binding
