// Shared by the tests: `daji sandbox` processes on 127.0.0.1 and clients pointed at them.
'use strict'

const { spawn } = require('node:child_process')
const path = require('node:path')
const readline = require('node:readline')

// DAJISAAS_NODE_PACKAGE: an installed copy to test instead of this directory's build.
const binding = require(process.env.DAJISAAS_NODE_PACKAGE || '..')

// The test hooks (__panicForTests, ...) exist only in builds with the test-hooks feature:
// scripts/test.sh builds with it; the release artifacts, tested by check-artifacts.sh with
// DAJISAAS_TEST_HOOKS=absent, must not have them.
const HOOKS_EXPECTED = process.env.DAJISAAS_TEST_HOOKS !== 'absent'

const REPO = path.resolve(__dirname, '..', '..')
const DAJI = process.env.DAJI_BIN || path.join(REPO, 'target', 'debug', 'daji')
const APP_KEY = 'node-test-key'
const SECRET = 'node-SECRET-5be1f0c3'

/** Starts a sandbox; resolves once it has printed its address. */
async function startSandbox({ latencyMs = 0, slowMs = 1500, hangMs = 3000, secret = SECRET, chaosSeed = null, caOut = null, qps = null } = {}) {
  const chaos = chaosSeed === null ? [] : ['--chaos-seed', String(chaosSeed)]
  const limit = qps === null ? [] : ['--qps', String(qps)]
  const tls = caOut === null ? [] : ['--tls', '--ca-out', caOut]
  const child = spawn(DAJI, [
    'sandbox', '--port', '0', '--app-key', APP_KEY, '--app-secret', secret,
    '--latency-ms', String(latencyMs), '--slow-ms', String(slowMs), '--hang-ms', String(hangMs), ...chaos, ...tls, ...limit,
  ], { stdio: ['ignore', 'pipe', 'ignore'] })
  const lines = readline.createInterface({ input: child.stdout })
  const first = await new Promise((resolve, reject) => {
    child.once('error', reject)
    lines.once('line', resolve)
  })
  const url = first.replace('dajisaas sandbox listening on ', '')
  if (!/^https?:\/\/127\.0\.0\.1:/.test(url)) throw new Error(`unexpected sandbox output: ${first}`)
  const call = async (method, p) => {
    const response = await fetch(url + p, { method })
    return p === '/_sandbox/reset' ? null : response.json()
  }
  return {
    url,
    secret,
    stats: () => call('GET', '/_sandbox/stats'),
    requests: () => call('GET', '/_sandbox/requests'),
    reset: () => call('POST', '/_sandbox/reset'),
    deductions: async (id) => (await call('GET', '/_sandbox/stats')).deductions[id] ?? 0,
    stop: () => { lines.close(); child.kill() },
  }
}

let journals = 0
/** A client of `sandbox` with a payment journal of its own, so that tests paying the same ids do
 * not see each other's payments. */
function client(sandbox, options = {}) {
  journals += 1
  return new binding.Client({
    journal: `memory:${sandbox.url}#${journals}`,
    appKey: APP_KEY,
    appSecret: sandbox.secret,
    baseUrl: sandbox.url,
    timeoutMs: 700,
    backoffBaseMs: 1,
    backoffCapMs: 5,
    ...options,
  })
}

module.exports = { HOOKS_EXPECTED, APP_KEY, SECRET, REPO, binding, startSandbox, client }
