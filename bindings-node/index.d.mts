// Types of the ESM entry (index.mjs): the same API as index.d.ts, which types the CommonJS entry.
// A separate file so that TypeScript sees ESM types for `import` (node16/nodenext resolution).
import * as binding from './index.js'

export { Client, DajisaasError, sign, signingStringMasked } from './index.js'
export type { ClientConfig, ClientOptions, ErrorCode, OrderIdFormat, Payment, PayUrl, PayUrlsOptions } from './index.js'
export default binding
