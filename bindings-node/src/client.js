// The JavaScript side of `Client`. client.rs evaluates this script once per JavaScript thread and
// calls its value with the native class and `make` (errors.js); it returns the `Client` that the
// package exports. What a call does stays in the native methods and the core; this only adds what
// is plain JavaScript:
// - `Client(...)` without `new` throws a TypeError, as a class does;
// - a rejection, and each error in payMany's results, carries the stack of the call that made it
//   (the native code finishes a call on a later turn of the event loop, when no JavaScript frame
//   of the caller is left);
// - every call takes `{ signal }`, an AbortSignal, in its options: an aborted signal rejects the
//   call at once with an AbortError (a TimeoutError for `AbortSignal.timeout()`, as fetch) and
//   the native call stops (a payment already sent still runs to its recorded outcome: the core
//   owns it);
// - a method called without its client (`const f = client.preparePay; f(id)`) rejects with an
//   invalid_argument naming the method, not napi's "Illegal invocation";
// - payMany's results are built and gathered here as each order finishes, so that no second copy
//   of them waits in native memory for the end of the run;
// - the exit hooks: payment outcomes the journal could not take yet are written before the
//   process ends (`flushAtExit`, the core's policy: at most the journal deadline, once per kept
//   outcome, so `exit` after `beforeExit` does not wait again); what stays unwritten is a warning.
(function (Native, make, flushAtExit) {
  'use strict'

  // Where each call's options are among its arguments. The native method takes one more
  // argument after them, `hooks`: `item(index, item)` for payMany's results, and the native side
  // sets `abort()` on it, which stops the call.
  const OPTIONS_AT = {
    payUrl: 1,
    payUrls: 1,
    preparePay: 1,
    payMany: 1,
    paymentRecord: 1,
    paymentRecords: 0,
    resolvePayment: 2,
    request: 3,
    flushJournal: 0,
  }

  const OUTCOMES = { paid: 'paid', declined: 'declined', unknown: 'unknown', in_progress: 'in_progress', not_payable: 'not_payable', failed: 'failed' }

  const KINDS = { string: 'a string', number: 'a number', boolean: 'a boolean', bigint: 'a bigint', symbol: 'a symbol', function: 'a function' }
  const kind = (value) => (Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : KINDS[typeof value])

  // `error`, with the frames of `site` (captured where the call was made) as its stack.
  function restack(error, site) {
    if (error instanceof Error) {
      const frames = site.stack
      const at = typeof frames === 'string' ? frames.indexOf('\n') : -1
      if (at >= 0) {
        try {
          error.stack = Error.prototype.toString.call(error) + frames.slice(at)
        } catch {
          // A frozen error keeps its own stack.
        }
      }
    }
    return error
  }

  // What an aborted call rejects with: the signal's reason when it is an AbortError or a
  // TimeoutError (`AbortSignal.timeout()`'s), as fetch rejects with it, else an AbortError (a
  // DOMException, as fetch's) with the reason as `cause`.
  function aborted(signal, site) {
    const reason = signal.reason
    if (reason instanceof Error && (reason.name === 'AbortError' || reason.name === 'TimeoutError')) return reason
    const error = new DOMException('This operation was aborted', 'AbortError')
    if (reason !== undefined) {
      Object.defineProperty(error, 'cause', { value: reason, writable: true, enumerable: false, configurable: true })
    }
    return restack(error, site)
  }

  // An invalid_argument DajisaasError; `cause`, what the caller's getter threw, if that is why.
  const invalid = (message, cause) => make('invalid_argument', message, null, null, null, 0, cause)

  // `options[key]`, where a throwing getter is an invalid_argument with the exception as cause.
  function option(options, key) {
    if (options === null || typeof options !== 'object') return undefined
    try {
      return options[key]
    } catch (error) {
      let text
      try { text = String(error) } catch { text = 'an exception' }
      throw invalid(`options.${key} could not be read: ${text}`, error)
    }
  }

  const isSignal = (value) =>
    value !== null && typeof value === 'object' && typeof value.aborted === 'boolean' &&
    typeof value.addEventListener === 'function' && typeof value.removeEventListener === 'function'

  // One 'abort' listener per signal, however many calls wait on it (an EventTarget warns past 10
  // listeners). `listen` returns the function that stops listening.
  const listening = new WeakMap()
  function listen(signal, callback) {
    let entry = listening.get(signal)
    if (entry === undefined) {
      const callbacks = new Set()
      const listener = () => {
        listening.delete(signal)
        for (const f of callbacks) f()
      }
      entry = { callbacks, listener }
      listening.set(signal, entry)
      signal.addEventListener('abort', listener, { once: true })
    }
    const { callbacks, listener } = entry
    callbacks.add(callback)
    return () => {
      callbacks.delete(callback)
      if (callbacks.size === 0 && listening.get(signal) === entry) {
        listening.delete(signal)
        signal.removeEventListener('abort', listener)
      }
    }
  }

  function wrap(name) {
    const native = Native.prototype[name]
    const at = OPTIONS_AT[name]
    const method = {
      [name](...args) {
        const site = {}
        Error.captureStackTrace(site, method)
        try {
          if (!(this instanceof Native)) {
            throw invalid(`${name} was called without its client: call it on the client, as client.${name}(...) (for example ids.map((id) => client.${name}(id)))`)
          }
          const options = args[at]
          const signal = option(options, 'signal')
          // Exactly the arguments up to the options, then the hooks.
          const list = args.slice(0, at + 1)
          list.length = at + 1
          let hooks
          let finish
          let stopped = false
          // An exception of onProgress: it stops the run (nothing new starts; payments under way
          // run to their recorded outcome) and is what the call rejects with.
          let progressError
          if (name === 'payMany') {
            const results = []
            const given = option(options, 'onProgress')
            const onProgress = typeof given === 'function' ? given : undefined
            const channels = new Map()
            hooks = {
              // One finished order (client.rs, item_args): the same objects as preparePay's
              // payment and errors, built as literals that share the order id and the words.
              item(index, orderId, outcome, error, payChannel, attempts, traceId, replayed, alreadyPaid, data) {
                outcome = OUTCOMES[outcome] ?? outcome
                let item
                if (error !== null && error !== undefined) {
                  item = { orderId, outcome, error: restack(error, site) }
                } else {
                  if (payChannel !== null && payChannel !== undefined) {
                    payChannel = channels.get(payChannel) ?? (channels.set(payChannel, payChannel), payChannel)
                  }
                  let payment
                  if (payChannel != null && traceId != null) {
                    payment = { orderId, attempts, replayed, alreadyPaid, data, payChannel, traceId }
                  } else {
                    payment = { orderId, attempts, replayed, alreadyPaid, data }
                    if (payChannel != null) payment.payChannel = payChannel
                    if (traceId != null) payment.traceId = traceId
                  }
                  item = { orderId, outcome, payment }
                }
                results[index] = item
                if (onProgress === undefined || stopped) return
                try {
                  onProgress(item)
                } catch (error) {
                  stopped = true
                  progressError = error
                  hooks.abort()
                }
              },
            }
            finish = (summary) => {
              if (progressError !== undefined) throw progressError
              return { results, summary }
            }
          }
          if (signal === undefined || signal === null) {
            list.push(hooks)
            const promise = Reflect.apply(native, this, list)
            return promise.then(finish, (error) => { throw progressError ?? restack(error, site) })
          }
          if (!isSignal(signal)) {
            throw invalid(`signal must be an AbortSignal, not ${kind(signal)}`)
          }
          if (signal.aborted) return Promise.reject(aborted(signal, site))
          hooks ??= {}
          list.push(hooks)
          const promise = Reflect.apply(native, this, list)
          return new Promise((resolve, reject) => {
            const unlisten = listen(signal, () => {
              stopped = true
              if (typeof hooks.abort === 'function') hooks.abort()
              reject(aborted(signal, site))
            })
            promise.then(
              (value) => {
                unlisten()
                try { resolve(finish === undefined ? value : finish(value)) } catch (error) { reject(error) }
              },
              (error) => { unlisten(); reject(progressError ?? restack(error, site)) },
            )
          })
        } catch (error) {
          return Promise.reject(restack(error, site))
        }
      },
    }[name]
    const descriptor = Object.getOwnPropertyDescriptor(Native.prototype, name)
    Object.defineProperty(Native.prototype, name, { ...descriptor, value: method })
  }
  for (const name of Object.keys(OPTIONS_AT)) wrap(name)

  // `beforeExit`: the event loop is empty, so waiting here holds nothing up. `exit` (also after
  // process.exit()): only synchronous work runs, and a 'warning' event would never be delivered.
  process.on('beforeExit', () => {
    const warning = flushAtExit()
    if (warning !== null) process.emitWarning(warning, 'DajisaasWarning')
  })
  process.on('exit', () => {
    const warning = flushAtExit()
    if (warning !== null) process.stderr.write(`(node:${process.pid}) DajisaasWarning: ${warning}\n`)
  })

  function Client(options) {
    if (new.target === undefined) {
      throw new TypeError("Class constructor Client cannot be invoked without 'new'")
    }
    return Reflect.construct(Native, arguments, new.target)
  }
  Object.setPrototypeOf(Client, Native)
  Client.prototype = Native.prototype
  Object.defineProperty(Native.prototype, 'constructor', { value: Client, writable: true, enumerable: false, configurable: true })
  return Client
})
//# sourceURL=dajisaas/client.js
