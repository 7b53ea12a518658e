import type { Client, ClientOptions } from './index'

/** `startSandbox`'s options; each left out takes `daji sandbox`'s default. */
export interface SandboxOptions {
  appKey?: string
  appSecret?: string
  /** 0 (the default): a free port. */
  port?: number
  latencyMs?: number
  /** How long `9007…` orders take (default 3000). */
  slowMs?: number
  /** How long `9002…` orders hold their answer back (default 30000). */
  hangMs?: number
  /** The gateway's call-frequency limit per app key. */
  qps?: number
  /** Seeded random faults for orders without a pattern of their own. */
  chaosSeed?: number
}

/** A sandbox gateway served from this process. */
export interface Sandbox {
  readonly url: string
  readonly appKey: string
  /** A Client for this sandbox. */
  client(options?: Partial<ClientOptions>): Client
  /** The counters: `requests`, `payCalls` and `deductions` per order, `payCallsAfterPaid`, ... */
  stats(): Record<string, any>
  /** The requests received, oldest first: `{ method, uri, body }`. */
  requests(): Array<{ method: string; uri: string; body: string }>
  /** Forgets every payment, link and counter. */
  reset(): void
  /** Stops serving; closing twice is fine. */
  close(): void
}

/** Starts a sandbox gateway on 127.0.0.1, in this process. */
export function startSandbox(options?: SandboxOptions): Sandbox
