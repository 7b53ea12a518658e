'use strict'

// The habits of a Node library: `{ signal }` on every call (before and during a call, a payment
// sent still running to its recorded outcome), close(), stacks of the caller on rejections,
// JSON.stringify of errors, `Client` only with `new`, DajisaasError constructible.
const assert = require('node:assert/strict')
const { getEventListeners } = require('node:events')
const { test, before, after } = require('node:test')
const { setTimeout: sleep } = require('node:timers/promises')

const { binding, startSandbox, client } = require('./helpers')

const SLOW_MS = 600
const slow = (n) => `9007${String(n).padStart(15, '0')}`
const NORMAL = '2257164624870315001'
const NORMAL_2 = '2257164624870315002'
const DECLINE = '9000000000000000501'

let sandbox
before(async () => { sandbox = await startSandbox({ slowMs: SLOW_MS }) })
after(() => sandbox.stop())

const isAbortError = (e) => e instanceof Error && e.name === 'AbortError'

/** Every call with `options` in its place. */
const everyCall = (c, options) => [
  ['payUrl', () => c.payUrl([NORMAL], options)],
  ['payUrls', () => c.payUrls([NORMAL], { batchSize: 5, ...options })],
  ['preparePay', () => c.preparePay(NORMAL, options)],
  ['payMany', () => c.payMany([NORMAL], { concurrency: 2, ...options })],
  ['paymentRecord', () => c.paymentRecord(NORMAL, options)],
  ['paymentRecords', () => c.paymentRecords({ state: 'paid', ...options })],
  ['resolvePayment', () => c.resolvePayment(NORMAL, { paid: true }, options)],
  ['request', () => c.request('GET', '/alibaba/alipay/url/get', { orderIdList: `[${NORMAL}]` }, options)],
]

/** Polls `check` until it returns true (or fails after `ms`). */
async function eventually(check, ms = 5000) {
  const until = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`still not true after ${ms} ms: ${check}`)
    await sleep(20)
  }
}

test('an already aborted signal rejects every call at once with an AbortError and sends nothing', async () => {
  await sandbox.reset()
  const c = client(sandbox)
  const controller = new AbortController()
  controller.abort()
  for (const [name, call] of everyCall(c, { signal: controller.signal })) {
    // The signal's own reason, as fetch rejects with it.
    await assert.rejects(call(), (e) => e === controller.signal.reason && isAbortError(e), name)
  }
  // Any other reason: an AbortError all the same, the reason as its cause.
  const why = new Error('the user left')
  for (const signal of [AbortSignal.abort(why), AbortSignal.abort('gone')]) {
    await assert.rejects(c.preparePay(NORMAL, { signal }), (e) => {
      assert.ok(e instanceof DOMException)
      assert.equal(e.name, 'AbortError')
      assert.equal(e.cause, signal.reason)
      return true
    })
  }
  assert.equal((await sandbox.stats()).requests, 0)
  // A signal that never fires changes nothing; `null` is no signal.
  const idle = new AbortController().signal
  assert.equal((await c.payUrl([NORMAL], { signal: idle })).orderIds[0], NORMAL)
  assert.equal((await c.payUrls([NORMAL], { signal: null })).length, 1)
  assert.equal(getEventListeners(idle, 'abort').length, 0, 'the listener is removed once the call is done')
})

test('aborting during a payment rejects at once; the payment still runs to its recorded outcome', async () => {
  await sandbox.reset()
  const c = client(sandbox, { timeoutMs: 5000 })
  const id = slow(1)
  const controller = new AbortController()
  const paying = c.preparePay(id, { signal: controller.signal })
  await sleep(100)
  controller.abort()
  await assert.rejects(paying, isAbortError)
  // Rejected at once: the sandbox still holds the request (no timed assertion).
  assert.ok((await sandbox.stats()).inFlight > 0, 'rejected only once the sandbox had answered')
  // The core owns the payment: the sandbox deducts once and the journal records it paid.
  await eventually(async () => (await c.paymentRecord(id))?.state === 'paid')
  assert.equal(await sandbox.deductions(id), 1)
  assert.equal((await sandbox.stats()).payCalls[id], 1)
  // Paying it again replays the journal's record: nothing is sent.
  assert.equal((await c.preparePay(id)).replayed, true)
  assert.equal((await sandbox.stats()).payCalls[id], 1)
})

test('aborting during a link or a request rejects at once and stops waiting', async () => {
  const c = client(sandbox, { timeoutMs: 5000 })
  for (const call of [
    (signal) => c.payUrl([slow(2)], { signal }),
    (signal) => c.payUrls([slow(3), slow(4)], { batchSize: 1, signal }),
    (signal) => c.request('GET', '/alibaba/alipay/url/get', { orderIdList: `[${slow(5)}]` }, { signal }),
  ]) {
    const controller = new AbortController()
    const waiting = call(controller.signal)
    setTimeout(() => controller.abort(), 50)
    await assert.rejects(waiting, isAbortError)
    assert.ok((await sandbox.stats()).inFlight > 0, 'rejected only once the sandbox had answered')
  }
})

