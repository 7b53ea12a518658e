'use strict'

// Bounded sockets: a client never has more than `maxConnections` requests (and so connections)
// in flight; calls beyond that queue. Many thousands of concurrent calls then succeed without
// running the process out of file descriptors.

const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { test, before, after, beforeEach } = require('node:test')

const { APP_KEY, binding, startSandbox, client } = require('./helpers')

let sandbox
before(async () => { sandbox = await startSandbox({ slowMs: 1500 }) })
after(() => sandbox.stop())
beforeEach(() => sandbox.reset())

const ids = (n, from) => Array.from({ length: n }, (_, i) => String(from + i))

test('maxConnections defaults to 64 and takes 1 to 1024', () => {
  assert.equal(client(sandbox).config.maxConnections, 64)
  assert.equal(client(sandbox, { maxConnections: 1024 }).config.maxConnections, 1024)
  for (const bad of [0, 1025, 1.5, '8']) {
    assert.throws(() => client(sandbox, { maxConnections: bad }), { code: 'invalid_argument', message: /^maxConnections must be a whole number from 1 to 1024/ })
  }
})

test('calls beyond maxConnections queue, and waiting does not count against the timeout', async () => {
  // 24 calls of 1.5 s each (the sandbox's slow pattern) through 8 connections take about 4.5 s,
  // over the 3 s timeout: each call's timeout starts when it gets a connection.
  const c = client(sandbox, { maxConnections: 8, timeoutMs: 3000 })
  const slow = Array.from({ length: 24 }, (_, i) => `9007${String(i).padStart(15, '0')}`)
  const links = await Promise.all(slow.map((id) => c.payUrl([id])))
  assert.equal(links.length, 24)
  assert.ok(links.every((l) => l.attempts === 1))
  const stats = await sandbox.stats()
  assert.ok(stats.peakInFlight <= 8, `peakInFlight ${stats.peakInFlight}`)
  assert.ok(stats.peakInFlight >= 2, `peakInFlight ${stats.peakInFlight}`)
})

test('10,000 concurrent calls all succeed, and the process can still open files', async () => {
  const c = client(sandbox, { timeoutMs: 20000 })
  const calls = ids(10000, 1000000).map((id) => c.payUrl([id]))
  fs.closeSync(fs.openSync(__filename, 'r')) // while they are in flight
  const links = await Promise.all(calls)
  assert.equal(links.length, 10000)
  fs.closeSync(fs.openSync(__filename, 'r'))
  const stats = await sandbox.stats()
  assert.ok(stats.peakInFlight <= 64, `peakInFlight ${stats.peakInFlight}`)
})

test('3,000 concurrent calls succeed in a process limited to 1024 open files', async () => {
  const script = `
    const fs = require('node:fs')
    const binding = require(process.env.DAJI_NODE_BINDING)
    const c = new binding.Client({ appKey: process.env.DAJI_APP_KEY, appSecret: process.env.DAJI_SECRET,
      baseUrl: process.env.DAJI_URL, timeoutMs: 20000 })
    const calls = Array.from({ length: 3000 }, (_, i) => c.payUrl([String(2000000 + i)]))
    let opened = 0
    const probe = setInterval(() => { fs.closeSync(fs.openSync(__filename === '[eval]' ? process.execPath : __filename, 'r')); opened++ }, 5)
    Promise.all(calls).then((links) => {
      clearInterval(probe)
      fs.closeSync(fs.openSync(process.execPath, 'r'))
      const limit = require('node:child_process').execSync('ulimit -n', { shell: '/bin/bash' }).toString().trim()
      console.log(JSON.stringify({ links: links.length, opened: opened + 1, limit }))
    }, (e) => { console.error(String(e)); process.exit(1) })
  `
  const child = spawn('bash', ['-c', 'ulimit -n 1024 && exec "$0" -e "$1"', process.execPath, script], {
    env: {
      ...process.env,
      DAJI_NODE_BINDING: path.resolve(__dirname, '..'),
      DAJI_APP_KEY: APP_KEY,
      DAJI_SECRET: sandbox.secret,
      DAJI_URL: sandbox.url,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => { out += d })
  child.stderr.on('data', (d) => { err += d })
  const code = await new Promise((resolve) => child.on('close', resolve))
  assert.equal(code, 0, err)
  const result = JSON.parse(out)
  assert.equal(result.links, 3000)
  assert.equal(result.limit, '1024')
  assert.ok(result.opened >= 1)
})

test('maxConnections is per client', async () => {
  const a = client(sandbox, { maxConnections: 2, timeoutMs: 5000 })
  const b = new binding.Client({ appKey: APP_KEY, appSecret: sandbox.secret, baseUrl: sandbox.url, maxConnections: 2, timeoutMs: 5000 })
  const slow = (n) => `9007${String(n).padStart(15, '0')}`
  await Promise.all([...[1, 2, 3, 4].map((n) => a.payUrl([slow(n)])), ...[5, 6, 7, 8].map((n) => b.payUrl([slow(n)]))])
  const stats = await sandbox.stats()
  assert.ok(stats.peakInFlight <= 4, `peakInFlight ${stats.peakInFlight}`)
  assert.ok(stats.peakInFlight >= 3, `peakInFlight ${stats.peakInFlight}`)
})
