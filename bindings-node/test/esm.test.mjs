// ESM users import the same API by name.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import dajisaas, { Client, DajisaasError, sign, signingStringMasked } from '../index.mjs'

test('named and default ESM imports', () => {
  assert.equal(sign({ appKey: 'K', orderIdList: '[1,2]' }, 'S'), '5929626A5613B8EC0C20DB72C3277CCF')
  assert.equal(signingStringMasked({ a: '1' }), 'a=1&secret=***')
  assert.equal(dajisaas.Client, Client)
  assert.throws(() => new Client({ appKey: '', appSecret: 's' }), (e) => e instanceof DajisaasError)
})
