'use strict'
// Node benchmarks: dajisaas against fetch doing the same signed call (node:crypto), sequential
// and with many calls in flight, memory and load time. Prints one JSON line per figure.
// Usage: node bench.js URL SLOW_URL KEY SECRET SCALE
const crypto = require('node:crypto')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const { Client } = require(path.join(__dirname, '..', '..', 'bindings-node'))

const [URL, SLOW_URL, KEY, SECRET] = process.argv.slice(2, 6)
const SCALE = Number(process.argv[6])
const PATH = '/alibaba/alipay/url/get'
const ORDER = '2257455039610311973'

function emit(figure, value, unit, baseline, baselineValue) {
  const line = { figure, value, unit }
  if (baseline !== undefined) Object.assign(line, { baseline, baseline_value: baselineValue, ratio: value / baselineValue })
  console.log(JSON.stringify(line))
}

function signedQuery() {
  const params = { appKey: KEY, orderIdList: `[${ORDER}]` }
  const canonical = Object.keys(params).sort().map((k) => `${k}=${params[k]}`).join('&')
  params.sign = crypto.createHash('md5').update(`${canonical}&secret=${SECRET}`).digest('hex').toUpperCase()
  return new URLSearchParams(params).toString()
}

async function viaFetch(base) {
  const response = await fetch(`${base}${PATH}?${signedQuery()}`)
  const { data } = await response.json()
  if (!data.payUrl.includes(ORDER)) throw new Error('bad link')
}

async function perCallUs(fn, calls) {
  return (await perCall(fn, calls)).wall
}

/** Wall time and this process's CPU time (process.cpuUsage: every thread, the addon's I/O threads
 * included, the sandbox's not), in µs per call. */
