'use strict'

// The secret never appears in toString, config, inspect, error messages or signed requests.
const assert = require('node:assert/strict')
const util = require('node:util')
const { test, before, after } = require('node:test')

const { binding, startSandbox, client, APP_KEY, SECRET } = require('./helpers')

let sandbox
before(async () => { sandbox = await startSandbox() })
after(() => sandbox.stop())

test('the secret is absent from every string the library produces', async () => {
  await sandbox.reset()
  const c = client(sandbox)
  const shown = [String(c), `${c}`, util.inspect(c), JSON.stringify(c), JSON.stringify(c.config), util.inspect(c.config)]
  shown.push(util.inspect(await c.payUrl(['1'])), util.inspect(await c.preparePay('2')))
  for (const id of ['9000000000000000001', '9004000000000000001', '9003000000000000001', 'x']) {
    await assert.rejects(c.preparePay(id), (e) => {
      shown.push(e.message, String(e), util.inspect(e), JSON.stringify(e))
      return true
    })
  }
  for (const text of shown) assert.ok(!text.includes(SECRET), text)
  assert.match(String(c), /^Client\(appKey="node-test-key", baseUrl="http:\/\/127\.0\.0\.1:\d+\/", timeoutMs=700, .*\)$/)
  assert.ok(!('appSecret' in c.config))
  assert.equal((await sandbox.stats()).requestsWithSecret, 0)
})

test('debug mode really sends the secret (so the check above can fail)', async () => {
  const own = await startSandbox({ secret: 'debug-only-secret' })
  try {
    const c = new binding.Client({ appKey: APP_KEY, appSecret: 'debug-only-secret', baseUrl: own.url, dangerouslySendAppSecretInsteadOfSign: true })
    await c.payUrl(['1'])
    assert.equal((await own.stats()).requestsWithSecret, 1)
  } finally {
    own.stop()
  }
})

test('TLS certificates are checked, and extra roots are trusted', async () => {
  const fs = require('node:fs')
  const os = require('node:os')
  const path = require('node:path')
  const caOut = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'daji-')), 'ca.pem')
  const own = await startSandbox({ caOut })
  try {
    assert.match(own.url, /^https:/)
    const options = { appKey: APP_KEY, appSecret: SECRET, baseUrl: own.url, maxRetries: 0 }
    await assert.rejects(new binding.Client(options).payUrl(['1']), { code: 'connection', message: /certificate/ })
    const trusting = new binding.Client({ ...options, rootCertificatesPem: fs.readFileSync(caOut, 'utf8') })
    assert.equal(trusting.config.rootCertificatesPem, 1)
    assert.equal((await trusting.payUrl(['1'])).attempts, 1)
    assert.throws(() => new binding.Client({ ...options, rootCertificatesPem: 'junk' }), { code: 'invalid_argument', message: /root certificates/ })
  } finally {
    own.stop()
  }
})
