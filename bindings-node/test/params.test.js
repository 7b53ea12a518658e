'use strict'

// Params objects are read as JSON.stringify reads them (toJSON, boxed primitives, own enumerable
// properties, Proxies of arrays), except that what JSON.stringify would silently lose (Buffer,
// Map, Set, functions, symbols) is refused with the value's path.

const assert = require('node:assert/strict')
const { test } = require('node:test')

const { binding } = require('./helpers')

const masked = (params) => binding.signingStringMasked(params)
/** What a value is signed as, nested in an object: JSON.stringify's text, by the rule. */
const signedAs = (value) => masked({ v: value }).replace(/^v=/, '').replace(/&secret=\*\*\*$/, '')

test('toJSON is honoured: a Date is its ISO string', () => {
  assert.equal(masked({ d: new Date(0) }), 'd=1970-01-01T00:00:00.000Z&secret=***')
  assert.equal(signedAs([new Date(Date.UTC(2024, 1, 29, 12))]), '["2024-02-29T12:00:00.000Z"]')
  assert.equal(signedAs({ at: new Date(NaN) }), '{"at":null}') // an invalid Date is null, as in JSON
  // toJSON gets the property name, the index, or "" at the top.
  const named = { toJSON: (key) => `key:${key}` }
  assert.equal(signedAs({ a: named, list: [named] }), '{"a":"key:a","list":["key:0"]}')
  assert.equal(masked({ toJSON: (key) => ({ top: key }) }), 'top=&secret=***')
  class Money { constructor(cents) { this.cents = cents } toJSON() { return { amount: this.cents / 100, currency: 'CNY' } } }
  assert.equal(signedAs(new Money(1999)), '{"amount":19.99,"currency":"CNY"}')
})

test('boxed primitives are unboxed', () => {
  assert.equal(masked({ s: new String('s'), n: new Number(1.5), t: new Boolean(false), b: Object(5n) }), 'b=5&n=1.5&s=s&t=false&secret=***')
  assert.equal(signedAs([new String('x'), new Number(2), new Boolean(true)]), '["x",2,true]')
  const odd = new Number(7)
  odd.valueOf = () => 8 // JSON.stringify uses ToNumber, which asks valueOf
  assert.equal(signedAs(odd), JSON.stringify(odd))
})

test('only own enumerable string-keyed properties, in Object.keys order', () => {
  const inherited = Object.create({ inherited: 1 })
  inherited.own = 2
  Object.defineProperty(inherited, 'hidden', { value: 3, enumerable: false })
  inherited[Symbol('s')] = 4
  inherited[2] = 'two'
  inherited[1] = 'one'
  assert.equal(signedAs(inherited), '{"1":"one","2":"two","own":2}')
  assert.equal(signedAs(inherited), JSON.stringify(inherited))
  class Point { constructor() { this.x = 1; this.y = 2 } get norm() { return 5 } }
  assert.equal(signedAs(new Point()), '{"x":1,"y":2}')
})

test('Proxies of arrays are arrays; Proxies of objects go through their traps', () => {
  const proxied = new Proxy([1, 'a', { b: true }], {})
  assert.equal(Array.isArray(proxied), true)
  assert.equal(signedAs(proxied), '[1,"a",{"b":true}]')
  const virtual = new Proxy({}, {
    ownKeys: () => ['a', 'b'],
    getOwnPropertyDescriptor: () => ({ enumerable: true, configurable: true }),
    get: (_, key) => (key === 'toJSON' ? undefined : `value of ${String(key)}`),
  })
  assert.equal(signedAs(virtual), '{"a":"value of a","b":"value of b"}')
  assert.equal(signedAs(virtual), JSON.stringify(virtual))
})

test('undefined is left out of objects and null in arrays; holes are null', () => {
  // eslint-disable-next-line no-sparse-arrays
  assert.equal(signedAs({ a: undefined, b: [undefined, , 1] }), '{"b":[null,null,1]}')
})

test('a rich object signs as JSON.stringify writes it', () => {
  const value = {
    when: new Date(1700000000000),
    boxed: [new String('s'), new Number(-0.5), new Boolean(true)],
    nested: { list: new Proxy([1, 2, 3], {}), money: { toJSON: () => '19.99 CNY' } },
    text: '中文 "quoted" \\ back\nslash',
    float: 0.1,
    whole: 3,
    none: null,
  }
  assert.equal(signedAs(value), JSON.stringify(value))
})

test('Buffer, Map, Set, functions and symbols are refused with their path', () => {
  const cases = [
    [{ b: Buffer.from('x') }, /^params\.b is a Buffer, which cannot be signed/],
    [{ list: [1, new Map([[1, 2]])] }, /^params\.list\[1\] is a Map, which cannot be signed/],
    [{ o: { s: new Set([1]) } }, /^params\.o\.s is a Set, which cannot be signed/],
    [{ w: new WeakMap() }, /^params\.w is a WeakMap/],
    [{ f: () => 1 }, /^params\.f is a function, which cannot be signed/],
    [{ deep: [{ sym: Symbol('x') }] }, /^params\.deep\[0\]\.sym is a symbol, which cannot be signed/],
    [{ t: new Uint8Array(2) }, /^params\.t is a typed array/],
    [{ a: new ArrayBuffer(2) }, /^params\.a is an ArrayBuffer/],
    [{ p: Promise.resolve(1) }, /^params\.p is a Promise/],
    [{ n: NaN }, /^params\.n is NaN and cannot be signed/],
    [{ big: 2 ** 60 }, /^params\.big \d+ is above Number\.MAX_SAFE_INTEGER/],
    // A Buffer is refused even though Buffer#toJSON exists; whatever toJSON returns is read too.
    [{ viaToJSON: { toJSON: () => new Map() } }, /^params\.viaToJSON is a Map/],
  ]
  for (const [params, message] of cases) {
    assert.throws(() => masked(params), { code: 'invalid_argument', message }, String(message))
  }
  assert.throws(() => masked(new Map()), { code: 'invalid_argument', message: /^params is a Map/ })
})

test('an exception from a getter, a trap or toJSON is an invalid_argument with its message', async () => {
  const getter = { get boom() { throw new Error('getter failed') } }
  assert.throws(() => masked({ g: getter }), { code: 'invalid_argument', message: /^params\.g\.boom could not be read: Error: getter failed$/ })
  const trap = new Proxy({}, { ownKeys: () => { throw new TypeError('no keys') } })
  assert.throws(() => masked({ t: trap }), { code: 'invalid_argument', message: /^params\.t could not be read: TypeError: no keys$/ })
  assert.throws(() => masked({ j: { toJSON() { throw new RangeError('bad toJSON') } } }), { message: /params\.j could not be read: RangeError: bad toJSON/ })
  // Nothing is left pending: the next call works, and a client's promise rejects cleanly.
  assert.equal(masked({ ok: 1 }), 'ok=1&secret=***')
  const c = new binding.Client({ appKey: 'k', appSecret: 's', baseUrl: 'http://127.0.0.1:9' })
  await assert.rejects(c.request('POST', '/x', { g: getter }), { code: 'invalid_argument', message: /getter failed/ })
})
