// DajisaasError, and `make`, which the addon calls to create one for a core error. errors.rs
// evaluates this script once per JavaScript thread: a class in JavaScript can extend Error, which
// a native class cannot. Its value is [DajisaasError, make].
(() => {
  'use strict'

  const OPTIONAL = ['traceId', 'apiCode', 'httpStatus']

  class DajisaasError extends Error {
    // `new DajisaasError(message, { code, traceId, apiCode, httpStatus, attempts, cause })`, for
    // code that stands in for the library (test doubles): `code` defaults to 'internal' and
    // `attempts` to 0; the other fields are left out unless given.
    constructor(message, options) {
      const given = options !== null && typeof options === 'object' ? options : {}
      super(message, 'cause' in given ? { cause: given.cause } : undefined)
      this.code = given.code ?? 'internal'
      for (const key of OPTIONAL) {
        if (given[key] != null) this[key] = given[key]
      }
      this.attempts = given.attempts ?? 0
    }

    // What JSON.stringify writes (an Error's own message is not enumerable, so it would be lost).
    toJSON() {
      const json = { name: this.name, code: this.code, message: this.message }
      for (const key of OPTIONAL) {
        if (this[key] !== undefined) json[key] = this[key]
      }
      json.attempts = this.attempts
      return json
    }
  }
  Object.defineProperty(DajisaasError.prototype, 'name', {
    value: 'DajisaasError', writable: true, enumerable: false, configurable: true,
  })

  // `cause`: what a getter or a Proxy trap of the caller's arguments threw, when that is why.
  function make(code, message, traceId, apiCode, httpStatus, attempts, cause) {
    const options = { code, traceId, apiCode, httpStatus, attempts }
    if (cause !== undefined && cause !== null) options.cause = cause
    const error = new DajisaasError(message, options)
    // Thrown at once (sign, new Client): the stack starts at the caller, not here.
    Error.captureStackTrace(error, make)
    return error
  }

  return [DajisaasError, make]
})()
//# sourceURL=dajisaas/errors.js
