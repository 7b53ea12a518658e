'use strict'

// The sandbox's behaviour table, tests/vectors/outcomes.json, which every language runs: each
// row's call against one sandbox and one client, both with the file's settings, then the error
// code, attempts, HTTP status, envelope code, traceId, message and the sandbox's counters. The
// rows run concurrently (each has its own order id); no order is ever deducted twice.
const assert = require('node:assert/strict')
const fs = require('node:fs')
const net = require('node:net')
const path = require('node:path')
const { test, before, after, beforeEach } = require('node:test')

const { binding, startSandbox, client, APP_KEY, REPO } = require('./helpers')

const table = JSON.parse(fs.readFileSync(path.join(REPO, 'tests', 'vectors', 'outcomes.json'), 'utf8'))

/** `timeout_ms` → `timeoutMs`: the file names options in snake_case, Node in camelCase. */
const camel = (name) => name.replace(/_([a-z])/g, (_, c) => c.toUpperCase())

/** The table's client options, camelCase, as `new Client` takes them. */
const tableOptions = Object.fromEntries(Object.entries(table.client).map(([k, v]) => [camel(k), v]))

const run = (c, row) => {
  switch (row.endpoint) {
    case 'prepare_pay': return c.preparePay(row.order_id)
    case 'pay_url': return c.payUrl([row.order_id])
    default: throw new Error(`unknown endpoint ${row.endpoint}`)
  }
}

test('the table has a row for each pattern and endpoint', () => {
  assert.ok(table.rows.length >= 32, `only ${table.rows.length} rows`)
  assert.equal(new Set(table.rows.map((r) => r.order_id)).size, table.rows.length)
  assert.deepEqual(Object.keys(tableOptions).sort(), ['backoffBaseMs', 'backoffCapMs', 'connectTimeoutMs', 'maxRetries', 'timeoutMs'])
})

// One sandbox with the file's settings, one client with its options, every row at once.
const results = new Map()
let stats
before(async () => {
  const { slow_ms: slowMs, hang_ms: hangMs, latency_ms: latencyMs } = table.sandbox
  const own = await startSandbox({ slowMs, hangMs, latencyMs })
  try {
    const c = new binding.Client({ appKey: APP_KEY, appSecret: own.secret, baseUrl: own.url, ...tableOptions })
    const settled = await Promise.allSettled(table.rows.map((row) => run(c, row)))
    table.rows.forEach((row, i) => results.set(row.order_id, settled[i]))
    stats = await own.stats()
  } finally {
    own.stop()
  }
})

for (const row of table.rows) {
  test(`${row.endpoint} ${row.order_id}: ${row.sandbox_does}`, () => {
    const result = results.get(row.order_id)
    let got
    if (result.status === 'fulfilled') {
      got = { code: null, attempts: result.value.attempts, httpStatus: null, apiCode: null, traceId: result.value.traceId != null, alreadyPaid: result.value.alreadyPaid === true }
    } else {
      const e = result.reason
      assert.ok(e instanceof binding.DajisaasError && e instanceof Error, String(e))
      got = { code: e.code, attempts: e.attempts, httpStatus: e.httpStatus ?? null, apiCode: e.apiCode ?? null, traceId: e.traceId != null, alreadyPaid: false }
      for (const part of row.message_contains) assert.ok(e.message.includes(part), `${JSON.stringify(e.message)} lacks ${JSON.stringify(part)}`)
    }
    const want = { code: row.code, attempts: row.attempts, httpStatus: row.http_status, apiCode: row.api_code, traceId: row.trace_id, alreadyPaid: row.already_paid ?? false }
    assert.deepEqual(got, want)
    const calls = row.endpoint === 'prepare_pay' ? stats.payCalls : stats.linkCalls
    assert.equal(calls[row.order_id] ?? 0, row.calls, 'calls')
    assert.equal(stats.deductions[row.order_id] ?? 0, row.deductions, 'deductions')
  })
}

