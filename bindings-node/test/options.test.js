'use strict'

// Client options: the core holds every default and every check; `client.config` shows what is in
// effect, and the TypeScript interfaces list the same names.
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { test, before, after, beforeEach } = require('node:test')

const { binding, startSandbox, APP_KEY, HOOKS_EXPECTED } = require('./helpers')

let sandbox
before(async () => { sandbox = await startSandbox({ latencyMs: 50 }) })
after(() => sandbox.stop())
beforeEach(() => sandbox.reset())

const required = () => ({ appKey: APP_KEY, appSecret: sandbox.secret, baseUrl: sandbox.url })

test('an option left out takes the core default, read back from client.config', () => {
  const config = new binding.Client(required()).config
  assert.deepEqual(config, {
    appKey: APP_KEY,
    baseUrl: sandbox.url + '/',
    timeoutMs: 30000,
    connectTimeoutMs: 10000,
    maxRetries: 3,
    backoffBaseMs: 200,
    backoffCapMs: 5000,
    orderIdFormat: 'json_array',
    maxConcurrentBatches: 4,
    maxConnections: 64,
    rootCertificatesPem: 0,
    dangerouslySendAppSecretInsteadOfSign: false,
    journal: 'memory',
    journalTimeoutMs: 5000,
    maxCallsPerSecond: null,
    pace: 'process',
  })
})

test('a SQLite journal shares its pace: config says so', (t) => {
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'daji-pace-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const c = new binding.Client({ ...required(), journal: `sqlite://${dir}/payments.db`, maxCallsPerSecond: 10 })
  assert.equal(c.config.pace, 'journal')
})

test('options given show in client.config and String(client)', () => {
  const c = new binding.Client({ ...required(), maxConcurrentBatches: 1, timeoutMs: 1234, maxRetries: 0, orderIdFormat: 'comma_separated', maxCallsPerSecond: 25, journalTimeoutMs: 250 })
  const config = c.config
  assert.equal(config.maxConcurrentBatches, 1)
  assert.equal(config.timeoutMs, 1234)
  assert.equal(config.maxRetries, 0)
  assert.equal(config.orderIdFormat, 'comma_separated')
  assert.equal(config.journalTimeoutMs, 250)
  assert.equal(config.backoffCapMs, 5000)
  assert.ok(!('appSecret' in config))
  // A copy: changing it changes nothing.
  config.timeoutMs = 1
  assert.equal(c.config.timeoutMs, 1234)
  assert.equal(String(c), `Client(appKey="${APP_KEY}", baseUrl="${sandbox.url}/", timeoutMs=1234, connectTimeoutMs=10000, ` +
    'maxRetries=0, backoffBaseMs=200, backoffCapMs=5000, orderIdFormat="comma_separated", maxConcurrentBatches=1, ' +
    'maxConnections=64, rootCertificatesPem=0, dangerouslySendAppSecretInsteadOfSign=false, journal="memory", journalTimeoutMs=250, maxCallsPerSecond=25, pace="process")')
})

test('maxConcurrentBatches bounds how many links payUrls fetches at once', async () => {
  const ids = Array.from({ length: 40 }, (_, i) => String(4000000000000000000n + BigInt(i)))
  for (const [options, most] of [[{}, 4], [{ maxConcurrentBatches: 1 }, 1], [{ maxConcurrentBatches: 2 }, 2]]) {
    await sandbox.reset()
    const c = new binding.Client({ ...required(), ...options })
    const links = await c.payUrls(ids, { batchSize: 5 })
    assert.deepEqual(links.flatMap((l) => l.orderIds), ids)
    const stats = await sandbox.stats()
    assert.equal(stats.requests, 8)
    // 8 batches of 50 ms each: the bound is reached, never passed.
    assert.equal(stats.peakInFlight, most, JSON.stringify(options))
  }
})

// index.d.ts is generated from Rust structs that only describe the types; these keep them in
// step with what the core takes and shows.
const dts = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8')
const fieldsOf = (name) => {
  const body = dts.match(new RegExp(`export interface ${name} \\{([\\s\\S]*?)\\n\\}`))[1]
  return [...body.matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1])
}

test('the ClientOptions and ClientConfig interfaces name every option the core has', () => {
  const shown = Object.keys(new binding.Client(required()).config)
  assert.deepEqual(fieldsOf('ClientConfig'), shown)
  // The config shows every option but the secret, then whose pace applies (not an option).
  assert.equal(shown.at(-1), 'pace')
  const options = shown.slice(0, -1)
  assert.deepEqual(fieldsOf('ClientOptions'), [...options.slice(0, 1), 'appSecret', ...options.slice(1)])
  // Every name in ClientOptions is accepted by the core (an unknown one would throw).
  const message = (() => { try { new binding.Client({ ...required(), nope: 1 }) } catch (e) { return e.message } })()
  assert.equal(message.replace(/^.*the options are /, ''), fieldsOf('ClientOptions').join(', '))
})

test('the ErrorCode union lists every code of the core, in number order', (t) => {
  if (!HOOKS_EXPECTED) return t.skip('a release build has no test hooks')
  const union = dts.match(/export type ErrorCode =([\s\S]*?)\n\n/)[1]
  const codes = [...union.matchAll(/'(\w+)'/g)].map((m) => m[1])
  assert.deepEqual(codes, binding.__errorCodesForTests())
  assert.equal(codes[10], 'payment_in_progress')
})
