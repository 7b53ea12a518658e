'use strict'

// index.d.ts against the values the library really returns: test/types-runtime.ts is compiled
// with tsc --strict (a declared type that differs from its run-time schema does not compile) and
// run against a sandbox (a value that differs from its schema fails).

const assert = require('node:assert/strict')
const { execFileSync, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { test, before, after } = require('node:test')

const { APP_KEY, startSandbox } = require('./helpers')

const ROOT = path.resolve(__dirname, '..')
// One level below the package, so that the compiled file's `require('..')` is the package.
const OUT = path.join(ROOT, `.types-test-${process.pid}`)

let sandbox
before(async () => { sandbox = await startSandbox() })
after(() => { sandbox.stop(); fs.rmSync(OUT, { recursive: true, force: true }) })

test('index.d.ts declares exactly what the runtime returns', () => {
  const tsc = require.resolve('typescript/bin/tsc')
  execFileSync(process.execPath, [tsc, '--strict', '--target', 'es2022', '--module', 'commonjs', '--types', 'node',
    '--outDir', OUT, path.join(__dirname, 'types-runtime.ts')], { cwd: ROOT, stdio: 'inherit' })
  const run = spawnSync(process.execPath, [path.join(OUT, 'types-runtime.js')], {
    env: { ...process.env, DAJI_URL: sandbox.url, DAJI_APP_KEY: APP_KEY, DAJI_SECRET: sandbox.secret },
    encoding: 'utf8',
  })
  assert.equal(run.status, 0, run.stderr + run.stdout)
  assert.match(run.stdout, /TYPES MATCH/)
})