test('no order of the table was deducted twice', () => {
  assert.deepEqual(Object.entries(stats.deductions).filter(([, n]) => n > 1), [])
})

// What the table does not cover: an unreachable gateway, a wrong secret, a 404, and one order
// paid twice at once.
let sandbox
before(async () => { sandbox = await startSandbox() })
after(() => sandbox.stop())
beforeEach(() => sandbox.reset())

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

test('an order paid by another process is already paid after one request, journaled paid', async () => {
  const id = '2257164624870311991'
  await client(sandbox).preparePay(id)
  // A process of its own, with a journal that never saw the first payment.
  const next = client(sandbox, { journal: 'memory:node-the-next-night' })
  const payment = await next.preparePay(id)
  assert.equal(payment.alreadyPaid, true)
  assert.equal(payment.replayed, false)
  assert.equal(payment.attempts, 1)
  const stats = await sandbox.stats()
  assert.equal(stats.payCallsAfterPaidByOrder[id], 1)
  assert.equal(await sandbox.deductions(id), 1)
  assert.equal((await next.paymentRecord(id)).state, 'paid')
})

test('a second payment of an order under way waits for it and sends nothing', async () => {
  const c = client(sandbox, { timeoutMs: 5000 })
  const [first, second] = await Promise.all([c.preparePay('9007000000000000001'), c.preparePay('9007000000000000001')])
  assert.deepEqual([first.replayed, second.replayed].sort(), [false, true])
  assert.equal(first.traceId, second.traceId)
  assert.equal((await sandbox.stats()).payCalls['9007000000000000001'], 1)
  assert.equal(await sandbox.deductions('9007000000000000001'), 1)
})

test('the journal replays a paid order, refuses an unknown one until resolved, and reconciles', async () => {
  const c = client(sandbox)
  const paid = await c.preparePay('2257164624870311981')
  const again = await c.preparePay('2257164624870311981')
  assert.equal(again.replayed, true)
  assert.equal(again.traceId, paid.traceId)
  await assert.rejects(c.preparePay('9003000000000000081'), { code: 'payment_outcome_unknown', attempts: 1 })
  await assert.rejects(c.preparePay('9003000000000000081'), { code: 'payment_outcome_unknown', attempts: 0, message: /resolve_payment/ })
  const unknown = await c.paymentRecords({ state: 'unknown' })
  assert.deepEqual(unknown.map((r) => r.orderId), ['9003000000000000081'])
  // A resolution that changes nothing is refused; a note over 4096 bytes or with a NUL too.
  await assert.rejects(c.resolvePayment('2257164624870311981', { paid: true }), { code: 'invalid_argument' })
  await assert.rejects(c.resolvePayment('9003000000000000081', { paid: true, note: 'x'.repeat(4097) }), { code: 'invalid_argument', message: /4096/ })
  await assert.rejects(c.resolvePayment('9003000000000000081', { paid: true, note: 'a\u0000b' }), { code: 'invalid_argument' })
  await assert.rejects(c.resolvePayment('9003000000000000081', { paid: 'yes' }), { code: 'invalid_argument', message: /paid must be true or false/ })
  const resolved = await c.resolvePayment('9003000000000000081', { paid: true, note: 'seen in 1688' })
  assert.equal(resolved.state, 'paid')
  const record = await c.paymentRecord('9003000000000000081')
  assert.deepEqual(record.history.map(({ from, to, note }) => ({ from, to, note })), [{ from: 'unknown', to: 'paid', note: 'seen in 1688' }])
  assert.equal(record.history[0].by.pid, process.pid)
  assert.equal(record.gateway, new URL(sandbox.url).origin)
  assert.equal(record.appKey, c.config.appKey)
  assert.equal(await c.paymentRecord('2257164624870319999'), null)
  const stats = await sandbox.stats()
  assert.equal(stats.payCalls['2257164624870311981'], 1)
  assert.equal(stats.payCalls['9003000000000000081'], 1)
  assert.equal(stats.payCallsAfterPaid, 0)
})
