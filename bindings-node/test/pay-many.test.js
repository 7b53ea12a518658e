'use strict'

// payMany: every id checked before anything is sent, one result per order in input order, a
// repeated id paid once, onProgress once per order on the JavaScript thread before the promise
// resolves, the concurrency bound; and maxCallsPerSecond against a sandbox with --qps.
const assert = require('node:assert/strict')
const { test, before, after } = require('node:test')

const { binding, startSandbox, client } = require('./helpers')

const NORMAL = '2257164624870313001'
const NORMAL_2 = '2257164624870313002'
const DECLINE = '9000000000000000301'
const UNKNOWN = '9003000000000000301'

let sandbox
before(async () => { sandbox = await startSandbox({ slowMs: 300 }) })
after(() => sandbox.stop())

test('one bad id and nothing is sent; the error names its position', async () => {
  await sandbox.reset()
  const c = client(sandbox)
  await assert.rejects(c.payMany([NORMAL, DECLINE, UNKNOWN, '12a', 7n]), (e) => {
    assert.ok(e instanceof binding.DajisaasError)
    assert.equal(e.code, 'invalid_argument')
    assert.match(e.message, /orderIds\[3\] "12a"/)
    return true
  })
  for (const options of [{ concurrency: 0 }, { concurrency: 65 }, { concurrency: 1.5 }, { concurrency: '4' },
    { onProgress: 'x' }, { parallel: 2 }, 5]) {
    await assert.rejects(c.payMany([NORMAL], options), { code: 'invalid_argument' }, JSON.stringify(options))
  }
  assert.equal((await sandbox.stats()).requests, 0)
})

test('each order gets its outcome in input order; a repeat is paid once; onProgress once per order', async () => {
  await sandbox.reset()
  const c = client(sandbox)
  const seen = []
  const thread = []
  const run = c.payMany([NORMAL, DECLINE, UNKNOWN, NORMAL, BigInt(NORMAL_2)], {
    concurrency: 3,
    onProgress: (item) => { seen.push(item.orderId); thread.push(item.outcome) },
  })
  const { results, summary } = await run
  assert.deepEqual(results.map((r) => r.orderId), [NORMAL, DECLINE, UNKNOWN, NORMAL_2])
  assert.deepEqual(results.map((r) => r.outcome), ['paid', 'declined', 'unknown', 'paid'])
  assert.equal(results[0].payment.orderId, NORMAL)
  assert.equal(results[0].payment.payChannel, 'alipay')
  assert.equal(results[0].error, undefined)
  assert.ok(results[1].error instanceof binding.DajisaasError)
  assert.equal(results[1].error.code, 'payment_declined')
  assert.equal(results[1].error.attempts, 4)
  assert.equal(results[2].error.code, 'payment_outcome_unknown')
  assert.equal(results[2].payment, undefined)
  assert.deepEqual(summary, { paid: 2, declined: 1, unknown: 1, in_progress: 0, not_payable: 0, failed: 0 })
  // Every call came before the promise resolved, once per order.
  assert.deepEqual([...seen].sort(), [NORMAL, DECLINE, UNKNOWN, NORMAL_2].sort())
  const stats = await sandbox.stats()
  assert.equal(stats.payCalls[NORMAL], 1)
  assert.equal(stats.payCallsAfterPaid, 0)
  // A second run replays the paid orders from the journal.
  const again = await c.payMany([NORMAL])
  assert.equal(again.results[0].payment.replayed, true)
  // payMany's payments and errors are shaped as preparePay's.
  const alone = await c.preparePay(NORMAL)
  assert.deepEqual(Object.keys(again.results[0].payment), Object.keys(alone))
  assert.deepEqual(again.results[0].payment, alone)
  const declined = await c.preparePay(DECLINE).catch((e) => e)
  assert.deepEqual(Object.keys(results[1].error), Object.keys(declined))
  assert.deepEqual(Object.keys(results[1]), ['orderId', 'outcome', 'error'])
  assert.deepEqual(Object.keys(results[0]), ['orderId', 'outcome', 'payment'])
})

test('at most `concurrency` payments are in flight', async () => {
  await sandbox.reset()
  const c = client(sandbox)
  const ids = Array.from({ length: 8 }, (_, i) => `900700000000000${String(400 + i).padStart(4, '0')}`)
  const { summary } = await c.payMany(ids, { concurrency: 4 })
  assert.equal(summary.paid, 8)
  assert.equal((await sandbox.stats()).peakInFlight, 4)
})

test('maxCallsPerSecond paces every call of the client', async () => {
  const limited = await startSandbox({ qps: 20 })
  try {
    const c = client(limited, { maxCallsPerSecond: 20, timeoutMs: 5000 })
    assert.equal(c.config.maxCallsPerSecond, 20)
    assert.equal(client(limited).config.maxCallsPerSecond, null)
    const ids = Array.from({ length: 40 }, (_, i) => String(2257164624870314000n + BigInt(i)))
    const started = Date.now()
    const { summary } = await c.payMany(ids, { concurrency: 8 })
    assert.equal(summary.paid, 40)
    assert.ok(Date.now() - started >= 1900, `${Date.now() - started} ms`)
    assert.equal((await limited.stats()).rateLimited, 0)
  } finally {
    limited.stop()
  }
  assert.throws(() => new binding.Client({ appKey: 'k', appSecret: 's', maxCallsPerSecond: 0 }),
    { code: 'invalid_argument', message: 'maxCallsPerSecond must be a whole number from 1 to 10000, not 0' })
})

test('an exception of onProgress stops the run and is what payMany rejects with', async () => {
  await sandbox.reset()
  const c = client(sandbox, { timeoutMs: 5000 })
  const ids = Array.from({ length: 6 }, (_, i) => `900700000000000${String(500 + i).padStart(4, '0')}`)
  const boom = new Error('stop after the first')
  await assert.rejects(c.payMany(ids, { concurrency: 1, onProgress: () => { throw boom } }), (e) => e === boom)
  await new Promise((resolve) => setTimeout(resolve, 1000)) // three more slow payments, had the run gone on
  const calls = (await sandbox.stats()).payCalls
  assert.equal(calls[ids[0]], 1)
  assert.equal(ids.slice(2).reduce((n, id) => n + (calls[id] ?? 0), 0), 0, JSON.stringify(calls))
})
