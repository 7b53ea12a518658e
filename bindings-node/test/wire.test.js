'use strict'

// What the gateway sends, read leniently and losslessly: exact bodies from a stub HTTP server on
// 127.0.0.1 (lone surrogates, 1e400, integers beyond 2^53, declines answered with HTTP 200).

const assert = require('node:assert/strict')
const http = require('node:http')
const { test, after } = require('node:test')

const { binding } = require('./helpers')

const ORDER = '2257164624870311973'
const servers = []
after(() => servers.forEach((s) => s.close()))

/** A server that answers every request with `status` and `body`, byte for byte. */
async function stub(status, body) {
  const server = http.createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      server.requests++
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) })
      res.end(body)
    })
  })
  server.requests = 0
  servers.push(server)
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  server.client = new binding.Client({
    appKey: 'k', appSecret: 'stub-secret-1', baseUrl: `http://127.0.0.1:${server.address().port}`,
    timeoutMs: 5000, backoffBaseMs: 1, backoffCapMs: 2,
    // A journal per stub: the tests pay the same order id in one process.
    journal: `memory:stub-${server.address().port}`,
  })
  return server
}

test('a paid answer with a lone surrogate in its message is paid, with its traceId', async () => {
  const s = await stub(200, '{"code":200,"message":"ok \\ud83d","data":{"success":true,"message":"\\udc00 x","result":{"paySuccess":true}},"traceId":"tr-surrogate"}')
  const payment = await s.client.preparePay(ORDER)
  assert.equal(payment.traceId, 'tr-surrogate')
  assert.equal(payment.data.message, '\ufffd x')
})

test('integers beyond 2^53 arrive as BigInt with every digit; 1e400 as JSON.parse reads it', async () => {
  const body = '{"code":200,"data":{"payUrl":"https://cashier.example/x","success":true,' +
    '"id":12345678901234567890123,"neg":-98765432109876543210987654321,"safe":9007199254740991,' +
    '"unsafe":9007199254740993,"mid":6100000000000,"huge":1e400,"small":1.5,"list":[2257455039610311973]},"traceId":"tr-num"}'
  const s = await stub(200, body)
  const link = await s.client.payUrl(['2257455039610311973'])
  assert.equal(link.data.id, 12345678901234567890123n)
  assert.equal(link.data.neg, -98765432109876543210987654321n)
  assert.equal(link.data.safe, 9007199254740991)
  assert.equal(link.data.unsafe, 9007199254740993n)
  assert.equal(link.data.mid, 6100000000000)
  assert.equal(link.data.huge, Infinity)
  assert.equal(link.data.small, 1.5)
  assert.deepEqual(link.data.list, [2257455039610311973n])
  const data = await s.client.request('GET', '/any')
  assert.equal(data.id, 12345678901234567890123n)
})

test('a decline answered with HTTP 200 reports httpStatus 200', async () => {
  const s = await stub(200, '{"code":200,"data":{"success":false,"message":"no money"},"traceId":"tr-declined"}')
  await assert.rejects(s.client.preparePay(ORDER), (e) => {
    assert.equal(e.code, 'payment_declined')
    assert.equal(e.httpStatus, 200)
    assert.equal(e.traceId, 'tr-declined')
    assert.equal(e.attempts, 4)
    return true
  })
  assert.equal(s.requests, 4)
})

test('a broken body keeps its traceId', async () => {
  const s = await stub(200, '{"code":200,"data":{"success":true,"result":oops},"traceId":"tr-broken"}')
  await assert.rejects(s.client.preparePay(ORDER), { code: 'payment_outcome_unknown', traceId: 'tr-broken', httpStatus: 200 })
})

test('JSON text and BigInt params keep integers of any size exactly', () => {
  assert.equal(binding.signingStringMasked('{"x":12345678901234567890123}'), 'x=12345678901234567890123&secret=***')
  assert.equal(binding.signingStringMasked({ x: 12345678901234567890123n, y: -(2n ** 70n) }),
    'x=12345678901234567890123&y=-1180591620717411303424&secret=***')
})

test('signed mode never garbles the gateway\'s message; the debug mode masks whole occurrences only', async () => {
  const s = await stub(200, '{"code":401,"message":"debugpass refused the call, not debugpassword","traceId":"t"}')
  const baseUrl = `http://127.0.0.1:${s.address().port}`
  const signed = new binding.Client({ appKey: 'k', appSecret: 's', baseUrl, maxRetries: 0 })
  await assert.rejects(signed.payUrl(['1']), { code: 'api', message: /: debugpass refused the call, not debugpassword$/ })
  assert.throws(() => new binding.Client({ appKey: 'k', appSecret: 'short', baseUrl, dangerouslySendAppSecretInsteadOfSign: true }),
    { code: 'invalid_argument', message: /at least 8 characters/ })
  const debug = new binding.Client({ appKey: 'k', appSecret: 'debugpass', baseUrl, maxRetries: 0, dangerouslySendAppSecretInsteadOfSign: true })
  await assert.rejects(debug.payUrl(['1']), { code: 'api', message: /: \*\*\* refused the call, not debugpassword$/ })
})
