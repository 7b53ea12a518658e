// Types of the ESM entry (testing.mjs): the same API as testing.d.ts, in a file of its own so that
// TypeScript sees ESM types for `import` (node16/nodenext resolution), as index.d.mts does.
export * from './testing.js'
