// A typed walk through the whole public API; `tsc --noEmit --strict` must accept it.
import { CallOptions, Client, ClientConfig, ClientOptions, DajisaasError, DajisaasErrorJSON, ErrorCode, OrderIdFormat, PayManyResult, PayUrl, Payment, PaymentRecord, sign, signingStringMasked } from '..'

/** Request parameters typed by an interface (no index signature), as ERP code has them. */
interface PreviewParams {
  cargo: ReadonlyArray<{ offerId: number, quantity?: number }>
  message?: string
}

async function main(): Promise<void> {
  const signature: string = sign({ appKey: 'K', orderIdList: '[1,2]' }, 'S')
  const masked: string = signingStringMasked('{"appKey":"K"}')
  const options: ClientOptions = {
    appKey: 'key',
    appSecret: 'secret',
    baseUrl: 'http://127.0.0.1:8787',
    timeoutMs: 10_000,
    connectTimeoutMs: 2_000,
    maxRetries: 2,
    backoffBaseMs: 100,
    backoffCapMs: 1_000,
    orderIdFormat: 'comma_separated',
    maxConcurrentBatches: 2,
    rootCertificatesPem: undefined,
    dangerouslySendAppSecretInsteadOfSign: false,
  }
  const client = new Client(options)
  const config: ClientConfig = client.config
  const effective: [string, number, number, 'json_array' | 'comma_separated'] = [config.baseUrl, config.timeoutMs, config.maxConcurrentBatches, config.orderIdFormat]
  const fromEnv: Client = Client.fromEnv()
  const link: PayUrl = await client.payUrl(['2257455039610311973', 2257455039610311974n, 42])
  const url: string = link.url
  const ids: string[] = link.orderIds
  const trace: string | undefined = link.traceId
  const links: PayUrl[] = await fromEnv.payUrls(['1', '2'], { batchSize: 10 })
  try {
    const payment: Payment = await client.preparePay('2257164624870311973')
    const channel: string | undefined = payment.payChannel
    console.log(url, ids, trace, links.length, channel, payment.attempts, payment.orderId)
  } catch (e) {
    if (e instanceof DajisaasError) {
      const code: ErrorCode = e.code
      const extra: [string | undefined, number | undefined, number | undefined, number] = [e.traceId, e.apiCode, e.httpStatus, e.attempts]
      if (code === 'payment_outcome_unknown') console.log('check the order first', extra)
      if (code === 'payment_in_progress') console.log('another process is paying this order', extra)
    }
  }
  const data: unknown = await client.request('POST', '/alibaba/order/preview', { cargo: [{ offerId: 1 }] })
  const text: string = client.toString()
  console.log(signature, masked, data, text, effective)

  // Readonly arrays and `as const` tuples of ids; params typed by an interface.
  const approved: readonly string[] = ['2257455039610311973', '2257455039610311974']
  const fixed = ['2257455039610311973', 2257455039610311974n] as const
  await client.payUrl(approved)
  await client.payUrls(fixed, { batchSize: 10 })
  const paidMany: PayManyResult = await client.payMany(approved, { concurrency: 4, onProgress: (item) => console.log(item.outcome) })
  const params: PreviewParams = { cargo: [{ offerId: 1, quantity: 2 }] }
  await client.request('POST', '/alibaba/order/preview', params)
  const readonlyParams: Readonly<PreviewParams> = params
  console.log(sign(readonlyParams, 'S'), signingStringMasked(params), paidMany.summary.paid)

  // Every call takes { signal } last.
  const controller = new AbortController()
  const call: CallOptions = { signal: controller.signal }
  await client.payUrl(approved, call)
  await client.payUrls(approved, { batchSize: 5, signal: AbortSignal.timeout(1000) })
  await client.preparePay('2257455039610311973', call)
  await client.payMany(fixed, { signal: controller.signal })
  const record: PaymentRecord | null = await client.paymentRecord('2257455039610311973', call)
  const records: PaymentRecord[] = await client.paymentRecords({ state: 'unknown', signal: controller.signal })
  await client.resolvePayment('2257455039610311973', { paid: true, note: 'seen in the 1688 backend' }, call)
  await client.request('GET', '/alibaba/alipay/url/get', { orderIdList: '[1]' }, { signal: null })
  const kept: number = await client.flushJournal({ timeoutMs: 1000, signal: controller.signal })
  controller.abort()
  console.log(record, records.length, kept)

  // OrderIdFormat is a value as well as a type; DajisaasError is constructible as documented.
  const format: OrderIdFormat = OrderIdFormat.CommaSeparated
  const withFormat = new Client({ appKey: 'k', appSecret: 's', orderIdFormat: format })
  const stub = new DajisaasError('boom', { code: 'timeout', attempts: 1, cause: new Error('under') })
  const plain = new DajisaasError('boom')
  const json: DajisaasErrorJSON = stub.toJSON()
  console.log(plain.code, json.message, withFormat.closed)
  const stillKept: number = await withFormat.close()
  console.log(stillKept)
}

void main()
