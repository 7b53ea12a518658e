// A typed walk through the whole public API; `tsc --noEmit --strict` must accept it.
import { Client, ClientConfig, ClientOptions, DajisaasError, ErrorCode, PayUrl, Payment, sign, signingStringMasked } from '..'

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
}

void main()
