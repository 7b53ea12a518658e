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

/** Whether `value` holds a whole number beyond 2^53, which JavaScript may already have rounded. */
function holdsUnsafeInteger(value) {
  if (typeof value === 'number') return Number.isInteger(value) && !Number.isSafeInteger(value)
  if (value !== null && typeof value === 'object') return Object.values(value).some(holdsUnsafeInteger)
  return false
}

test('every vector signs identically from an object', () => {
  let checked = 0
  for (const v of vectors) {
    // 16+ digit integers do not survive JSON.parse; those vectors are covered as text above.
    if (/[\[:,]-?\d{16,}/.test(v.params_json)) continue
    const params = JSON.parse(v.params_json)
    if (holdsUnsafeInteger(params)) {
      // A whole number beyond 2^53 (1e20 read as a number) is refused rather than guessed at.
      assert.throws(() => binding.sign(params, v.secret), { code: 'invalid_argument', message: /MAX_SAFE_INTEGER/ }, v.name)
      continue
    }
    assert.equal(binding.sign(params, v.secret), v.sign, v.name)
    checked++
  }
  assert.ok(checked >= 30, `only ${checked} vectors checked as objects`)
})

test('floats sign as String(x) writes them', () => {
  // Whole numbers beyond 2^53 (1e21, Number.MAX_VALUE) are refused, as the vectors test shows.
  const signable = (x) => Number.isFinite(x) && (!Number.isInteger(x) || Number.isSafeInteger(x))
  const samples = [1.5, -2.75, 0.1, 1e-7, 1.5e-10, 5e-324, 1.5e-300, 0.000001, 123.456, -0, 2 ** 53 - 1, 1e21 + 0.5, Math.PI]
  // Doubles with few fraction bits, where two shortest digit strings are often equally close
  // (1379387335265123.25: JavaScript picks the even one).
  for (let i = 0; i < 3000; i++) {
    samples.push((2 ** 52 + Math.floor(Math.random() * 2 ** 52)) / 2 ** Math.floor(Math.random() * 12))
  }
  // And random doubles: random bit patterns.
  const view = new DataView(new ArrayBuffer(8))
  while (samples.length < 8000) {
    view.setUint32(0, Math.floor(Math.random() * 2 ** 32))
    view.setUint32(4, Math.floor(Math.random() * 2 ** 32))
    samples.push(view.getFloat64(0))
  }
  for (const x of samples.filter(signable)) {
    assert.equal(binding.signingStringMasked({ x }), `x=${String(x)}&secret=***`, String(x))
    assert.equal(binding.signingStringMasked({ x: [x] }), `x=[${String(x)}]&secret=***`, String(x))
  }
})

test('BigInt values sign like the integers they hold', () => {
  const v = vectors.find((x) => x.name === '19-digit order id as an integer')
  assert.equal(binding.sign({ appKey: 'k', orderId: 2257164624870311973n }, v.secret), v.sign)
})

test('safe integers above 2^32 sign as integers, not floats', () => {
  const asNumber = binding.signingStringMasked({ offerId: 6100000000000 })
  assert.equal(asNumber, 'offerId=6100000000000&secret=***')
})
