'use strict'

// Every row of the outcome table: the error code and attempts, and the sandbox's deduction
// count, which is never above 1.
const assert = require('node:assert/strict')
const net = require('node:net')
const { test, before, after, beforeEach } = require('node:test')

const { binding, startSandbox, client, APP_KEY } = require('./helpers')

let sandbox
before(async () => { sandbox = await startSandbox() })
after(() => sandbox.stop())
beforeEach(() => sandbox.reset())

const ROWS = [
  // order id, error code (null: paid), attempts, deductions
  ['2257164624870311973', null, 1, 1],
  ['9001000000000000001', null, 3, 1], // declined twice, then paid
  ['9006000000000000001', null, 2, 1], // rate limited once
  ['9000000000000000001', 'payment_declined', 4, 0],
  ['9005000000000000001', 'rate_limited', 4, 0],
  ['9002000000000000001', 'payment_outcome_unknown', 1, 1], // timeout after deducting
  ['9003000000000000001', 'payment_outcome_unknown', 1, 1], // 500 after deducting
  ['9004000000000000001', 'payment_outcome_unknown', 1, 1], // body not JSON
  ['9008000000000000001', 'payment_outcome_unknown', 1, 1], // success, not confirmed
  ['9009000000000000001', 'payment_outcome_unknown', 1, 0], // 503
]

for (const [id, code, attempts, deducted] of ROWS) {
  test(`${id}: ${code ?? 'paid'} after ${attempts} attempt(s)`, async () => {
    const pay = client(sandbox).preparePay(id)
    if (code === null) {
      assert.equal((await pay).attempts, attempts)
    } else {
      await assert.rejects(pay, (e) => {
        assert.ok(e instanceof binding.DajisaasError && e instanceof Error)
        assert.equal(e.code, code)
        assert.equal(e.attempts, attempts)
        if (code === 'payment_outcome_unknown') assert.match(e.message, /check the order/)
        return true
      })
    }
    assert.equal(await sandbox.deductions(id), deducted)
    const stats = await sandbox.stats()
    assert.ok(Object.values(stats.deductions).every((n) => n <= 1))
  })
}

test('not sent is retried and reported as connection', async () => {
  const port = await new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
  const c = new binding.Client({ appKey: 'k', appSecret: 's', baseUrl: `http://127.0.0.1:${port}`, backoffBaseMs: 1, backoffCapMs: 2 })
  await assert.rejects(c.preparePay('1'), { code: 'connection', attempts: 4 })
})

test('errors carry traceId, apiCode and httpStatus', async () => {
  const wrong = new binding.Client({ appKey: APP_KEY, appSecret: 'wrong', baseUrl: sandbox.url })
  await assert.rejects(wrong.payUrl(['1']), (e) => {
    assert.equal(e.code, 'api')
    assert.equal(e.apiCode, 401)
    assert.equal(e.httpStatus, 200)
    assert.equal(e.traceId.length, 12)
    assert.match(e.message, /签名错误/)
    return true
  })
  await assert.rejects(client(sandbox).request('GET', '/nowhere'), { code: 'http_status', httpStatus: 404 })
})

test('concurrent payments of one order never both go out', async () => {
  const c = client(sandbox, { timeoutMs: 5000 })
  const both = await Promise.allSettled([c.preparePay('9007000000000000001'), c.preparePay('9007000000000000001')])
  const paid = both.filter((r) => r.status === 'fulfilled')
  const refused = both.filter((r) => r.status === 'rejected')
  assert.equal(paid.length, 1)
  assert.equal(refused.length, 1)
  assert.equal(refused[0].reason.code, 'invalid_argument')
  assert.match(refused[0].reason.message, /already under way/)
  assert.equal(await sandbox.deductions('9007000000000000001'), 1)
})