test('aborting payMany stops further orders from starting; those in flight run to their outcome', async () => {
  await sandbox.reset()
  const c = client(sandbox, { timeoutMs: 5000 })
  const ids = Array.from({ length: 12 }, (_, i) => slow(100 + i))
  const controller = new AbortController()
  const seen = []
  const run = c.payMany(ids, {
    concurrency: 2,
    signal: controller.signal,
    onProgress: (item) => {
      seen.push(item.orderId)
      controller.abort()
    },
  })
  await assert.rejects(run, isAbortError)
  assert.equal(seen.length, 1, 'no onProgress call after the abort')
  // Wait for the payments still in flight, then: none started after the abort, and every order
  // the sandbox was asked to pay is deducted once and recorded paid.
  await sleep(SLOW_MS * 2)
  const stats = await sandbox.stats()
  const asked = ids.filter((id) => stats.payCalls[id])
  // At most two per slot: those in flight, and those started as the first finished, before the
  // abort could reach the I/O threads.
  assert.ok(asked.length >= 2 && asked.length <= 4, `${asked.length} orders were sent`)
  for (const id of asked) {
    assert.equal(stats.deductions[id], 1)
    assert.equal((await c.paymentRecord(id)).state, 'paid')
  }
  for (const id of ids.filter((i) => !stats.payCalls[i])) assert.equal(await c.paymentRecord(id), null)
})

test('one signal for many calls at once: one listener, no warning, all aborted', async () => {
  const c = client(sandbox, { timeoutMs: 5000 })
  const warnings = []
  const onWarning = (w) => warnings.push(w)
  process.on('warning', onWarning)
  try {
    const controller = new AbortController()
    const calls = Array.from({ length: 30 }, (_, i) => c.payUrl([slow(200 + i)], { signal: controller.signal }))
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1)
    controller.abort()
    const settled = await Promise.allSettled(calls)
    assert.ok(settled.every((s) => s.status === 'rejected' && isAbortError(s.reason)))
    await sleep(10)
    assert.deepEqual(warnings.map(String), [])
  } finally {
    process.off('warning', onWarning)
  }
})

test('close(): later calls reject clearly, calls already made finish, closing twice is fine', async () => {
  const c = client(sandbox, { timeoutMs: 5000 })
  assert.equal(c.closed, false)
  const inFlight = c.payUrl([slow(300)])
  c.close()
  c.close()
  assert.equal(c.closed, true)
  assert.match(String(c), /closed\)$/)
  assert.equal(c.config.appKey, client(sandbox).config.appKey)
  for (const [name, call] of everyCall(c, undefined)) {
    await assert.rejects(call(), { name: 'DajisaasError', code: 'invalid_argument', message: 'the client is closed: create a new Client' }, name)
  }
  assert.equal((await inFlight).orderIds[0], slow(300))
})

test('a rejection carries the stack of the call that made it', async () => {
  const c = client(sandbox)
  async function payTheDeclinedOrder() {
    return await c.preparePay(DECLINE)
  }
  await assert.rejects(payTheDeclinedOrder(), (e) => {
    assert.equal(e.code, 'payment_declined')
    const lines = e.stack.split('\n')
    assert.equal(lines[0], `DajisaasError: ${e.message}`)
    assert.match(lines[1], /at payTheDeclinedOrder \(.*idioms\.test\.js:\d+:\d+\)$/)
    return true
  })
  // payMany's failed orders too.
  async function payBoth() { return await c.payMany([NORMAL_2, DECLINE]) }
  const { results } = await payBoth()
  assert.match(results[1].error.stack.split('\n')[1], /at payBoth /)
  // Bad arguments too (they reject at once).
  async function badIds() { return await c.payMany('nope') }
  await assert.rejects(badIds(), (e) => /at badIds /.test(e.stack.split('\n')[1]))
})

test('JSON.stringify(error) keeps the message and the fields', async () => {
  const c = client(sandbox)
  const e = await c.preparePay(DECLINE).catch((error) => error)
  const json = JSON.parse(JSON.stringify(e))
  assert.deepEqual(json, { name: 'DajisaasError', code: 'payment_declined', message: e.message, traceId: e.traceId, httpStatus: 200, attempts: 4 })
  assert.ok(json.message.length > 0 && json.traceId.length > 0)
  assert.deepEqual(JSON.parse(JSON.stringify({ error: new binding.DajisaasError('boom') })),
    { error: { name: 'DajisaasError', code: 'internal', message: 'boom', attempts: 0 } })
})

test('Client only with new; DajisaasError constructible as documented', () => {
  assert.throws(() => binding.Client({ appKey: 'k', appSecret: 's' }), TypeError)
  assert.throws(() => binding.Client.call({}, { appKey: 'k', appSecret: 's' }), TypeError)
  const c = new binding.Client({ appKey: 'k', appSecret: 's' })
  assert.ok(c instanceof binding.Client)
  assert.equal(c.constructor, binding.Client)
  class Mine extends binding.Client {}
  assert.ok(new Mine({ appKey: 'k', appSecret: 's' }) instanceof binding.Client)
  const cause = new Error('underneath')
  const e = new binding.DajisaasError('boom', { code: 'timeout', traceId: 't1', attempts: 2, cause })
  assert.ok(e instanceof Error && e instanceof binding.DajisaasError)
  assert.deepEqual([e.name, e.message, e.code, e.traceId, e.attempts, e.cause], ['DajisaasError', 'boom', 'timeout', 't1', 2, cause])
  assert.equal(e.apiCode, undefined)
  assert.match(e.stack, /^DajisaasError: boom\n {4}at /)
  const plain = new binding.DajisaasError('boom')
  assert.deepEqual([plain.code, plain.attempts], ['internal', 0])
})
