// ESM users import the same API by name.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'

import dajisaas, { Client, DajisaasError, OrderIdFormat, sign, signingStringMasked } from '../index.mjs'

test('named and default ESM imports', () => {
  assert.equal(sign({ appKey: 'K', orderIdList: '[1,2]' }, 'S'), '5929626A5613B8EC0C20DB72C3277CCF')
  assert.equal(signingStringMasked({ a: '1' }), 'a=1&secret=***')
  assert.equal(dajisaas.Client, Client)
  assert.equal(OrderIdFormat.CommaSeparated, 'comma_separated')
  assert.throws(() => new Client({ appKey: '', appSecret: 's' }), (e) => e instanceof DajisaasError)
})

test('the ESM entry exports exactly what the CommonJS one does', async () => {
  const cjs = createRequire(import.meta.url)('..')
  const esm = await import('../index.mjs')
  // The test-only hooks (__panicForTests, ...) are the CommonJS entry's alone.
  const names = Object.keys(cjs).filter((name) => !name.endsWith('ForTests')).sort()
  assert.deepEqual(Object.keys(esm).filter((name) => name !== 'default').sort(), names)
  for (const name of names) assert.equal(esm[name], cjs[name], name)
  assert.equal(esm.default, cjs)
})
