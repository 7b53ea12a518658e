'use strict'

// Bad input rejects with code invalid_argument naming the problem, and nothing is sent.
const assert = require('node:assert/strict')
const { test, before, after, beforeEach } = require('node:test')

const { binding, startSandbox, client, APP_KEY } = require('./helpers')

let sandbox
before(async () => { sandbox = await startSandbox() })
after(() => sandbox.stop())
beforeEach(() => sandbox.reset())

async function nothingSent() {
  assert.equal((await sandbox.stats()).requests, 0)
}

const BAD_ID_LISTS = [
  [[2257455039610311973], /orderIds\[0\] .* above Number\.MAX_SAFE_INTEGER/],
  [[Number.MAX_SAFE_INTEGER + 2], /MAX_SAFE_INTEGER/],
  [[1.5], /orderIds\[0\] 1\.5 is not an integer/],
  [['1', true], /orderIds\[1\] must be a string, bigint or safe integer, not a boolean/],
  [['1', null], /not null/],
  [[undefined], /not undefined/],
  [[{}], /not an object/],
  [[-1], /orderIds\[0\] "-1" must contain only the digits/],
  [[-1n], /only the digits/],
  [[2n ** 70n], /beyond 64 bits/],
  [['12a'], /only the digits/],
  [[' 1'], /surrounding whitespace/],
  [['22574550396103119730'], /20 digits/],
  [['1\u00002'], /only the digits/],
  [[], /empty/],
  [Array.from({ length: 31 }, (_, i) => String(i + 1)), /31 ids/],
  [['7', 7], /orderIds\[1\] "7" is a duplicate/],
  ['2257455039610311973', /orderIds must be an array, not a string/],
  [undefined, /orderIds must be an array/],
]

for (const [ids, pattern] of BAD_ID_LISTS) {
  test(`payUrl rejects ${String(ids).slice(0, 40)}`, async () => {
    await assert.rejects(client(sandbox).payUrl(ids), (e) => {
      assert.ok(e instanceof binding.DajisaasError)
      assert.equal(e.code, 'invalid_argument')
      assert.equal(e.attempts, 0)
      assert.match(e.message, pattern)
      return true
    })
    await nothingSent()
  })
}

test('preparePay rejects bad single ids', async () => {
  for (const id of [undefined, null, 1.5, true, '', 'abc', ' 1', -5, [1], 2257164624870311973, Symbol('x')]) {
    await assert.rejects(client(sandbox).preparePay(id), { code: 'invalid_argument' }, String(id?.toString?.()))
  }
  await nothingSent()
})

test('other bad calls', async () => {
  const c = client(sandbox)
  const cases = [
    [() => c.payUrls(['1'], { batchSize: 0 }), /batch_size is 0/],
    [() => c.payUrls(['1'], { batchSize: 31 }), /batch_size is 31/],
    [() => c.request('DELETE', '/alibaba/x'), /GET or POST/],
    [() => c.request('GET', 'alibaba/x'), /absolute path/],
    [() => c.request('GET', '/alibaba/x?y=1'), /without query/],
    [() => c.request('POST', '/alibaba/x', { sign: 'x' }), /set by the client/],
    [() => c.request('POST', '/alibaba/x', { f: () => 1 }), /params\.f is a function/],
    [() => c.request('POST', '/alibaba/x', { s: Symbol('s') }), /a symbol/],
    [() => c.request('POST', '/alibaba/x', { n: NaN }), /cannot be signed/],
    [() => c.request('POST', '/alibaba/x', { n: 2 ** 60 }), /MAX_SAFE_INTEGER/],
    [() => c.request('POST', '/alibaba/x', [1, 2]), /params must be an object or JSON text/],
    [() => c.request('POST', '/alibaba/x', '{"a":'), /not valid JSON/],
  ]
  for (const [call, pattern] of cases) {
    await assert.rejects(call(), (e) => e.code === 'invalid_argument' && pattern.test(e.message), String(pattern))
  }
  let deep = 'x'
  for (let i = 0; i < 100; i++) deep = [deep]
  await assert.rejects(c.request('POST', '/alibaba/x', { deep }), { code: 'invalid_argument', message: /nested more than/ })
  await nothingSent()
})

test('bad configuration throws invalid_argument', async () => {
  const ok = { appKey: APP_KEY, appSecret: sandbox.secret, baseUrl: sandbox.url }
  const cases = [
    [undefined, /options must be an object/],
    [{ appKey: 'k' }, /Missing field `appSecret`/],
    [{ ...ok, appKey: '' }, /app_key is empty/],
    [{ ...ok, appKey: ' k' }, /whitespace/],
    [{ ...ok, appSecret: '   ' }, /app_secret is empty/],
    [{ ...ok, baseUrl: 'http://example.com' }, /plain http/],
    [{ ...ok, baseUrl: 'https://u:p@example.com' }, /credentials/],
    [{ ...ok, timeoutMs: -1 }, /timeoutMs must be a positive number/],
    [{ ...ok, timeoutMs: 0 }, /above zero/],
    [{ ...ok, maxRetries: 4 }, /at most 3/],
    [{ ...ok, orderIdFormat: 'csv' }, /options/],
  ]
  for (const [options, pattern] of cases) {
    assert.throws(() => new binding.Client(options), (e) => e instanceof binding.DajisaasError && e.code === 'invalid_argument' && pattern.test(e.message), String(pattern))
  }
  assert.throws(() => binding.sign([1, 2], 's'), { code: 'invalid_argument' })
  await nothingSent()
})

test('a Rust panic becomes an internal error, and the process goes on', async () => {
  assert.throws(() => binding.__panicForTests(), { code: 'internal', message: /a bug/ })
  assert.equal((await client(sandbox).payUrl(['1'])).attempts, 1)
})
