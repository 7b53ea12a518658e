'use strict'
// require('dajisaas/testing'): a sandbox gateway for your own tests, served from this process by
// the addon (a real HTTP server on 127.0.0.1, on the addon's own threads: no child process, no
// Rust toolchain), never the real gateway and never real money. Order ids choose its behaviour
// (9000… declined, 9003… outcome unknown, 9007… slow, …): see the README's sandbox table.

const { NativeSandbox, Client } = require('./index.js')

const DEFAULT_SECRET = 'sandbox-app-secret'

/**
 * Starts a sandbox on a free port. Options: appKey, appSecret, port, latencyMs, slowMs, hangMs,
 * qps (the gateway's call-frequency limit), chaosSeed (seeded random faults).
 */
function startSandbox(options = {}) {
  const native = new NativeSandbox(options)
  const appSecret = options.appSecret ?? DEFAULT_SECRET
  return {
    url: native.url,
    appKey: native.appKey,
    /** A Client for this sandbox; `clientOptions` as for `new Client(...)`. */
    client: (clientOptions = {}) =>
      new Client({ appKey: native.appKey, appSecret, baseUrl: native.url, ...clientOptions }),
    /** The counters: requests, payCalls and deductions per order, payCallsAfterPaid, ... */
    stats: () => native.stats(),
    /** The requests received, oldest first. */
    requests: () => native.requests(),
    /** Forgets every payment, link and counter. */
    reset: () => native.reset(),
    /** Stops serving; closing twice is fine. */
    close: () => native.close(),
  }
}

module.exports = { startSandbox }
