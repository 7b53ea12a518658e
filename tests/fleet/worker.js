'use strict'
// A fleet worker in Node: pays a list of orders through a shared payment journal. Started (and
// SIGKILLed, and started again) by chaos.py, and by pace.py; the same rules and output as worker.py:
//
//   DAJISAAS_APP_KEY=... DAJISAAS_APP_SECRET=... node worker.js --base-url URL --journal URL \
//     --orders FILE [--binding DIR] [--concurrency N | --pay-many N] [--tries N] [--pause-ms MS] \
//     [--start-file PATH] [--timeout-ms MS] [--max-calls-per-second N] ...
//
// `--concurrency` promises take the list's orders in turn; an order is paid again only after
// `payment_declined` or `rate_limited` (at most `--tries` times). With `--pay-many N`, `payMany`
// runs instead, N in flight: one over the list, then, `--pause-ms` later, one over the orders
// that nothing was paid for (`failed`, `declined`), `--tries` runs at most. With `--start-file`,
// the first call waits for that file to exist (a barrier). A client option left out takes the
// library's default. One JSON line per call.

const fs = require('node:fs')
const path = require('node:path')

// The client options a worker takes, by the library's names.
const CLIENT_OPTIONS = ['timeoutMs', 'connectTimeoutMs', 'maxRetries', 'backoffBaseMs', 'backoffCapMs',
  'journalTimeoutMs', 'maxCallsPerSecond']
const NUMBERS = ['concurrency', 'payMany', 'tries', 'pauseMs', ...CLIENT_OPTIONS]

function parseArgs (argv) {
  const args = {
    binding: path.resolve(__dirname, '..', '..', 'bindings-node'),
    concurrency: 3,
    tries: 3,
    pauseMs: 500,
  }
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase())
    if (!NUMBERS.includes(name) && !['binding', 'baseUrl', 'journal', 'orders', 'startFile'].includes(name)) {
      throw new Error(`unknown option ${argv[i]}`)
    }
    const value = argv[i + 1]
    args[name] = NUMBERS.includes(name) ? Number(value) : value
  }
  return args
}

async function startFile (file) {
  while (!fs.existsSync(file)) await new Promise((resolve) => setTimeout(resolve, 5))
}

async function payMany (client, orders, args, emit) {
  for (let n = 1; n <= args.tries; n++) {
    const again = []
    await client.payMany(orders, {
      concurrency: args.payMany,
      onProgress: (item) => {
        const event = { ev: 'call', order: item.orderId, result: item.outcome, try: n }
        if (item.outcome === 'paid') {
          emit({ ...event, outcome: 'paid', replayed: item.payment.replayed, attempts: item.payment.attempts })
          return
        }
        const { code, attempts, message } = item.error
        emit({ ...event, outcome: code, replayed: false, attempts: attempts || 0, message })
        if (item.outcome === 'failed' || item.outcome === 'declined') again.push(item.orderId)
      },
    })
    if (again.length === 0) return
    orders = again
    await new Promise((resolve) => setTimeout(resolve, args.pauseMs))
  }
}

async function main () {
  const args = parseArgs(process.argv.slice(2))
  const orders = fs.readFileSync(args.orders, 'utf8').split('\n').map((s) => s.trim()).filter(Boolean)
  const { Client } = require(args.binding)
  const options = {
    appKey: process.env.DAJISAAS_APP_KEY,
    appSecret: process.env.DAJISAAS_APP_SECRET,
    baseUrl: args.baseUrl,
    journal: args.journal,
  }
  for (const name of CLIENT_OPTIONS) options[name] = args[name]
  const client = new Client(options)
  const emit = (event) => process.stdout.write(JSON.stringify(event) + '\n')
  emit({ ev: 'start', pid: process.pid })
  if (args.startFile) await startFile(args.startFile)
  if (args.payMany) {
    await payMany(client, orders, args, emit)
    emit({ ev: 'done' })
    return
  }
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
