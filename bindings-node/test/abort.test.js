'use strict'

// Aborting a call drops what was not sent: payments queued behind maxConnections are never sent,
// their journal claims are released, and every call rejects with the AbortError at once. A
// payment whose request may have been written runs to its recorded outcome.

const assert = require('node:assert/strict')
const { test, before, after } = require('node:test')
const { setTimeout: sleep } = require('node:timers/promises')

const { startSandbox, client } = require('./helpers')

let sandbox
before(async () => { sandbox = await startSandbox({ latencyMs: 1000 }) })
after(() => sandbox.stop())

test('20 payments queued behind one connection, aborted after the first is sent', async () => {
  const c = client(sandbox, { maxConnections: 1, timeoutMs: 10000 })
  const ids = Array.from({ length: 20 }, (_, n) => String(2257000000000000000n + BigInt(n)))
  const controller = new AbortController()
  const settled = ids.map((id) => c.preparePay(id, { signal: controller.signal }).then(
    (payment) => ({ payment }), (error) => ({ error })))
  // Hang bound: the first request reaches the sandbox within 10 s.
  for (let waited = 0; (await sandbox.stats()).requests === 0; waited += 10) {
    assert.ok(waited < 10000, 'no request reached the sandbox')
    await sleep(10)
  }
  const sent = (await sandbox.stats()).requests
  controller.abort()
  const results = await Promise.all(settled)
  for (const r of results) assert.equal(r.error?.name, 'AbortError')

  await sleep(5000)
  const stats = await sandbox.stats()
  const deducted = ids.filter((id) => (stats.deductions[id] ?? 0) > 0)
  assert.ok(deducted.length <= sent, `${deducted.length} deducted, ${sent} sent before the abort`)
  for (const id of ids.filter((x) => !deducted.includes(x))) {
    const record = await c.paymentRecord(id)
    assert.ok(record === null || record.state !== 'in_flight', `${id}: ${JSON.stringify(record)}`)
  }
})
