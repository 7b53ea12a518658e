import type { Client, ClientOptions, SandboxOptions } from './index'

// `startSandbox`'s options are generated from src/testing.rs into index.d.ts.
export type { SandboxOptions }

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
