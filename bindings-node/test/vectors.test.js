'use strict'

const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { test } = require('node:test')

const { REPO, binding } = require('./helpers')

const { vectors } = JSON.parse(fs.readFileSync(path.join(REPO, 'tests', 'vectors', 'sign.json'), 'utf8'))

test('there are enough shared vectors', () => {
  assert.ok(vectors.length >= 25)
})

test('every vector signs identically from its JSON text', () => {
  for (const v of vectors) {
    assert.equal(binding.sign(v.params_json, v.secret), v.sign, v.name)
    assert.equal(binding.signingStringMasked(v.params_json), v.signed_string.slice(0, -v.secret.length) + '***', v.name)
  }
})

test('every vector signs identically from an object', () => {
  let checked = 0
  for (const v of vectors) {
    // 16+ digit integers do not survive JSON.parse; those vectors are covered as text above.
    if (/[\[:,]-?\d{16,}/.test(v.params_json)) continue
    assert.equal(binding.sign(JSON.parse(v.params_json), v.secret), v.sign, v.name)
    checked++
  }
  assert.ok(checked >= 20, `only ${checked} vectors checked as objects`)
})

test('BigInt values sign like the integers they hold', () => {
  const v = vectors.find((x) => x.name === '19-digit order id as an integer')
  assert.equal(binding.sign({ appKey: 'k', orderId: 2257164624870311973n }, v.secret), v.sign)
})

test('safe integers above 2^32 sign as integers, not floats', () => {
  const asNumber = binding.signingStringMasked({ offerId: 6100000000000 })
  assert.equal(asNumber, 'offerId=6100000000000&secret=***')
})
