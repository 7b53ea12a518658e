// Issue 20: a confirmed payment whose outcome the journal could not take is kept by the process
// and written on close(), and when the process ends (beforeExit, exit).
//
// The fault is real: another process holds the SQLite journal's write lock (BEGIN IMMEDIATE, by
// python3's sqlite3) from the moment the payment's request is out until after the payment
// returned, so the outcome write waits out its deadline and fails. The lock is then released
// while the client closes (or the process ends): the record must end `paid`, not `in_flight`.
// Without the flush the close (or the exit) would be over before the lock is gone.
'use strict'

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const readline = require('node:readline')
const { APP_KEY, REPO, binding, startSandbox } = require('./helpers')

// The journal deadline: the outcome write waits this long for the lock, then is kept.
const JOURNAL_TIMEOUT_MS = 2000
// When the lock goes, counted from the start of the close (or from the payment's return).
const RELEASE_AFTER_MS = 500
// Scheduling slack on a shared machine: far below "waits for the background retry".
const SLACK_MS = 3000

// Another process that holds the journal's write lock on cue.
const LOCKER = path.join(REPO, 'tests', 'faults', 'sqlite_lock.py')

let sandbox
let dir
before(async () => {
  // Slow (9007) orders answer after 3 s: time enough to take the lock once the request is out,
  // however loaded the machine.
  sandbox = await startSandbox({ slowMs: 3000 })
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dajisaas-flush-'))
})
after(() => {
  sandbox.stop()
  fs.rmSync(dir, { recursive: true, force: true })
})

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** The lines `child` prints, one per call of the function returned. */
function linesOf(child) {
  const lines = readline.createInterface({ input: child.stdout })
  const queue = []
  const waiting = []
  lines.on('line', (line) => (waiting.length > 0 ? waiting.shift().resolve(line) : queue.push(line)))
  child.once('exit', (code) => waiting.splice(0).forEach((w) => w.reject(new Error(`exited (${code})`))))
  return () => (queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise((resolve, reject) => waiting.push({ resolve, reject })))
}

/** Another process, ready to take a BEGIN IMMEDIATE on the SQLite file `file` (`take()`). */
async function writeLock(file) {
  const child = spawn('python3', [LOCKER, file], { stdio: ['pipe', 'pipe', 'inherit'] })
  const gone = new Promise((resolve) => child.once('exit', resolve))
  const next = linesOf(child)
  assert.equal(await next(), 'ready')
  return {
    take: async () => {
      child.stdin.write('lock\n')
      assert.equal(await next(), 'locked')
    },
    release: async () => {
      if (child.exitCode === null) child.stdin.end()
      await gone
    },
  }
}

/** Resolves once the payment's request of `orderId` reached the gateway: its fence is passed. */
async function sent(orderId) {
  for (let i = 0; i < 1000; i++) {
    if ((await sandbox.requests()).some((r) => r.body.includes(orderId))) return
    await sleep(10)
  }
  throw new Error(`the payment of ${orderId} was never sent`)
}

const journalOf = (name) => `sqlite://${path.join(dir, `${name}.db`)}`

const options = (journal) => ({
  appKey: APP_KEY,
  appSecret: sandbox.secret,
  baseUrl: sandbox.url,
  journal,
  journalTimeoutMs: JOURNAL_TIMEOUT_MS,
  timeoutMs: 5000,
})

/** The order's state in the journal, read by a fresh client (no outcome kept by it). */
async function state(journal, orderId) {
  const reader = new binding.Client(options(journal))
  try {
    return (await reader.paymentRecord(orderId))?.state ?? null
  } finally {
    await reader.close()
  }
}

/** Pays `orderId` (a slow 9007 order), takes the journal's write lock once the request is out,
 * and resolves with the payment over and the lock held; checks that the outcome was not written
 * (the record still `in_flight`). */
async function payWhileLocked(client, journal, orderId) {
  const lock = await writeLock(journal.replace('sqlite://', ''))
  try {
    const paying = client.preparePay(orderId)
    await sent(orderId)
    await lock.take()
    const payment = await paying
    assert.deepEqual([payment.orderId, payment.attempts], [orderId, 1])
    assert.equal(await state(journal, orderId), 'in_flight')
    return lock
  } catch (error) {
    await lock.release()
    throw error
  }
}

test('close() writes the outcome the journal could not take', async () => {
  const orderId = '9007000000000032001'
  const journal = journalOf('close')
  const client = new binding.Client(options(journal))
  const lock = await payWhileLocked(client, journal, orderId)
  try {
    const released = sleep(RELEASE_AFTER_MS).then(lock.release)
    const started = Date.now()
    assert.equal(await client.close(), 0)
    const took = Date.now() - started
    await released
    assert.ok(took < JOURNAL_TIMEOUT_MS + SLACK_MS, `close() took ${took} ms`)
  } finally {
    await lock.release()
  }
  assert.equal(await state(journal, orderId), 'paid')
  assert.equal(await sandbox.deductions(orderId), 1)
  assert.equal(await client.close(), 0) // twice: nothing to write
  await assert.rejects(client.paymentRecord(orderId), { code: 'invalid_argument', message: /closed/ })
})

