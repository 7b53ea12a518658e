'use strict'

// Bad input rejects with code invalid_argument naming the problem, and nothing is sent.
const assert = require('node:assert/strict')
const { test, before, after, beforeEach } = require('node:test')

const { binding, startSandbox, client, APP_KEY, HOOKS_EXPECTED } = require('./helpers')

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
    [() => c.payUrls(['1'], { batchSize: 0 }), /^batchSize must be a whole number from 1 to 30, not 0$/],
    [() => c.payUrls(['1'], { batchSize: 31 }), /^batchSize must be a whole number from 1 to 30, not 31$/],
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

test('bad configuration throws invalid_argument naming the option, and nothing is sent', async () => {
  const ok = { appKey: APP_KEY, appSecret: sandbox.secret, baseUrl: sandbox.url }
  const cases = [
    [undefined, /^options must be an object with appKey and appSecret, not undefined$/],
    [null, /not null/],
    [[ok], /not an array/],
    [{ appKey: 'k' }, /^appSecret is required$/],
    [{ ...ok, appKey: '' }, /^appKey is empty$/],
    [{ ...ok, appKey: ' k' }, /whitespace/],
    [{ ...ok, appKey: 42 }, /^appKey must be a string, not 42$/],
    [{ ...ok, appSecret: '   ' }, /^appSecret is empty$/],
    // As appKey: a secret read with its newline is refused, not sent to be refused as a signature.
    [{ ...ok, appSecret: `${sandbox.secret}\n` }, /^appSecret has surrounding whitespace or control characters$/],
    [{ ...ok, appSecret: ` ${sandbox.secret}` }, /^appSecret has surrounding whitespace/],
    [{ ...ok, journalTimeoutMs: 99 }, /^journalTimeoutMs must be a whole number from 100 to 60000/],
    [{ ...ok, baseUrl: 'http://example.com' }, /plain http/],
    [{ ...ok, baseUrl: 'https://u:p@example.com' }, /credentials/],
    // Numbers are taken exactly, never wrapped or truncated (2 ** 32 used to mean 0 retries).
    [{ ...ok, maxRetries: 2 ** 32 }, /^maxRetries must be a whole number from 0 to 3, not 4294967296$/],
    [{ ...ok, maxRetries: 1.9 }, /^maxRetries must be a whole number from 0 to 3, not 1\.9$/],
    [{ ...ok, maxRetries: NaN }, /^maxRetries must be a whole number from 0 to 3, not NaN$/],
    [{ ...ok, maxRetries: true }, /^maxRetries must be a whole number from 0 to 3, not true$/],
    [{ ...ok, maxRetries: '3' }, /^maxRetries must be a whole number from 0 to 3, not the string "3"$/],
    [{ ...ok, maxRetries: -1 }, /^maxRetries must be a whole number from 0 to 3, not -1$/],
    [{ ...ok, maxRetries: 4 }, /^maxRetries must be a whole number from 0 to 3, not 4$/],
    [{ ...ok, maxRetries: () => 3 }, /^maxRetries must be a whole number from 0 to 3, not a function$/],
    [{ ...ok, maxRetries: 2n ** 70n }, /^maxRetries must be a whole number/],
    [{ ...ok, timeoutMs: -1 }, /^timeoutMs must be a whole number from 1 to 600000 \(milliseconds\), not -1$/],
    [{ ...ok, timeoutMs: 0 }, /^timeoutMs must be .* not 0$/],
    [{ ...ok, timeoutMs: Infinity }, /^timeoutMs must be .* not Infinity$/],
    [{ ...ok, connectTimeoutMs: 2.5 }, /^connectTimeoutMs must be .* not 2\.5$/],
    [{ ...ok, backoffCapMs: 5_000_000 }, /^backoffCapMs must be a whole number from 0 to 60000 \(milliseconds\), not 5000000$/],
    [{ ...ok, backoffBaseMs: 300, backoffCapMs: 200 }, /backoffBaseMs \(300 ms\) must not exceed backoffCapMs/],
    [{ ...ok, maxConcurrentBatches: 0 }, /^maxConcurrentBatches must be a whole number from 1 to 16, not 0$/],
    [{ ...ok, maxConcurrentBatches: 17 }, /^maxConcurrentBatches must be .* not 17$/],
    [{ ...ok, orderIdFormat: 'csv' }, /^orderIdFormat: /],
    [{ ...ok, dangerouslySendAppSecretInsteadOfSign: 1 }, /^dangerouslySendAppSecretInsteadOfSign must be true or false, not 1$/],
    [{ ...ok, rootCertificatesPem: 'junk' }, /root certificates in rootCertificatesPem/],
    [{ ...ok, maxRetry: 2 }, /^unknown option "maxRetry"; the options are appKey, appSecret, baseUrl, .*maxConcurrentBatches/],
    [{ ...ok, timeout: 3000 }, /unknown option "timeout"/],
  ]
  for (const [options, pattern] of cases) {
    assert.throws(() => new binding.Client(options), (e) => {
      assert.ok(e instanceof binding.DajisaasError, String(e))
      assert.equal(e.code, 'invalid_argument')
      assert.equal(e.attempts, 0)
      assert.match(e.message, pattern)
      assert.ok(!e.message.includes(sandbox.secret))
      return true
    })
  }
  await nothingSent()
})

