// A typed test that runs: every value the library hands back is checked at run time against a
// schema, and each schema's type is checked at compile time to be exactly the type index.d.ts
// declares for that value (`Same` below: not merely assignable, the same). A declared type that
// the runtime does not keep (a field typed `number | undefined` that is `null`, one missing or
// extra, a union that does not narrow) then fails to compile or fails when run. test/types.test.js
// compiles this file (tsc --strict) and runs it against a sandbox.
import assert = require('node:assert/strict')
import type * as Dajisaas from '..'
import type { ClientConfig, DajisaasError, ErrorCode, PayManyItem, PayManyResult, PayUrl, Payment, PaymentOutcome, PaymentRecord, PaymentResolution, PaymentState } from '..'

const binding: typeof Dajisaas = require(process.env.DAJISAAS_NODE_PACKAGE || '..')

/** True when A and B are the same type (not merely assignable either way). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
function same<A, B>(proof: Same<A, B>): void { void proof }

/** Checks a value at run time; `T` is the type the check proves. */
interface Check<T> { (value: unknown, at: string): void; readonly proves?: (t: T) => T }
type Of<C> = C extends Check<infer T> ? T : never
type Simplify<T> = { [K in keyof T]: T[K] } & {}

const check = <T>(f: (value: unknown, at: string) => void): Check<T> => f
const primitive = <T>(kind: string) => check<T>((v, at) => assert.equal(typeof v, kind, `${at}: ${String(v)}`))
const string = primitive<string>('string')
const number = primitive<number>('number')
const boolean = primitive<boolean>('boolean')
const nul = check<null>((v, at) => assert.equal(v, null, at))
const any = check<any>(() => {})
const unknownValue = check<unknown>(() => {})
const literal = <L extends string>(...values: L[]) => check<L>((v, at) => assert.ok(values.includes(v as L), `${at}: ${String(v)}`))
const or = <A, B>(a: Check<A>, b: Check<B>) => check<A | B>((v, at) => {
  try { a(v, at) } catch { b(v, at) }
})
const array = <T>(item: Check<T>) => check<T[]>((v, at) => {
  assert.ok(Array.isArray(v), at)
  v.forEach((x, i) => item(x, `${at}[${i}]`))
})
const instance = <T>(ctor: abstract new (...args: never[]) => T) => check<T>((v, at) => assert.ok(v instanceof ctor, at))

type Shape = Record<string, Check<any>>
/** An object with exactly these own keys: `required` always present, `optional` absent or set. */
function object<R extends Shape, O extends Shape = {}>(required: R, optional?: O) {
  return check<Simplify<{ [K in keyof R]: Of<R[K]> } & { [K in keyof O]?: Of<O[K]> }>>((v, at) => {
    assert.ok(typeof v === 'object' && v !== null, `${at} is an object`)
    const keys = Object.keys(v)
    for (const key of keys) assert.ok(key in required || (optional !== undefined && key in optional), `${at}.${key} is not declared`)
    for (const [key, f] of Object.entries(required)) {
      assert.ok(Object.prototype.hasOwnProperty.call(v, key), `${at}.${key} is declared but missing`)
      f((v as Record<string, unknown>)[key], `${at}.${key}`)
    }
    for (const [key, f] of Object.entries(optional ?? {})) {
      const x = (v as Record<string, unknown>)[key]
      if (x !== undefined) f(x, `${at}.${key}`)
    }
  })
}

// The schemas, each proved to be exactly its declared type.
const orderIdFormat = literal('json_array', 'comma_separated')
const clientConfig = object({
  appKey: string, baseUrl: string, timeoutMs: number, connectTimeoutMs: number, maxRetries: number,
  backoffBaseMs: number, backoffCapMs: number, orderIdFormat, maxConcurrentBatches: number,
  maxConnections: number, rootCertificatesPem: number, dangerouslySendAppSecretInsteadOfSign: boolean,
  journal: string, journalTimeoutMs: number, maxCallsPerSecond: or(number, nul),
  pace: literal('journal', 'process'),
})
same<Of<typeof clientConfig>, ClientConfig>(true)

const payUrl = object({ url: string, orderIds: array(string), attempts: number, data: any }, { traceId: string })
same<Of<typeof payUrl>, PayUrl>(true)

const payment = object({ orderId: string, attempts: number, replayed: boolean, alreadyPaid: boolean, data: any }, { payChannel: string, traceId: string })
same<Of<typeof payment>, Payment>(true)

const paymentState = literal<PaymentState>('in_flight', 'paid', 'declined', 'unknown', 'not_paid')
same<Of<typeof paymentState>, PaymentState>(true)
const paymentResolution = object({
  at: string, by: object({ host: string, pid: number, user: or(string, nul) }),
  from: or(paymentState, nul), to: paymentState, note: string,
})
same<Of<typeof paymentResolution>, PaymentResolution>(true)
const paymentRecord = object({
  gateway: string, appKey: string, orderId: string, claimId: or(string, nul), state: paymentState,
  attempts: number, traceIds: array(string), payChannel: or(string, nul), errorCode: or(string, nul),
  message: or(string, nul), data: unknownValue, owner: object({ host: string, pid: number, clientId: string }),
  leaseUntil: or(string, nul), createdAt: string, updatedAt: string, history: array(paymentResolution),
})
same<Of<typeof paymentRecord>, PaymentRecord>(true)

