// Types of the ESM entry (index.mjs): the same API as index.d.ts, which types the CommonJS entry.
// A separate file so that TypeScript sees ESM types for `import` (node16/nodenext resolution).
import * as binding from './index.js'

export * from './index.js'
export default binding