test('undefined and null options are left out, so they take the defaults', () => {
  const ok = { appKey: APP_KEY, appSecret: sandbox.secret, baseUrl: sandbox.url }
  const config = new binding.Client({ ...ok, timeoutMs: undefined, maxRetries: null, orderIdFormat: null }).config
  assert.equal(config.timeoutMs, 30000)
  assert.equal(config.maxRetries, 3)
  assert.equal(config.orderIdFormat, 'json_array')
  // BigInt is taken exactly, as for order ids.
  assert.equal(new binding.Client({ ...ok, maxRetries: 2n }).config.maxRetries, 2)
})

test('an argument of the wrong type rejects with invalid_argument; it never throws', async () => {
  const c = client(sandbox)
  const ids = ['2257455039610311973']
  const cases = [
    [() => c.request(123, '/x'), /^method must be a string, not 123$/],
    [() => c.request('GET', 5), /^path must be a string, not 5$/],
    [() => c.request(), /^method must be a string, not undefined$/],
    [() => c.request('GET', '/x', 7), /^params must be an object or JSON text, not a number$/],
    [() => c.payUrl('not an array'), /^orderIds must be an array, not a string$/],
    [() => c.payUrl(), /^orderIds must be an array, not undefined$/],
    [() => c.payUrls('x'), /^orderIds must be an array/],
    // Never wrapped to 2 nor truncated to 1.
    [() => c.payUrls(ids, { batchSize: 2 ** 32 + 2 }), /^batchSize must be a whole number from 1 to 30, not 4294967298$/],
    [() => c.payUrls(ids, { batchSize: 1.5 }), /^batchSize must be a whole number from 1 to 30, not 1\.5$/],
    [() => c.payUrls(ids, { batchSize: NaN }), /not NaN$/],
    [() => c.payUrls(ids, { batchSize: -1 }), /not -1$/],
    [() => c.payUrls(ids, { batchSize: '10' }), /not a string$/],
    [() => c.payUrls(ids, { batchSize: 31n }), /not 31n$/],
    [() => c.payUrls(ids, { batchsize: 5 }), /^unknown option "batchsize"; the options are batchSize, signal$/],
    [() => c.payUrl(ids, { timeout: 5 }), /^unknown option "timeout"; the options are signal$/],
    [() => c.preparePay(ids[0], 5), /^options must be an object such as \{ signal \}, not a number$/],
    [() => c.request('GET', '/x', {}, { signal: 'no' }), /^signal must be an AbortSignal, not a string$/],
    [() => c.payMany(ids, { signal: {} }), /^signal must be an AbortSignal, not an object$/],
    [() => c.payUrls(ids, 10), /^options must be an object such as \{ batchSize: 10 \}, not a number$/],
    [() => c.preparePay(), /^orderId must be a string, bigint or safe integer, not undefined$/],
  ]
  for (const [call, pattern] of cases) {
    let promise
    assert.doesNotThrow(() => { promise = call() }, String(pattern))
    assert.ok(promise instanceof Promise)
    await assert.rejects(promise, (e) => {
      assert.ok(e instanceof binding.DajisaasError, String(e))
      assert.equal(e.code, 'invalid_argument')
      assert.equal(e.attempts, 0)
      assert.match(e.message, pattern)
      return true
    })
  }
  // batchSize left out, undefined or null takes the default (10 ids per link).
  for (const options of [undefined, null, {}, { batchSize: undefined }, { batchSize: null }]) {
    const many = Array.from({ length: 11 }, (_, i) => String(i + 1))
    assert.equal((await c.payUrls(many, options)).length, 2)
  }
  await sandbox.reset()
  await nothingSent()
})

test('sign and signingStringMasked throw DajisaasError for arguments of the wrong type', async () => {
  const cases = [
    [() => binding.sign({}, 123), /^secret must be a string, not 123$/],
    [() => binding.sign({}), /^secret must be a string, not undefined$/],
    [() => binding.sign([1, 2], 's'), /params must be an object or JSON text, not an array/],
    [() => binding.sign(5, 's'), /params must be an object or JSON text, not a number/],
    [() => binding.signingStringMasked(true), /params must be an object or JSON text, not a boolean/],
  ]
  for (const [call, pattern] of cases) {
    assert.throws(call, (e) => e instanceof binding.DajisaasError && e.code === 'invalid_argument' && pattern.test(e.message), String(pattern))
  }
  await nothingSent()
})

test('the test hooks are only in test builds', () => {
  const hooks = Object.keys(binding).filter((name) => name.endsWith('ForTests')).sort()
  assert.deepEqual(hooks, HOOKS_EXPECTED ? ['__errorCodesForTests', '__panicForTests'] : [])
})

test('a Rust panic becomes an internal error, and the process goes on', async (t) => {
  if (!HOOKS_EXPECTED) return t.skip('a release build has no test hooks')
  assert.throws(() => binding.__panicForTests(), { code: 'internal', message: /a bug/ })
  assert.equal((await client(sandbox).payUrl(['1'])).attempts, 1)
})
