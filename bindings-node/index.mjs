// ESM entry: the CommonJS binding (index.js, generated) re-exported by name, nothing of its own.
// test/esm.test.mjs holds the names to the CommonJS entry's (its test-only hooks aside).
import { createRequire } from 'node:module'

const binding = createRequire(import.meta.url)('./index.js')

export const { Client, DajisaasError, NativeSandbox, OrderIdFormat, sign, signingStringMasked, __napiBindingTarget } = binding
export default binding
