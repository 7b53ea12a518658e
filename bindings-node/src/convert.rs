//! JavaScript values to and from the core's types. Conversion only: what the values mean
//! (order-id shape, option ranges, limits) is validated by the core. Every argument arrives as
//! `Unknown` and is converted here, so that a value of the wrong type is a `DajisaasError`
//! (`invalid_argument`) naming the argument, never napi's own error.

use std::ffi::CStr;
use std::ops::RangeInclusive;

use dajisaas::{Casing, ClientOptions, Error, Params};
use napi::bindgen_prelude::{Array, BigInt, FromNapiValue, Null, Object, ToNapiValue};
use napi::{Env, JsValue, Unknown, ValueType, sys};
use serde_json::{Map, Number, Value};

const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;
/// Deep enough for any real request; stops runaway structures.
const MAX_DEPTH: usize = 64;

fn kind(value: &Unknown<'_>) -> &'static str {
    match value.get_type() {
        Ok(ValueType::Undefined) => "undefined",
        Ok(ValueType::Null) => "null",
        Ok(ValueType::Boolean) => "a boolean",
        Ok(ValueType::Number) => "a number",
        Ok(ValueType::String) => "a string",
        Ok(ValueType::Symbol) => "a symbol",
        Ok(ValueType::Object) if value.is_array().unwrap_or(false) => "an array",
        Ok(ValueType::Object) => "an object",
        Ok(ValueType::Function) => "a function",
        Ok(ValueType::BigInt) => "a bigint",
        _ => "an unsupported value",
    }
}

/// A value that N-API could not read. When a getter or a Proxy trap threw, its exception is
/// still pending: the boundary (errors::boundary_error) clears it and adds its text.
fn napi_failure(what: &str, e: napi::Error) -> Error {
    if e.status == napi::Status::PendingException || e.reason.is_empty() {
        Error::invalid(format!("{what} could not be read"))
    } else {
        Error::invalid(format!("{what} could not be read: {}", e.reason))
    }
}

/// A bigint as a JSON integer, when it fits 64 bits (signed or unsigned).
fn exact_integer(n: &BigInt) -> Option<Value> {
    if n.sign_bit {
        let (signed, lossless) = n.get_i64();
        lossless.then(|| Value::from(signed))
    } else {
        let (_, magnitude, lossless) = n.get_u64();
        lossless.then(|| Value::from(magnitude))
    }
}

/// A JavaScript value as a message shows it: numbers as JavaScript prints them (`1.5`, `NaN`,
/// `Infinity`), anything else by its type.
fn describe(value: &Unknown<'_>) -> String {
    if value.get_type().ok() == Some(ValueType::Number)
        && let Ok(n) = unsafe { value.cast::<f64>() }
    {
        return if n.is_nan() {
            "NaN".into()
        } else if n.is_infinite() {
            if n > 0.0 { "Infinity" } else { "-Infinity" }.into()
        } else {
            n.to_string()
        };
    }
    kind(value).into()
}

/// A string argument such as `secret`, `method` or `path`.
pub fn string(value: &Unknown<'_>, what: &str) -> Result<String, Error> {
    match value.get_type().map_err(|e| napi_failure(what, e))? {
        ValueType::String => unsafe { value.cast::<String>() }.map_err(|e| napi_failure(what, e)),
        _ => Err(Error::invalid(format!(
            "{what} must be a string, not {}",
            describe(value)
        ))),
    }
}

/// A whole number in `range`, exactly: `1.5`, `NaN`, `2 ** 32 + 2` or `'3'` is refused naming
/// the argument, never truncated or wrapped. `undefined` and `null` are `None` (left out).
pub fn whole_number(
    value: &Unknown<'_>,
    what: &str,
    range: RangeInclusive<u64>,
) -> Result<Option<u64>, Error> {
    let read = |e| napi_failure(what, e);
    let (n, shown) = match value.get_type().map_err(read)? {
        ValueType::Undefined | ValueType::Null => return Ok(None),
        ValueType::Number => {
            let n = unsafe { value.cast::<f64>() }.map_err(read)?;
            let whole = n.fract() == 0.0 && (0.0..=MAX_SAFE_INTEGER).contains(&n);
            (whole.then_some(n as u64), describe(value))
        }
        ValueType::BigInt => match exact_integer(&unsafe { value.cast::<BigInt>() }.map_err(read)?)
        {
            Some(v) => (v.as_u64(), format!("{v}n")),
            None => (None, "a bigint beyond 64 bits".into()),
        },
        _ => (None, describe(value)),
    };
    n.filter(|n| range.contains(n)).map(Some).ok_or_else(|| {
        Error::invalid(format!(
            "{what} must be a whole number from {} to {}, not {shown}",
            range.start(),
            range.end()
        ))
    })
}

/// The options object of `new Client(...)`, checked by the core: unknown names, wrong types and
/// out-of-range numbers are `invalid_argument` errors naming the option. An option set to
/// `undefined` or `null` is left out, so it takes the core's default.
pub fn client_options(value: &Unknown<'_>) -> Result<ClientOptions, Error> {
    if value.get_type().ok() != Some(ValueType::Object) || value.is_array().unwrap_or(false) {
        return Err(Error::invalid(format!(
            "options must be an object with appKey and appSecret, not {}",
            kind(value)
        )));
    }
    let read = |e| napi_failure("options", e);
    let object = unsafe { value.cast::<Object>() }.map_err(read)?;
    let mut map = Map::new();
    for key in Object::keys(&object).map_err(read)? {
        let Some(item) = object
            .get::<Unknown>(&key)
            .map_err(|e| napi_failure(&key, e))?
        else {
            continue;
        };
        match option_value(&item, &key)? {
            Some(v) => {
                map.insert(key, v);
            }
            None if item.get_type().ok() == Some(ValueType::Undefined) => {}
            // A value JSON cannot hold (NaN, Infinity, a function, a symbol): the core words
            // the error, with the option's range, from how the value is shown.
            None => {
                return Err(ClientOptions::invalid_value(
                    &key,
                    Casing::Camel,
                    &describe(&item),
                ));
            }
        }
    }
    ClientOptions::from_map(&map, Casing::Camel)
}

/// One option's value as JSON; `None` for `undefined` and values JSON cannot hold. Numbers are
/// kept as they are (`1.9`, `2 ** 32`, `-1`) for the core to refuse.
fn option_value(value: &Unknown<'_>, key: &str) -> Result<Option<Value>, Error> {
    let read = |e| napi_failure(key, e);
    Ok(match value.get_type().map_err(read)? {
        ValueType::Undefined | ValueType::Function | ValueType::Symbol => None,
        ValueType::Number => {
            let n = unsafe { value.cast::<f64>() }.map_err(read)?;
            if n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER {
                Some(Value::from(n as i64))
            } else {
                Number::from_f64(n).map(Value::Number)
            }
        }
        ValueType::BigInt => exact_integer(&unsafe { value.cast::<BigInt>() }.map_err(read)?),
        _ => to_json(value, key, 0)?,
    })
}

/// The options object of a call: `None` when left out (`undefined` or `null`); its own
/// enumerable properties, each one of `names` (`signal` is client.js's and always allowed),
/// those set to `undefined` or `null` left out. `example` shows what the options look like.
pub fn options<'env>(
    value: &Unknown<'env>,
    example: &str,
    names: &[&str],
) -> Result<Vec<(String, Unknown<'env>)>, Error> {
    let read = |e| napi_failure("options", e);
    match value.get_type().map_err(read)? {
        ValueType::Undefined | ValueType::Null => return Ok(Vec::new()),
        ValueType::Object if !value.is_array().unwrap_or(false) => {}
        _ => {
            return Err(Error::invalid(format!(
                "options must be an object such as {example}, not {}",
                kind(value)
            )));
        }
    }
    let object = unsafe { value.cast::<Object>() }.map_err(read)?;
    let mut given = Vec::new();
    for key in Object::keys(&object).map_err(read)? {
        if key == "signal" {
            continue;
        }
        if !names.contains(&key.as_str()) {
            return Err(Error::invalid(format!(
                "unknown option {key:?}; the options are {}",
                names
                    .iter()
                    .chain(&["signal"])
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let item = object
            .get::<Unknown>(&key)
            .map_err(|e| napi_failure(&key, e))?;
        if let Some(item) = item
            && !matches!(item.get_type(), Ok(ValueType::Undefined | ValueType::Null))
        {
            given.push((key, item));
        }
    }
    Ok(given)
}

/// One order id: a string as it is, a bigint or a safe integer in decimal.
pub fn order_id(value: &Unknown<'_>, what: &str) -> Result<String, Error> {
    let read = |e| napi_failure(what, e);
    match value.get_type().map_err(read)? {
        ValueType::String => unsafe { value.cast::<String>() }.map_err(read),
        ValueType::BigInt => {
            let n = unsafe { value.cast::<BigInt>() }.map_err(read)?;
            exact_integer(&n)
                .map(|v| v.to_string())
                .ok_or_else(|| Error::invalid(format!("{what} is a bigint beyond 64 bits")))
        }
        ValueType::Number => {
            let n = unsafe { value.cast::<f64>() }.map_err(read)?;
            if n.fract() != 0.0 || !n.is_finite() {
                Err(Error::invalid(format!("{what} {n} is not an integer")))
            } else if n.abs() > MAX_SAFE_INTEGER {
                Err(Error::invalid(format!(
                    "{what} {n} is above Number.MAX_SAFE_INTEGER and may already be rounded; \
                     pass 1688 order ids as strings or BigInt"
                )))
            } else {
                Ok(format!("{}", n as i64))
            }
        }
        _ => Err(Error::invalid(format!(
            "{what} must be a string, bigint or safe integer, not {}",
            kind(value)
        ))),
    }
}

/// An array of order ids.
pub fn order_ids(value: &Unknown<'_>) -> Result<Vec<String>, Error> {
    if !value.is_array().unwrap_or(false) {
        return Err(Error::invalid(format!(
            "orderIds must be an array, not {}",
            kind(value)
        )));
    }
    let array = unsafe { value.cast::<Array>() }.map_err(|e| napi_failure("orderIds", e))?;
    (0..array.len())
        .map(|i| {
            let what = format!("orderIds[{i}]");
            let item = array
                .get::<Unknown>(i)
                .map_err(|e| napi_failure(&what, e))?;
            match item {
                Some(item) => order_id(&item, &what),
                None => Err(Error::invalid(format!("{what} is missing"))),
            }
        })
        .collect()
}

/// Request parameters: an object (read as JSON.stringify would, see [`Reader`], but keeping
/// integers exact and refusing what JSON.stringify would silently lose), or JSON text for values
/// a JavaScript number cannot hold.
pub fn params(value: Option<&Unknown<'_>>) -> Result<Params, Error> {
    let Some(value) = value else {
        return Ok(Params::new());
    };
    match value.get_type().map_err(|e| napi_failure("params", e))? {
        ValueType::Undefined | ValueType::Null => Ok(Params::new()),
        ValueType::String => {
            let text = unsafe { value.cast::<String>() }.map_err(|e| napi_failure("params", e))?;
            dajisaas::parse_params(&text)
        }
        ValueType::Object if !value.is_array().unwrap_or(false) => {
            match to_json(value, "params", 0)? {
                Some(Value::Object(map)) => Ok(map),
                _ => Err(Error::invalid("params must be an object")),
            }
        }
        _ => Err(Error::invalid(format!(
            "params must be an object or JSON text, not {}",
            kind(value)
        ))),
    }
}

/// A value as JSON, read as `JSON.stringify` reads it; `None` for `undefined` (left out of
/// objects, `null` in arrays, as JSON.stringify does). See [`Reader`].
fn to_json(value: &Unknown<'_>, path: &str, depth: usize) -> Result<Option<Value>, Error> {
    let JsValueParts { env, raw } = parts(value);
    Reader::new(env).read(raw, "", path, depth)
}

struct JsValueParts {
    env: sys::napi_env,
    raw: sys::napi_value,
}

fn parts(value: &Unknown<'_>) -> JsValueParts {
    let inner = value.value();
    JsValueParts {
        env: inner.env,
        raw: inner.value,
    }
}

/// Most elements an array parameter may have (a Proxy may claim any length).
const MAX_ARRAY_LENGTH: u32 = 1_000_000;

/// The global constructors and functions the reader compares values with, fetched once per
/// conversion, when the first object is met.
struct Globals {
    array: sys::napi_value,
    is_array: sys::napi_value,
    number: sys::napi_value,
    string: sys::napi_value,
    boolean: sys::napi_value,
    boolean_value_of: sys::napi_value,
    bigint: sys::napi_value,
    bigint_value_of: sys::napi_value,
    /// Node's `Buffer` (undefined elsewhere).
    buffer: sys::napi_value,
    /// Objects whose data JSON.stringify would silently drop (`{}`): refused.
    refused: [(sys::napi_value, &'static str); 4],
}

/// Reads JavaScript values as `JSON.stringify` does, except where it would silently lose data:
///
/// - `toJSON` is honoured (a `Date` becomes its ISO string; the method gets the property name,
///   the index, or `""` at the top);
/// - boxed primitives are unboxed (`new String('s')` is `"s"`, `new Number(1)` is `1`, `Object(1n)`
///   is `1n`);
/// - objects contribute their own enumerable string-keyed properties, in `Object.keys` order;
///   arrays (anything `Array.isArray` accepts, Proxies of arrays included) their elements;
///   `undefined` is left out of objects and is `null` in arrays;
/// - where JSON.stringify keeps integers only up to 2^53, a `BigInt` of any size is exact (a whole
///   number beyond 2^53 is refused: it may already be rounded);
/// - where JSON.stringify would write `{}` or `null` or leave a value out, the reader refuses it
///   with an `invalid_argument` naming its path: `Buffer`s and other typed arrays, `ArrayBuffer`,
///   `DataView`, `Map`, `Set`, `WeakMap`, `WeakSet`, `Promise` (whatever their `toJSON`),
///   functions, symbols, `NaN` and the infinities.
///
/// An exception thrown by a getter, a Proxy trap, `toJSON` or `valueOf` becomes an
/// `invalid_argument` carrying its message, with the exception as its `cause`.
struct Reader {
    env: sys::napi_env,
    globals: Option<Globals>,
}

impl Reader {
    fn new(env: sys::napi_env) -> Self {
        Reader { env, globals: None }
    }

    /// Turns a failed N-API status into an error naming `path`. A JavaScript exception behind
    /// it (a getter, a Proxy trap, `toJSON` or `valueOf` threw) is left pending: the error goes
    /// straight up to the boundary (errors::boundary_error), which clears it and makes it the
    /// error's cause and the end of its message.
    fn check(&self, status: sys::napi_status, path: &str) -> Result<(), Error> {
        if status == sys::Status::napi_ok {
            return Ok(());
        }
        let mut pending = false;
        unsafe { sys::napi_is_exception_pending(self.env, &mut pending) };
        Err(Error::invalid(if pending {
            format!("{path} could not be read")
        } else {
            format!("{path} could not be read: N-API status {status}")
        }))
    }

    fn take_exception(&self) -> Option<String> {
        crate::errors::take_exception(self.env).map(|(_, text)| text)
    }

    fn type_of(&self, value: sys::napi_value, path: &str) -> Result<ValueType, Error> {
        unsafe { Unknown::from_raw_unchecked(self.env, value) }
            .get_type()
            .map_err(|e| napi_failure(path, e))
    }

    fn named(
        &self,
        object: sys::napi_value,
        name: &CStr,
        path: &str,
    ) -> Result<sys::napi_value, Error> {
        let mut out = std::ptr::null_mut();
        let status =
            unsafe { sys::napi_get_named_property(self.env, object, name.as_ptr(), &mut out) };
        self.check(status, path)?;
        Ok(out)
    }

    fn call(
        &self,
        this: sys::napi_value,
        function: sys::napi_value,
        args: &[sys::napi_value],
        path: &str,
    ) -> Result<sys::napi_value, Error> {
        let mut out = std::ptr::null_mut();
        let status = unsafe {
            sys::napi_call_function(
                self.env,
                this,
                function,
                args.len(),
                args.as_ptr(),
                &mut out,
            )
        };
        self.check(status, path)?;
        Ok(out)
    }

    fn string(&self, text: &str, path: &str) -> Result<sys::napi_value, Error> {
        let mut out = std::ptr::null_mut();
        let status = unsafe {
            sys::napi_create_string_utf8(
                self.env,
                text.as_ptr().cast(),
                text.len() as isize,
                &mut out,
            )
        };
        self.check(status, path)?;
        Ok(out)
    }

    /// A yes/no N-API question (`napi_is_buffer`, ...); `false` if it cannot be answered.
    fn is(
        &self,
        question: unsafe extern "C" fn(
            sys::napi_env,
            sys::napi_value,
            *mut bool,
        ) -> sys::napi_status,
        value: sys::napi_value,
    ) -> bool {
        let mut answer = false;
        let status = unsafe { question(self.env, value, &mut answer) };
        status == sys::Status::napi_ok && answer
    }

    fn instance_of(&self, value: sys::napi_value, constructor: sys::napi_value) -> bool {
        let mut answer = false;
        let status = unsafe { sys::napi_instanceof(self.env, value, constructor, &mut answer) };
        if status != sys::Status::napi_ok {
            // A throwing Symbol.hasInstance: not that kind of object.
            let _ = self.take_exception();
            return false;
        }
        answer
    }

    fn globals(&mut self, path: &str) -> Result<&Globals, Error> {
        if self.globals.is_none() {
            let mut global = std::ptr::null_mut();
            self.check(unsafe { sys::napi_get_global(self.env, &mut global) }, path)?;
            let get = |name: &CStr| self.named(global, name, path);
            let prototype_value_of = |constructor: sys::napi_value| {
                let prototype = self.named(constructor, c"prototype", path)?;
                self.named(prototype, c"valueOf", path)
            };
            let array = get(c"Array")?;
            let boolean = get(c"Boolean")?;
            let bigint = get(c"BigInt")?;
            self.globals = Some(Globals {
                array,
                is_array: self.named(array, c"isArray", path)?,
                number: get(c"Number")?,
                string: get(c"String")?,
                boolean,
                boolean_value_of: prototype_value_of(boolean)?,
                bigint,
                bigint_value_of: prototype_value_of(bigint)?,
                buffer: get(c"Buffer")?,
                refused: [
                    (get(c"Map")?, "a Map"),
                    (get(c"Set")?, "a Set"),
                    (get(c"WeakMap")?, "a WeakMap"),
                    (get(c"WeakSet")?, "a WeakSet"),
                ],
            });
        }
        Ok(self.globals.as_ref().expect("set above"))
    }

    /// What an object is when it is one the reader refuses.
    fn refused_kind(
        &mut self,
        object: sys::napi_value,
        path: &str,
    ) -> Result<Option<&'static str>, Error> {
        if self.is(sys::napi_is_typedarray, object) || self.is(sys::napi_is_buffer, object) {
            let buffer = self.globals(path)?.buffer;
            return Ok(Some(if self.instance_of(object, buffer) {
                "a Buffer"
            } else {
                "a typed array"
            }));
        }
        if self.is(sys::napi_is_arraybuffer, object) {
            return Ok(Some("an ArrayBuffer"));
        }
        if self.is(sys::napi_is_dataview, object) {
            return Ok(Some("a DataView"));
        }
        if self.is(sys::napi_is_promise, object) {
            return Ok(Some("a Promise"));
        }
        let refused = self.globals(path)?.refused;
        Ok(refused
            .iter()
            .find(|(constructor, _)| self.instance_of(object, *constructor))
            .map(|(_, what)| *what))
    }

    /// The primitive inside a boxed primitive (`new String('s')`), as JSON.stringify takes it;
    /// any other object as it is.
    fn unbox(&mut self, object: sys::napi_value, path: &str) -> Result<sys::napi_value, Error> {
        let g = self.globals(path)?;
        let (number, string, boolean, boolean_value_of, bigint, bigint_value_of) = (
            g.number,
            g.string,
            g.boolean,
            g.boolean_value_of,
            g.bigint,
            g.bigint_value_of,
        );
        type Coerce = unsafe extern "C" fn(
            sys::napi_env,
            sys::napi_value,
            *mut sys::napi_value,
        ) -> sys::napi_status;
        let coercions: [(sys::napi_value, Coerce); 2] = [
            (number, sys::napi_coerce_to_number),
            (string, sys::napi_coerce_to_string),
        ];
        for (constructor, coerce) in coercions {
            if self.instance_of(object, constructor) {
                let mut out = std::ptr::null_mut();
                self.check(unsafe { coerce(self.env, object, &mut out) }, path)?;
                return Ok(out);
            }
        }
        for (constructor, value_of) in [(boolean, boolean_value_of), (bigint, bigint_value_of)] {
            if self.instance_of(object, constructor) {
                return self.call(object, value_of, &[], path);
            }
        }
        Ok(object)
    }

    fn is_array(&mut self, object: sys::napi_value, path: &str) -> Result<bool, Error> {
        if self.is(sys::napi_is_array, object) {
            return Ok(true);
        }
        // Array.isArray, which sees through Proxies (napi_is_array does not).
        let (array, is_array) = {
            let g = self.globals(path)?;
            (g.array, g.is_array)
        };
        let answer = self.call(array, is_array, &[object], path)?;
        let mut yes = false;
        unsafe { sys::napi_get_value_bool(self.env, answer, &mut yes) };
        Ok(yes)
    }

    fn read(
        &mut self,
        value: sys::napi_value,
        key: &str,
        path: &str,
        depth: usize,
    ) -> Result<Option<Value>, Error> {
        if depth > MAX_DEPTH {
            return Err(Error::invalid(format!(
                "{path} is nested more than {MAX_DEPTH} levels deep"
            )));
        }
        let refuse = |what: &str| {
            Err(Error::invalid(format!(
                "{path} is {what}, which cannot be signed: pass an object, an array, a string, a \
                 number, a bigint, a boolean or null"
            )))
        };
        let mut value = value;
        let mut kind = self.type_of(value, path)?;
        if kind == ValueType::Object {
            if let Some(what) = self.refused_kind(value, path)? {
                return refuse(what);
            }
            let to_json = self.named(value, c"toJSON", path)?;
            if self.type_of(to_json, path)? == ValueType::Function {
                let key = self.string(key, path)?;
                value = self.call(value, to_json, &[key], path)?;
                kind = self.type_of(value, path)?;
            }
        }
        if kind == ValueType::Object {
            value = self.unbox(value, path)?;
            kind = self.type_of(value, path)?;
        }
        let primitive = unsafe { Unknown::from_raw_unchecked(self.env, value) };
        let read = |e| napi_failure(path, e);
        Ok(Some(match kind {
            ValueType::Undefined => return Ok(None),
            ValueType::Null => Value::Null,
            ValueType::Boolean => Value::Bool(unsafe { primitive.cast::<bool>() }.map_err(read)?),
            ValueType::String => {
                Value::String(unsafe { primitive.cast::<String>() }.map_err(read)?)
            }
            ValueType::BigInt => {
                // Any size: the exact digits are signed and sent.
                let n = unsafe { primitive.cast::<BigInt>() }.map_err(read)?;
                Value::Number(bigint_to_decimal(&n).parse::<Number>().map_err(|e| {
                    Error::invalid(format!("{path} could not be read as an integer: {e}"))
                })?)
            }
            ValueType::Number => {
                let n = unsafe { primitive.cast::<f64>() }.map_err(read)?;
                if !n.is_finite() {
                    return Err(Error::invalid(format!(
                        "{path} is {} and cannot be signed",
                        describe(&primitive)
                    )));
                }
                if n.fract() == 0.0 {
                    if n.abs() > MAX_SAFE_INTEGER {
                        return Err(Error::invalid(format!(
                            "{path} {n} is above Number.MAX_SAFE_INTEGER and may already be \
                             rounded; pass it as a BigInt or a string"
                        )));
                    }
                    Value::from(n as i64)
                } else {
                    Value::Number(
                        Number::from_f64(n)
                            .ok_or_else(|| Error::invalid(format!("{path} is not a number")))?,
                    )
                }
            }
            ValueType::Object => {
                if let Some(what) = self.refused_kind(value, path)? {
                    return refuse(what);
                }
                if self.is_array(value, path)? {
                    self.array(value, path, depth)?
                } else {
                    self.object(value, path, depth)?
                }
            }
            ValueType::Function => return refuse("a function"),
            ValueType::Symbol => return refuse("a symbol"),
            _ => return refuse("an unsupported value"),
        }))
    }

    fn array(&mut self, array: sys::napi_value, path: &str, depth: usize) -> Result<Value, Error> {
        // LengthOfArrayLike, through any Proxy.
        let length = self.named(array, c"length", path)?;
        let mut number = std::ptr::null_mut();
        self.check(
            unsafe { sys::napi_coerce_to_number(self.env, length, &mut number) },
            path,
        )?;
        let length = unsafe { Unknown::from_raw_unchecked(self.env, number).cast::<f64>() }
            .map_err(|e| napi_failure(path, e))?;
        let length = if length.is_nan() || length <= 0.0 {
            0.0
        } else {
            length.floor()
        };
        if length > f64::from(MAX_ARRAY_LENGTH) {
            return Err(Error::invalid(format!(
                "{path} has {length} elements, more than {MAX_ARRAY_LENGTH}"
            )));
        }
        let length = length as u32;
        let mut items = Vec::with_capacity(length as usize);
        for i in 0..length {
            let item_path = format!("{path}[{i}]");
            let mut item = std::ptr::null_mut();
            let status = unsafe { sys::napi_get_element(self.env, array, i, &mut item) };
            self.check(status, &item_path)?;
            let converted = self.read(item, &i.to_string(), &item_path, depth + 1)?;
            items.push(converted.unwrap_or(Value::Null));
        }
        Ok(Value::Array(items))
    }

    fn object(
        &mut self,
        object: sys::napi_value,
        path: &str,
        depth: usize,
    ) -> Result<Value, Error> {
        // Object.keys: own, enumerable, string keys, in property order.
        let mut keys = std::ptr::null_mut();
        let status = unsafe {
            sys::napi_get_all_property_names(
                self.env,
                object,
                sys::KeyCollectionMode::own_only,
                sys::KeyFilter::enumerable | sys::KeyFilter::skip_symbols,
                sys::KeyConversion::numbers_to_strings,
                &mut keys,
            )
        };
        self.check(status, path)?;
        let mut count = 0;
        self.check(
            unsafe { sys::napi_get_array_length(self.env, keys, &mut count) },
            path,
        )?;
        let mut map = Map::new();
        for i in 0..count {
            let mut key = std::ptr::null_mut();
            self.check(
                unsafe { sys::napi_get_element(self.env, keys, i, &mut key) },
                path,
            )?;
            let name = unsafe { Unknown::from_raw_unchecked(self.env, key).cast::<String>() }
                .map_err(|e| napi_failure(path, e))?;
            let item_path = format!("{path}.{name}");
            let mut item = std::ptr::null_mut();
            let status = unsafe { sys::napi_get_property(self.env, object, key, &mut item) };
            self.check(status, &item_path)?;
            if let Some(converted) = self.read(item, &name, &item_path, depth + 1)? {
                map.insert(name, converted);
            }
        }
        Ok(Value::Object(map))
    }
}

/// A bigint's exact decimal digits, whatever its size.
fn bigint_to_decimal(n: &BigInt) -> String {
    const CHUNK: u64 = 10_000_000_000_000_000_000; // 10^19, the largest power of ten in a u64
    let mut words: Vec<u64> = n.words.clone();
    let mut chunks = Vec::new();
    while words.iter().any(|&w| w != 0) {
        // words /= 10^19, most significant word first; the remainder is the next 19 digits.
        let mut rest: u128 = 0;
        for word in words.iter_mut().rev() {
            let current = (rest << 64) | u128::from(*word);
            *word = (current / u128::from(CHUNK)) as u64;
            rest = current % u128::from(CHUNK);
        }
        chunks.push(rest as u64);
        while words.last() == Some(&0) {
            words.pop();
        }
    }
    let mut text = String::new();
    if n.sign_bit && !chunks.is_empty() {
        text.push('-');
    }
    match chunks.split_last() {
        None => text.push('0'),
        Some((most, others)) => {
            text.push_str(&most.to_string());
            for chunk in others.iter().rev() {
                text.push_str(&format!("{chunk:019}"));
            }
        }
    }
    text
}

/// A bigint from decimal digits (an optional `-`, then digits), whatever their number.
fn bigint_from_decimal(text: &str) -> Option<BigInt> {
    let (sign_bit, digits) = match text.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut words: Vec<u64> = vec![0];
    for chunk in digits.as_bytes().chunks(19) {
        let scale = 10u128.pow(chunk.len() as u32);
        // `chunk` is ASCII digits, at most 19 of them: it fits a u64.
        let mut carry: u128 = std::str::from_utf8(chunk).ok()?.parse::<u64>().ok()?.into();
        for word in &mut words {
            let current = u128::from(*word) * scale + carry;
            *word = current as u64;
            carry = current >> 64;
        }
        if carry > 0 {
            words.push(carry as u64);
        }
    }
    Some(BigInt { sign_bit, words })
}

/// JSON from the gateway as JavaScript values, as `JSON.parse` makes them (`1e400` is
/// `Infinity`), except that integers beyond `Number.MAX_SAFE_INTEGER` arrive as `BigInt` with
/// every digit, where `JSON.parse` would round them.
pub struct Json(pub Value);

impl ToNapiValue for Json {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        unsafe { to_js(env, &val.0) }
    }
}

/// Only so that result objects (`#[napi(object)]`, which go both ways) can hold `Json`: results
/// are never read back from JavaScript.
impl FromNapiValue for Json {
    unsafe fn from_napi_value(env: sys::napi_env, napi_val: sys::napi_value) -> napi::Result<Self> {
        unsafe { Value::from_napi_value(env, napi_val) }.map(Json)
    }
}

/// A borrowed value, for the items of arrays and objects.
struct JsonRef<'a>(&'a Value);

impl ToNapiValue for JsonRef<'_> {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        unsafe { to_js(env, val.0) }
    }
}

/// Safety: `env` is the environment of the call being answered (napi's `ToNapiValue` contract).
unsafe fn to_js(env: sys::napi_env, value: &Value) -> napi::Result<sys::napi_value> {
    unsafe {
        match value {
            Value::Null => Null::to_napi_value(env, Null),
            Value::Bool(b) => bool::to_napi_value(env, *b),
            Value::Number(n) => number_to_js(env, n),
            Value::String(s) => <&str>::to_napi_value(env, s),
            Value::Array(items) => {
                let js_env = Env::from_raw(env);
                let mut array = js_env.create_array(items.len() as u32)?;
                for (i, item) in items.iter().enumerate() {
                    array.set(i as u32, JsonRef(item))?;
                }
                Ok(array.raw())
            }
            Value::Object(map) => {
                let js_env = Env::from_raw(env);
                let mut object = Object::new(&js_env)?;
                for (key, item) in map {
                    object.set(key, JsonRef(item))?;
                }
                Ok(object.raw())
            }
        }
    }
}

/// Safety: as [`to_js`].
unsafe fn number_to_js(env: sys::napi_env, n: &Number) -> napi::Result<sys::napi_value> {
    let text = n.as_str();
    unsafe {
        if !text.contains(['.', 'e', 'E']) {
            if let Ok(i) = text.parse::<i64>()
                && i.unsigned_abs() <= MAX_SAFE_INTEGER as u64
            {
                // `-0` stays negative zero, as JSON.parse makes it.
                let float = if i == 0 && text.starts_with('-') {
                    -0.0
                } else {
                    i as f64
                };
                return f64::to_napi_value(env, float);
            }
            if let Some(big) = bigint_from_decimal(text) {
                return BigInt::to_napi_value(env, big);
            }
        }
        // The nearest double, as JSON.parse reads it (`1e400` is Infinity).
        f64::to_napi_value(env, text.parse::<f64>().unwrap_or(f64::NAN))
    }
}

/// `object[name]` as a string, `None` when the object or the field is absent (`undefined`).
pub fn optional_string_field(
    object: Option<&Unknown<'_>>,
    name: &str,
) -> Result<Option<String>, Error> {
    let Some(value) = field(object, name)? else {
        return Ok(None);
    };
    string(&value, name).map(Some)
}

/// `object[name]` as a boolean, required.
pub fn bool_field(object: &Unknown<'_>, name: &str) -> Result<bool, Error> {
    let value = field(Some(object), name)?
        .ok_or_else(|| Error::invalid(format!("{name} is required (true or false)")))?;
    match value.get_type().map_err(|e| napi_failure(name, e))? {
        ValueType::Boolean => unsafe { value.cast::<bool>() }.map_err(|e| napi_failure(name, e)),
        _ => Err(Error::invalid(format!(
            "{name} must be true or false, not {}",
            describe(&value)
        ))),
    }
}

/// A field of an options object; `None` for no object or an `undefined`/`null` field.
fn field<'env>(object: Option<&Unknown<'env>>, name: &str) -> Result<Option<Unknown<'env>>, Error> {
    let Some(object) = object else {
        return Ok(None);
    };
    let read = |e| napi_failure(name, e);
    match object.get_type().map_err(read)? {
        ValueType::Undefined | ValueType::Null => return Ok(None),
        ValueType::Object => {}
        _ => {
            return Err(Error::invalid(format!(
                "options must be an object, not {}",
                kind(object)
            )));
        }
    }
    let object = unsafe { object.cast::<Object>() }.map_err(read)?;
    let value: Option<Unknown> = object.get(name).map_err(read)?;
    Ok(value.filter(|v| !matches!(v.get_type(), Ok(ValueType::Undefined | ValueType::Null))))
}
