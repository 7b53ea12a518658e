'use strict'

// Calls never block the event loop, and many overlap: they do not run on libuv's thread pool
// (4 threads by default), so 64 calls in flight are not capped at 4.
const assert = require('node:assert/strict')
const { test, before, after } = require('node:test')

const { startSandbox, client } = require('./helpers')

let sandbox
before(async () => { sandbox = await startSandbox({ latencyMs: 50 }) })
after(() => sandbox.stop())

test('64 concurrent payUrl calls overlap and the event loop keeps ticking', async () => {
  await sandbox.reset()
  const c = client(sandbox, { timeoutMs: 10000 })
  let ticks = 0
  let last = Date.now()
  let longestGap = 0
  const timer = setInterval(() => {
    const now = Date.now()
    longestGap = Math.max(longestGap, now - last)
    last = now
    ticks++
  }, 5)
  const started = Date.now()
  try {
    for (let round = 0; round < 3; round++) {
      const links = await Promise.all(Array.from({ length: 64 }, (_, i) => c.payUrl([String(round * 100 + i + 1)])))
      assert.equal(links.length, 64)
    }
  } finally {
    clearInterval(timer)
  }
  const elapsed = Date.now() - started
  const stats = await sandbox.stats()
  assert.equal(stats.requests, 192)
  // libuv's pool would cap this at 4; blocking calls at 1.
  assert.ok(stats.peakInFlight >= 32, `peak in flight ${stats.peakInFlight}`)
  // The calls took three rounds of 50 ms or more; a blocked loop would not tick in between.
  assert.ok(ticks >= 10, `only ${ticks} ticks in ${elapsed} ms`)
  assert.ok(longestGap < 1000, `the event loop stalled for ${longestGap} ms`)
})
