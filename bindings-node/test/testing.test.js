'use strict'

// require('dajisaas/testing'): the sandbox gateway served from the addon, for users' own tests,
// through the package's "exports" (a self-reference, as a user's project would import it).
const assert = require('node:assert/strict')
const { test } = require('node:test')

const { startSandbox } = require(process.env.DAJISAAS_NODE_PACKAGE
  ? require('node:path').join(process.env.DAJISAAS_NODE_PACKAGE, 'testing.js')
  : 'dajisaas/testing')
const binding = require(process.env.DAJISAAS_NODE_PACKAGE || '..')

test('startSandbox serves the gateway from this process', async () => {
  const sandbox = startSandbox({ appKey: 'my-key', appSecret: 'my-secret-123', qps: 50 })
  try {
    assert.match(sandbox.url, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.equal(sandbox.appKey, 'my-key')
    const client = sandbox.client({ timeoutMs: 2000, journal: `memory:${sandbox.url}` })
    const payment = await client.preparePay('2257455039610311973')
    assert.equal(payment.payChannel, 'alipay')
    await assert.rejects(client.preparePay('9000000000000000001'), { code: 'payment_declined' })
    const stats = sandbox.stats()
    assert.deepEqual(stats.deductions, { '2257455039610311973': 1 })
    assert.equal(stats.requestsWithSecret, 0)
    assert.ok(sandbox.requests()[0].uri.startsWith('/alibaba/trade/pay/protocolPay/preparePay'))
    // A plain HTTP client sees it too: a real server on a real port.
    const answer = await (await fetch(`${sandbox.url}/_sandbox/stats`)).json()
    assert.equal(answer.deductions['2257455039610311973'], 1)
    sandbox.reset()
    assert.deepEqual(sandbox.stats().payCalls, {})
    // Signatures are checked against its own secret.
    const stranger = new binding.Client({ appKey: 'my-key', appSecret: 'another-secret', baseUrl: sandbox.url, maxRetries: 0 })
    await assert.rejects(stranger.payUrl(['1']), binding.DajisaasError)
  } finally {
    sandbox.close()
  }
  assert.throws(() => sandbox.stats(), /closed/)
  sandbox.close() // twice is fine
})

test('the defaults are daji sandbox\'s', async () => {
  const sandbox = startSandbox()
  try {
    assert.equal(sandbox.appKey, 'sandbox-app-key')
    const link = await sandbox.client({ journal: `memory:${sandbox.url}` }).payUrl(['2257455039610311973'])
    assert.ok(link.url.includes('2257455039610311973'))
  } finally {
    sandbox.close()
  }
})

test('ESM: import { startSandbox } from "dajisaas/testing"', async () => {
  if (process.env.DAJISAAS_NODE_PACKAGE) return // the installed copy is imported by its own check
  const { startSandbox: fromEsm } = await import('dajisaas/testing')
  assert.equal(fromEsm, startSandbox)
})
