// The ESM face of require('dajisaas/testing').
export { startSandbox } from './testing.js'