async function perCall(fn, calls) {
  const start = process.hrtime.bigint()
  const cpu = process.cpuUsage()
  for (let i = 0; i < calls; i++) await fn()
  const used = process.cpuUsage(cpu)
  return { wall: Number(process.hrtime.bigint() - start) / 1000 / calls, cpu: (used.user + used.system) / calls }
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function sequential(client) {
  const ours = async () => { if (!(await client.payUrl([ORDER])).url.includes(ORDER)) throw new Error('bad link') }
  const theirs = () => viaFetch(URL)
  const calls = Math.max(20, Math.round(1000 * SCALE))
  await perCallUs(ours, calls / 10)
  await perCallUs(theirs, calls / 10)
  const a = []
  const b = []
  for (let r = 0; r < 5; r++) {
    a.push(await perCall(ours, calls))
    b.push(await perCall(theirs, calls))
  }
  emit('node_pay_url_us', median(a.map((x) => x.wall)), 'µs/call', 'fetch', median(b.map((x) => x.wall)))
  emit('node_pay_url_cpu_us', median(a.map((x) => x.cpu)), 'µs CPU/call (client process)', 'fetch',
    median(b.map((x) => x.cpu)))
}

async function throughput(fn, total, inFlight) {
  let next = 0
  const start = process.hrtime.bigint()
  await Promise.all(Array.from({ length: inFlight }, async () => { while (next++ < total) await fn() }))
  return total / (Number(process.hrtime.bigint() - start) / 1e9)
}

async function concurrent(client, slowClient) {
  const slowTotal = Math.max(256, Math.round(4096 * SCALE))
  const fastTotal = Math.max(256, Math.round(20000 * SCALE))
  const oursSlow = await throughput(() => slowClient.payUrl([ORDER]), slowTotal, 256)
  const fetchSlow = await throughput(() => viaFetch(SLOW_URL), slowTotal, 256)
  emit('node_256_in_flight_calls_per_s', oursSlow, 'calls/s', 'fetch, 256 in flight', fetchSlow)
  const oursFast = await throughput(() => client.payUrl([ORDER]), fastTotal, 64)
  const fetchFast = await throughput(() => viaFetch(URL), fastTotal, 64)
  emit('node_64_in_flight_calls_per_s', oursFast, 'calls/s', 'fetch, 64 in flight', fetchFast)
}

async function memory(client) {
  const total = Math.max(2000, Math.round(100000 * SCALE))
  for (let i = 0; i < 1000; i++) await client.payUrl([ORDER])
  const afterFirst = process.memoryUsage().rss / 2 ** 20
  for (let i = 1000; i < total; i++) await client.payUrl([ORDER])
  emit('node_rss_growth_mb', process.memoryUsage().rss / 2 ** 20 - afterFirst, `MB after ${total} calls`, 'RSS after 1,000 calls (MB)', afterFirst)
}

// payMany's memory: the peak RSS of a 10,000-order run over that of a 1,000-order run (the
// orders are streamed, at most 16 in flight; the results themselves are kept), each journal in a
// process of its own (this script with --pay-many-memory). The figure is taken with a SQLite
// journal: the default memory journal keeps a row for every paid order by design (what makes a
// second payMany of the same ids replay instead of paying), so its growth is reported beside it,
// and what its rows cost per order is a figure of its own (--journal-cost, with SQLite's for
// comparison).
function payManyMemory() {
  const small = Math.max(100, Math.round(1000 * SCALE))
  const big = Math.max(1000, Math.round(10000 * SCALE))
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dajisaas-bench-'))
  let runs = 0
  const run = (journal, mode = '--pay-many-memory') => {
    // Ids of their own (a sandbox declines an order it has already paid).
    runs += 1
    const out = execFileSync(process.execPath, ['--expose-gc', __filename, mode, journal, URL, KEY, SECRET, String(small), String(big), `23${runs}`])
    return JSON.parse(out.toString().trim().split('\n').pop())
  }
  try {
    const sqlite = run(`sqlite://${path.join(dir, 'journal.db')}`)
    const memory = run('memory:bench-pay-many')
    emit('node_pay_many_rss_growth_mb', sqlite.top - sqlite.base,
      `MB, peak RSS of payMany(${big} orders, 16 in flight, ${(big / sqlite.seconds).toFixed(0)} orders/s) over payMany(${small}), SQLite journal`,
      `peak RSS of payMany(${small} orders) (MB)`, sqlite.base)
    emit('node_pay_many_rss_growth_memory_journal_mb', memory.top - memory.base,
      `MB, the same with the default memory journal (${(big / memory.seconds).toFixed(0)} orders/s), its rows included`,
      `peak RSS of payMany(${small} orders) (MB)`, memory.base)
    const [rows, none] = [run('memory:bench-journal-cost', '--journal-cost'), run(`sqlite://${path.join(dir, 'cost.db')}`, '--journal-cost')]
    emit('node_memory_journal_bytes_per_order', rows.bytesPerOrder,
      `bytes of RSS per paid order with the memory journal (${none.bytesPerOrder.toFixed(0)} with SQLite), ` +
      `payMany of ${big} orders in runs of ${small} whose results are dropped`,
      'the same with a SQLite journal (bytes per order)', none.bytesPerOrder)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

// In a process of its own: payMany(small) then payMany(big), each run's peak RSS sampled every
// 5 ms.
async function payManyMemoryRun([journal, url, key, secret, small, big, prefix]) {
  const client = new Client({ appKey: key, appSecret: secret, baseUrl: url, journal })
  const ids = (n, first) => Array.from({ length: n }, (_, i) => String(first + BigInt(i)))
  const peak = async (orderIds) => {
    let top = process.memoryUsage().rss
    const timer = setInterval(() => { top = Math.max(top, process.memoryUsage().rss) }, 5)
    const { summary } = await client.payMany(orderIds, { concurrency: 16 })
    clearInterval(timer)
    if (summary.paid !== orderIds.length) throw new Error(`payMany: ${JSON.stringify(summary)}`)
    return Math.max(top, process.memoryUsage().rss) / 2 ** 20
  }
  const first = BigInt(`${prefix}${'0'.repeat(16)}`)
  const base = await peak(ids(Number(small), first))
  const started = process.hrtime.bigint()
  const top = await peak(ids(Number(big), first + 10n ** 15n))
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  console.log(JSON.stringify({ base, top, seconds }))
}

// In a process of its own: what a journal keeps per paid order. payMany(small) once, then `big`
// more orders in runs of `small` whose results are dropped; the RSS after a garbage collection,
// from after the first run to after the last, per order.
async function journalCostRun([journal, url, key, secret, small, big, prefix]) {
  const client = new Client({ appKey: key, appSecret: secret, baseUrl: url, journal })
  const rss = async () => {
    await new Promise((resolve) => setTimeout(resolve, 50))
    global.gc()
    return process.memoryUsage().rss
  }
  const first = BigInt(`${prefix}${'0'.repeat(16)}`)
  const pay = async (from, n) => {
    const { summary } = await client.payMany(Array.from({ length: n }, (_, i) => String(from + BigInt(i))), { concurrency: 16 })
    if (summary.paid !== n) throw new Error(`payMany: ${JSON.stringify(summary)}`)
  }
  await pay(first, Number(small))
  const before = await rss()
  for (let done = 0; done < Number(big); done += Number(small)) await pay(first + 10n ** 15n + BigInt(done), Number(small))
  console.log(JSON.stringify({ bytesPerOrder: ((await rss()) - before) / Number(big) }))
}

function loadTime() {
  const time = (code) => {
    const runs = []
    for (let i = 0; i < 15; i++) {
      const start = process.hrtime.bigint()
      execFileSync(process.execPath, ['-e', code])
      runs.push(Number(process.hrtime.bigint() - start) / 1e6)
    }
    return median(runs)
  }
  const base = time('0')
  emit('node_load_ms_added', time(`require(${JSON.stringify(path.join(__dirname, '..', '..', 'bindings-node'))})`) - base, 'ms', 'node -e 0 (ms)', base)
}

async function main() {
  const client = new Client({ appKey: KEY, appSecret: SECRET, baseUrl: URL })
  const slowClient = new Client({ appKey: KEY, appSecret: SECRET, baseUrl: SLOW_URL })
  await sequential(client)
  await concurrent(client, slowClient)
  await memory(client)
  payManyMemory()
  loadTime()
}

const jobs = { '--pay-many-memory': payManyMemoryRun, '--journal-cost': journalCostRun }
const job = jobs[process.argv[2]] ? jobs[process.argv[2]](process.argv.slice(3)) : main()
job.catch((e) => { console.error(e); process.exit(1) })
