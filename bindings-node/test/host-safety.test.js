'use strict'

// The host process survives whatever the caller's values do: a getter or a Proxy trap that
// throws while a call reads its arguments rejects that call's one promise (or throws from the
// constructor) with a DajisaasError whose cause is the exception, and leaves nothing behind: no
// pending exception, no second, unhandled rejection. Each variant runs in a child process that
// must still be alive 500 ms after its catch.

const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const path = require('node:path')
const { test, before, after, beforeEach } = require('node:test')

const { binding, startSandbox, client } = require('./helpers')

const BINDING = process.env.DAJISAAS_NODE_PACKAGE || path.resolve(__dirname, '..')

// What each child runs: `c` is a client of a loopback port nobody listens on (nothing may be
// sent), `boom()` throws. The variant's expression is awaited (or, for the constructor, run).
const VARIANTS = {
  'payUrl, an id getter': "c.payUrl(throwingIds())",
  'payUrls, an id getter': "c.payUrls(throwingIds())",
  'payMany, an id getter': "c.payMany(throwingIds())",
  'payMany, a concurrency getter': "c.payMany(['1'], { get concurrency() { boom() } })",
  'payUrls, a batchSize getter': "c.payUrls(['1'], { get batchSize() { boom() } })",
  "resolvePayment, paid's getter": "c.resolvePayment('1', { get paid() { boom() } })",
  "resolvePayment, note's getter": "c.resolvePayment('1', { paid: true, get note() { boom() } })",
  "paymentRecords, state's getter": "c.paymentRecords({ get state() { boom() } })",
  'preparePay, a signal getter': "c.preparePay('1', { get signal() { boom() } })",
  'payMany, an onProgress getter': "c.payMany(['1'], { get onProgress() { boom() } })",
  'payUrl, a Proxy whose ownKeys trap throws': "c.payUrl(['1'], new Proxy({}, { ownKeys() { boom() } }))",
  'request, a params getter': "c.request('POST', '/alibaba/x', { get a() { boom() } })",
  'new Client, an appKey getter': "new binding.Client({ get appKey() { boom() }, appSecret: 's' })",
  'new Client, a Proxy whose ownKeys trap throws': "new binding.Client(new Proxy({}, { ownKeys() { boom() } }))",
}

const CHILD = `
  const binding = require(process.env.DAJI_BINDING)
  const boom = () => { throw new RangeError('getter boom') }
  const throwingIds = () => { const ids = ['1', '2']; Object.defineProperty(ids, 0, { get: boom }); return ids }
  const c = new binding.Client({ appKey: 'k', appSecret: 's', baseUrl: 'http://127.0.0.1:9' })
  ;(async () => {
    try {
      await (__VARIANT__)
      console.log('NO ERROR')
    } catch (e) {
      const ok = e instanceof binding.DajisaasError && e.code === 'invalid_argument' &&
        e.cause instanceof RangeError && /getter boom/.test(e.message)
      console.log(ok ? 'CAUGHT' : 'WRONG ' + (e && e.stack))
    }
    setTimeout(() => console.log('ALIVE'), 500)
  })()
`

function run(variant) {
  const script = CHILD.replace('__VARIANT__', variant)
  const child = spawn(process.execPath, ['-e', script], {
    env: { ...process.env, DAJI_BINDING: BINDING },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => { out += d })
  child.stderr.on('data', (d) => { err += d })
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err })))
}

for (const [name, variant] of Object.entries(VARIANTS)) {
  test(`a throwing ${name}: one DajisaasError, and the process lives on`, async () => {
    const { code, out, err } = await run(variant)
    assert.equal(out, 'CAUGHT\nALIVE\n', err)
    assert.equal(code, 0, err)
  })
}

let sandbox
before(async () => { sandbox = await startSandbox({ latencyMs: 0 }) })
after(() => sandbox.stop())
beforeEach(() => sandbox.reset())

test('a method taken off its client rejects with invalid_argument naming it', async () => {
  const c = client(sandbox)
  const detached = c.preparePay
  await assert.rejects(detached('1'), (e) => e instanceof binding.DajisaasError &&
    e.code === 'invalid_argument' && /^preparePay was called without its client/.test(e.message))
  const results = await Promise.allSettled(['1', '2'].map(c.preparePay))
  assert.deepEqual(results.map((r) => [r.status, r.reason?.code]), [['rejected', 'invalid_argument'], ['rejected', 'invalid_argument']])
  // As documented: an arrow function keeps the client.
  const paid = await Promise.all(['2257164624870311973'].map((id) => c.preparePay(id)))
  assert.equal(paid[0].orderId, '2257164624870311973')
  assert.equal((await sandbox.stats()).requests, 1)
})

test('AbortSignal.timeout() rejects with its TimeoutError, as fetch does', async () => {
  const c = client(sandbox, { timeoutMs: 5000 })
  const slow = '9007000000000000001' // the sandbox answers it after 1.5 s
  await assert.rejects(c.payUrl([slow], { signal: AbortSignal.timeout(50) }), (e) => {
    assert.equal(e.name, 'TimeoutError')
    assert.ok(e instanceof DOMException)
    return true
  })
  // A plain abort is still an AbortError.
  const controller = new AbortController()
  const call = c.payUrl([slow], { signal: controller.signal })
  controller.abort()
  await assert.rejects(call, { name: 'AbortError' })
})

test('a path with %2e%2e or %2f is refused, and nothing reaches the sandbox', async () => {
  const c = client(sandbox)
  await c.preparePay('2257164624870311973')
  const before = await sandbox.stats()
  for (const p of ['/alibaba/%2e%2e/_sandbox/reset', '/alibaba/%2E%2e/%2e%2e/_sandbox/reset', '/_sandbox%2freset', '/alibaba/.%2e/_sandbox/reset']) {
    for (const method of ['GET', 'POST']) {
      await assert.rejects(c.request(method, p), (e) => e.code === 'invalid_argument' && e.attempts === 0 && /path/.test(e.message), p)
    }
  }
  const now = await sandbox.stats()
  assert.equal(now.requests, before.requests)
  assert.equal(now.deductions['2257164624870311973'], 1, 'the sandbox was reset')
})
