'use strict'
// A fleet worker in Node: pays a list of orders through a shared payment journal. Started (and
// SIGKILLed, and started again) by chaos.py; the same rules and output as worker.py:
//
//   DAJISAAS_APP_KEY=... DAJISAAS_APP_SECRET=... node worker.js --base-url URL --journal URL \
//     --orders FILE [--binding DIR] [--concurrency N] [--tries N] [--timeout-ms MS] ...
//
// `--concurrency` promises take the list's orders in turn; an order is paid again only after
// `payment_declined` or `rate_limited` (at most `--tries` times). One JSON line per call.

const fs = require('node:fs')
const path = require('node:path')

function parseArgs (argv) {
  const args = {
    binding: path.resolve(__dirname, '..', '..', 'bindings-node'),
    concurrency: 3,
    tries: 3,
    timeoutMs: 1000,
    connectTimeoutMs: 1000,
    maxRetries: 2,
    backoffBaseMs: 20,
    backoffCapMs: 100,
  }
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase())
    if (!(name in args) && !['baseUrl', 'journal', 'orders'].includes(name)) {
      throw new Error(`unknown option ${argv[i]}`)
    }
    const value = argv[i + 1]
    args[name] = typeof args[name] === 'number' ? Number(value) : value
  }
  return args
}

async function main () {
  const args = parseArgs(process.argv.slice(2))
  const orders = fs.readFileSync(args.orders, 'utf8').split('\n').map((s) => s.trim()).filter(Boolean)
  const { Client } = require(args.binding)
  const client = new Client({
    appKey: process.env.DAJISAAS_APP_KEY,
    appSecret: process.env.DAJISAAS_APP_SECRET,
    baseUrl: args.baseUrl,
    journal: args.journal,
    timeoutMs: args.timeoutMs,
    connectTimeoutMs: args.connectTimeoutMs,
    maxRetries: args.maxRetries,
    backoffBaseMs: args.backoffBaseMs,
    backoffCapMs: args.backoffCapMs,
  })
  const emit = (event) => process.stdout.write(JSON.stringify(event) + '\n')
  emit({ ev: 'start', pid: process.pid })
  let next = 0
  const walk = async () => {
    while (next < orders.length) {
      const orderId = orders[next++]
      for (let tries = 0; tries < args.tries; tries++) {
        const started = performance.now()
        let outcome, replayed, attempts
        try {
          const payment = await client.preparePay(orderId)
          outcome = payment.orderId === orderId ? 'paid' : 'wrong_order_id'
          replayed = payment.replayed
          attempts = payment.attempts
        } catch (e) {
          outcome = e.code || `exception: ${e}`
          // The core's "a claim of this process with no payment running here" (a bug by its
          // words): the supervisor fails the run on it.
          if (/claimed by this process/.test(String(e.message))) outcome = 'payment_in_progress_here_without_a_payment'
          replayed = false
          attempts = e.attempts || 0
        }
        emit({ ev: 'call', order: orderId, outcome, replayed, attempts, ms: Math.round((performance.now() - started) * 10) / 10 })
        if (outcome !== 'payment_declined' && outcome !== 'rate_limited') break
      }
    }
  }
  await Promise.all(Array.from({ length: args.concurrency }, walk))
  emit({ ev: 'done' })
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ ev: 'error', error: String(e && e.stack ? e.stack : e) }) + '\n')
  process.exit(1)
})