const outcomes: PaymentOutcome[] = ['paid', 'declined', 'unknown', 'in_progress', 'not_payable', 'failed']
const notPaid = literal(...outcomes.filter((o): o is Exclude<PaymentOutcome, 'paid'> => o !== 'paid'))
const error = instance(binding.DajisaasError)
const payManyItem = or(
  object({ orderId: string, outcome: literal('paid'), payment }, { error: check<undefined>(() => assert.fail('error beside a payment')) }),
  object({ orderId: string, outcome: notPaid, error }, { payment: check<undefined>(() => assert.fail('payment beside an error')) }),
)
same<Of<typeof payManyItem>, PayManyItem>(true)
const summary = object(Object.fromEntries(outcomes.map((o) => [o, number])) as Record<PaymentOutcome, Check<number>>)
same<Of<typeof summary>, Record<PaymentOutcome, number>>(true)
const payManyResult = object({ results: array(payManyItem), summary })
same<Of<typeof payManyResult>, PayManyResult>(true)

function errorOf(e: unknown, at: string): DajisaasError {
  error(e, at)
  const err = e as DajisaasError
  const codes: readonly ErrorCode[] = (binding as unknown as { __errorCodesForTests?: () => ErrorCode[] }).__errorCodesForTests?.() ?? [err.code]
  assert.ok(codes.includes(err.code), `${at}.code ${err.code}`)
  object({ code: string, attempts: number }, { traceId: string, apiCode: number, httpStatus: number, cause: unknownValue })(
    Object.fromEntries(Object.entries(err)), `${at} (own enumerable fields)`)
  return err
}

async function main(): Promise<void> {
  const [url, appKey, appSecret] = [process.env.DAJI_URL!, process.env.DAJI_APP_KEY!, process.env.DAJI_SECRET!]
  const client = new binding.Client({ appKey, appSecret, baseUrl: url, timeoutMs: 700, backoffBaseMs: 1, backoffCapMs: 5, journal: `memory:types-${process.pid}` })
  clientConfig(client.config, 'config')
  clientConfig(new binding.Client({ appKey, appSecret, maxCallsPerSecond: 5 }).config, 'config with a pace')

  payUrl(await client.payUrl(['2257455039610311973', 2257455039610311974n]), 'payUrl')
  array(payUrl)(await client.payUrls(['1', '2', '3'], { batchSize: 2 }), 'payUrls')
  payment(await client.preparePay('2257164624870311973'), 'preparePay')
  payment(await client.preparePay('2257164624870311973'), 'preparePay replayed')

  // Paid, declined, unknown (deducted, then no answer), not payable (closed) and already paid
  // (elsewhere).
  const many = await client.payMany(['2257164624870311980', '9000000000000000001', '9002000000000000001', '9015000000000000001', '9017000000000000001'], { concurrency: 2 })
  assert.deepEqual(many.results.map((r) => r.outcome), ['paid', 'declined', 'unknown', 'not_payable', 'paid'])
  const elsewhere = many.results[4]
  assert.equal(elsewhere.outcome === 'paid' && elsewhere.payment.alreadyPaid, true)
  payManyResult(many, 'payMany')
  const first: PayManyItem = many.results[0]
  if (first.outcome === 'paid') {
    const p: Payment = first.payment // narrowed: no `!` needed
    assert.equal(p.orderId, '2257164624870311980')
  } else {
    const e: DajisaasError = first.error
    assert.fail(`the first order was not paid: ${e.message}`)
  }
  for (const [i, item] of many.results.entries()) if (item.outcome !== 'paid') errorOf(item.error, `payMany.results[${i}].error`)

  const record = await client.paymentRecord('9002000000000000001')
  or(paymentRecord, nul)(record, 'paymentRecord')
  nul(await client.paymentRecord('2257164624870319999'), 'paymentRecord of an unknown order')
  array(paymentRecord)(await client.paymentRecords(), 'paymentRecords')
  array(paymentRecord)(await client.paymentRecords({ state: 'unknown' }), 'paymentRecords unknown')
  const resolved = await client.resolvePayment('9002000000000000001', { paid: false, note: 'checked' })
  paymentRecord(resolved, 'resolvePayment')
  assert.equal(resolved.history.length, 1)
  unknownValue(await client.request('GET', '/alibaba/product/keywordQuery', { keyword: 'x' }), 'request')

  try {
    await client.preparePay('9000000000000000002')
    assert.fail('a declined payment resolved')
  } catch (e) {
    assert.equal(errorOf(e, 'preparePay declined').code, 'payment_declined')
  }
  try {
    new binding.Client({ appKey: '', appSecret: 's' })
    assert.fail('an empty appKey was accepted')
  } catch (e) {
    assert.equal(errorOf(e, 'new Client').code, 'invalid_argument')
  }
  console.log('TYPES MATCH')
}

main().catch((e: unknown) => { console.error(e); process.exit(1) })