test('flushJournal() resolves to what is still kept', async () => {
  const orderId = '9007000000000032002'
  const journal = journalOf('flush')
  const client = new binding.Client(options(journal))
  assert.equal(await client.flushJournal(), 0)
  const lock = await payWhileLocked(client, journal, orderId)
  try {
    assert.equal(await client.flushJournal({ timeoutMs: 300 }), 1)
    await lock.release()
    assert.equal(await client.flushJournal({ timeoutMs: 5000 }), 0)
  } finally {
    await lock.release()
  }
  assert.equal(await state(journal, orderId), 'paid')
  await assert.rejects(client.flushJournal({ timeoutMs: 10 }), { code: 'invalid_argument', message: /timeoutMs must be a whole number from 100 to 60000/ })
  await client.close()
})

// A process that pays one order and lets its event loop run dry without closing its client
// (`process.exit()` when argv says so): the exit hooks write the outcome it keeps.
const PAYER = `
const binding = require(process.argv[1])
const [url, secret, journal, orderId, how] = process.argv.slice(2)
const client = new binding.Client({
  appKey: ${JSON.stringify(APP_KEY)}, appSecret: secret, baseUrl: url, journal,
  journalTimeoutMs: ${JOURNAL_TIMEOUT_MS}, timeoutMs: 5000,
})
client.preparePay(orderId).then((payment) => {
  process.stdout.write('paid ' + payment.attempts + '\\n', () => { if (how === 'exit') process.exit(0) })
})
`

/** Runs PAYER; takes the lock once its request is out, releases it `releaseAfterMs` after the
 * payment returned (null: only once the process is gone). Resolves to how long the process took
 * to end after its payment returned, its exit code and its stderr. */
async function endAfterPaying(journal, orderId, how, releaseAfterMs) {
  const lock = await writeLock(journal.replace('sqlite://', ''))
  const payer = spawn(process.execPath, ['-e', PAYER, process.env.DAJISAAS_NODE_PACKAGE || path.resolve(__dirname, '..'), sandbox.url, sandbox.secret, journal, orderId, how], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  payer.stderr.on('data', (chunk) => { stderr += chunk })
  // 'close': exited, and its output read to the end.
  const ended = new Promise((resolve) => payer.once('close', resolve))
  const printed = linesOf(payer)
  try {
    await sent(orderId)
    await lock.take()
    assert.equal(await printed(), 'paid 1')
    const paidAt = Date.now()
    if (releaseAfterMs !== null) sleep(releaseAfterMs).then(lock.release)
    const killer = setTimeout(() => payer.kill('SIGKILL'), 30000)
    const code = await ended
    clearTimeout(killer)
    return { endMs: Date.now() - paidAt, code, stderr }
  } finally {
    payer.kill('SIGKILL')
    await lock.release()
  }
}

for (const how of ['beforeExit', 'exit']) {
  test(`the process's end (${how}) writes the outcome the journal could not take`, async () => {
    const orderId = how === 'exit' ? '9007000000000032003' : '9007000000000032004'
    const journal = journalOf(`end-${how}`)
    const { endMs, code, stderr } = await endAfterPaying(journal, orderId, how, RELEASE_AFTER_MS)
    assert.equal(code, 0, stderr)
    assert.equal(await state(journal, orderId), 'paid', stderr)
    assert.ok(endMs < JOURNAL_TIMEOUT_MS + SLACK_MS, `the process took ${endMs} ms to end`)
    assert.doesNotMatch(stderr, /DajisaasWarning/)
  })
}

test("the process's end warns of what stays unwritten, and waits only once", async () => {
  const orderId = '9007000000000032005'
  const journal = journalOf('end-warn')
  const { endMs, code, stderr } = await endAfterPaying(journal, orderId, 'beforeExit', null)
  assert.equal(code, 0, stderr)
  // The lock outlived the process: the outcome is lost, the claim left to expire.
  assert.equal(await state(journal, orderId), 'in_flight')
  // beforeExit waited the journal deadline and warned; exit, right after, neither waited nor
  // warned again.
  assert.ok(endMs < JOURNAL_TIMEOUT_MS + SLACK_MS, `the process took ${endMs} ms to end`)
  assert.match(stderr, new RegExp(`DajisaasWarning: 1 payment outcome\\(s\\) could not be written to the journal .* ${orderId}`))
  assert.equal(stderr.match(/DajisaasWarning/g).length, 1, stderr)
  assert.ok(!stderr.includes(sandbox.secret))
})
