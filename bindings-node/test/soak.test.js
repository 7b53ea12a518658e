'use strict'

// 256 promises in flight pay 500 orders through a chaos sandbox. Each order is paid the way the
// documentation says: again only after an outcome that surely took no money. The sandbox deducts
// whenever asked, so a library retry after a possible deduction would show as a double deduction.
const assert = require('node:assert/strict')
const { test, before, after } = require('node:test')

const { startSandbox, client } = require('./helpers')

const ORDERS = Number(process.env.DAJI_SOAK_ORDERS || 500)
const IN_FLIGHT = 256
const TIMEOUT_MS = 400

let sandbox
before(async () => { sandbox = await startSandbox({ chaosSeed: Number(process.env.DAJI_CHAOS_SEED || 20261122) }) })
after(() => sandbox.stop())

test(`${IN_FLIGHT} promises pay ${ORDERS} orders through chaos, none twice`, async () => {
  const c = client(sandbox, { timeoutMs: TIMEOUT_MS, backoffBaseMs: 1, backoffCapMs: 10 })
  const ids = Array.from({ length: ORDERS }, (_, n) => String(3200000000000000000n + BigInt(n)))
  const outcomes = new Map()
  const codes = {}
  let calls = 0
  let slowest = 0
  let next = 0
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++]
      let outcome
      for (let tries = 1; tries <= 6; tries++) {
        calls++
        const started = Date.now()
        try {
          const payment = await c.preparePay(id)
          assert.equal(payment.orderId, id)
          outcome = 'paid'
        } catch (e) {
          codes[e.code] = (codes[e.code] || 0) + 1
          outcome = ['payment_declined', 'rate_limited'].includes(e.code) ? 'not_paid'
            : e.code === 'payment_outcome_unknown' ? 'unknown' : `unexpected:${e.code}`
        } finally {
          slowest = Math.max(slowest, Date.now() - started)
        }
        if (outcome !== 'not_paid') break
      }
      outcomes.set(id, outcome)
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker))

  const stats = await sandbox.stats()
  const twice = Object.entries(stats.deductions).filter(([, n]) => n > 1)
  assert.deepEqual(twice, [], 'orders deducted twice')
  for (const [id, outcome] of outcomes) {
    const deducted = stats.deductions[id] ?? 0
    if (outcome === 'paid') assert.equal(deducted, 1, `${id} was reported paid`)
    if (outcome === 'not_paid') assert.equal(deducted, 0, `${id} was reported not paid`)
  }
  assert.deepEqual([...outcomes.values()].filter((o) => o.startsWith('unexpected')), [])
  assert.equal(outcomes.size, ORDERS)
  // The calls overlap (libuv's pool would cap them at 4, blocking calls at 1); how many at once
  // depends on the machine's load (26 with the other suites running on 2 busy cores).
  assert.ok(stats.peakInFlight > 8, `peak in flight ${stats.peakInFlight}`)
  // A hang bound, not a speed: a call takes at most its attempts' timeouts and backoffs (about
  // 4 x timeout + 1 s); ten times that on a loaded machine means a call hung.
  assert.ok(slowest < (TIMEOUT_MS * 4 + 1000) * 10, `slowest call ${slowest} ms: a call hung`)
  const tally = (o) => [...outcomes.values()].filter((x) => x === o).length
  console.log(`node soak: ${ORDERS} orders, ${calls} payment calls, ${stats.requests} requests, ` +
    `peak in flight ${stats.peakInFlight}; paid ${tally('paid')}, unknown ${tally('unknown')}, ` +
    `not paid ${tally('not_paid')}; codes ${JSON.stringify(codes)}; faults ${JSON.stringify(stats.faults)}; ` +
    `deducted twice 0; slowest ${slowest} ms`)
})
