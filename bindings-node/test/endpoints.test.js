'use strict'

const assert = require('node:assert/strict')
const { test, before, after, beforeEach } = require('node:test')

const { binding, startSandbox, client, APP_KEY } = require('./helpers')

let sandbox
before(async () => { sandbox = await startSandbox() })
after(() => sandbox.stop())
beforeEach(() => sandbox.reset())

test('payUrl for one order', async () => {
  const link = await client(sandbox).payUrl(['2257455039610311973'])
  assert.equal(link.url, 'https://trade.1688.com/order/cashier.htm?orderId=2257455039610311973')
  assert.deepEqual(link.orderIds, ['2257455039610311973'])
  assert.equal(link.attempts, 1)
  assert.equal(link.traceId.length, 12)
  assert.equal(link.data.success, true)
  const [sent] = await sandbox.requests()
  assert.match(sent.uri, /orderIdList=%5B2257455039610311973%5D/)
})

test('ids as strings, BigInt and safe numbers come back as strings', async () => {
  const link = await client(sandbox).payUrl([2257455039610311973n, '2257455039610311974', 42])
  assert.deepEqual(link.orderIds, ['2257455039610311973', '2257455039610311974', '42'])
  assert.match(link.url, /^https:\/\/cashier\.alipay\.com\//)
})

test('payUrls gives 10 ordered links for 95 ids', async () => {
  const ids = Array.from({ length: 95 }, (_, n) => String(3000000000000000000n - BigInt(n) * 7n))
  const links = await client(sandbox).payUrls([...ids, ...ids.slice(0, 5)], { batchSize: 10 })
  assert.equal(links.length, 10)
  assert.deepEqual(links.flatMap((l) => l.orderIds), ids)
})

test('comma-separated format', async () => {
  await client(sandbox, { orderIdFormat: 'comma_separated' }).payUrl(['11', '12'])
  const [sent] = await sandbox.requests()
  assert.match(sent.uri, /orderIdList=11%2C12&/)
})

test('preparePay pays an order', async () => {
  const payment = await client(sandbox).preparePay(2257164624870311973n)
  assert.equal(payment.orderId, '2257164624870311973')
  assert.equal(payment.payChannel, 'alipay')
  assert.equal(payment.attempts, 1)
  assert.equal(payment.data.result.paySuccess, true)
  assert.equal(await sandbox.deductions('2257164624870311973'), 1)
})

test('request returns data, with big integers as BigInt', async () => {
  const c = client(sandbox)
  const posted = await c.request('POST', '/alibaba/order/preview', { cargo: [{ offerId: 6100000000000, qty: 2.5 }], flag: true, gone: undefined })
  assert.deepEqual(posted.params, { appKey: APP_KEY, cargo: [{ offerId: 6100000000000, qty: 2.5 }], flag: true })
  const big = await c.request('POST', '/alibaba/x', '{"orderId":2257455039610311973}')
  assert.equal(big.params.orderId, 2257455039610311973n)
  const got = await c.request('GET', '/alibaba/product/search', { keyword: '女装 & 裙', page: 2 })
  assert.deepEqual(got.params, { appKey: APP_KEY, keyword: '女装 & 裙', page: '2' })
})

test('fromEnv reads the environment', async () => {
  process.env.DAJISAAS_APP_KEY = APP_KEY
  process.env.DAJISAAS_APP_SECRET = sandbox.secret
  process.env.DAJISAAS_BASE_URL = sandbox.url
  try {
    assert.equal((await binding.Client.fromEnv().payUrl(['5'])).attempts, 1)
    delete process.env.DAJISAAS_APP_SECRET
    assert.throws(() => binding.Client.fromEnv(), { code: 'invalid_argument', message: /DAJISAAS_APP_SECRET/ })
  } finally {
    delete process.env.DAJISAAS_APP_KEY
    delete process.env.DAJISAAS_APP_SECRET
    delete process.env.DAJISAAS_BASE_URL
  }
})
