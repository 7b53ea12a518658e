//! JavaScript values to and from the core's types. Conversion only: what the values mean
//! (order-id shape, option ranges, limits) is validated by the core. Every argument arrives as
//! `Unknown` and is converted here, so that a value of the wrong type is a `DajisaasError`
//! (`invalid_argument`) naming the argument, never napi's own error.

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

fn napi_failure(what: &str, e: napi::Error) -> Error {
    Error::invalid(format!("{what} could not be read: {}", e.reason))
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
fn whole_number(
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

/// The options of `payUrls`: `{ batchSize }`, each optional.
pub fn pay_urls_batch_size(value: Option<&Unknown<'_>>) -> Result<Option<usize>, Error> {
    let Some(value) = value else { return Ok(None) };
    match value.get_type().map_err(|e| napi_failure("options", e))? {
        ValueType::Undefined | ValueType::Null => return Ok(None),
        ValueType::Object if !value.is_array().unwrap_or(false) => {}
        _ => {
            return Err(Error::invalid(format!(
                "options must be an object such as {{ batchSize: 10 }}, not {}",
                kind(value)
            )));
        }
    }
    let read = |e| napi_failure("options", e);
    let object = unsafe { value.cast::<Object>() }.map_err(read)?;
    let mut batch_size = None;
    for key in Object::keys(&object).map_err(read)? {
        if key != "batchSize" {
            return Err(Error::invalid(format!(
                "unknown option {key:?}; the options are batchSize"
            )));
        }
        if let Some(item) = object.get::<Unknown>(&key).map_err(read)? {
            // The core checks the range as well, but names it batch_size.
            let range = 1..=dajisaas::MAX_IDS_PER_LINK as u64;
            batch_size = whole_number(&item, "batchSize", range)?.map(|n| n as usize);
        }
    }
    Ok(batch_size)
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

/// Request parameters: an object (converted like JSON.stringify would, but keeping integers
/// exact), or JSON text for values a JavaScript number cannot hold.
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

/// `None` for `undefined` (left out of objects, like JSON.stringify does).
fn to_json(value: &Unknown<'_>, path: &str, depth: usize) -> Result<Option<Value>, Error> {
    if depth > MAX_DEPTH {
        return Err(Error::invalid(format!(
            "{path} is nested more than {MAX_DEPTH} levels deep"
        )));
    }
    let read = |e| napi_failure(path, e);
    Ok(Some(match value.get_type().map_err(read)? {
        ValueType::Undefined => return Ok(None),
        ValueType::Null => Value::Null,
        ValueType::Boolean => Value::Bool(unsafe { value.cast::<bool>() }.map_err(read)?),
        ValueType::String => Value::String(unsafe { value.cast::<String>() }.map_err(read)?),
        ValueType::BigInt => {
            // Any size: the exact digits are signed and sent.
            let n = unsafe { value.cast::<BigInt>() }.map_err(read)?;
            Value::Number(bigint_to_decimal(&n).parse::<Number>().map_err(|e| {
                Error::invalid(format!("{path} could not be read as an integer: {e}"))
            })?)
        }
        ValueType::Number => {
            let n = unsafe { value.cast::<f64>() }.map_err(read)?;
            if !n.is_finite() {
                return Err(Error::invalid(format!(
                    "{path} is {n} and cannot be signed"
                )));
            }
            if n.fract() == 0.0 {
                if n.abs() > MAX_SAFE_INTEGER {
                    return Err(Error::invalid(format!(
                        "{path} {n} is above Number.MAX_SAFE_INTEGER and may already be rounded; \
                         pass it as a BigInt or a string"
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
        ValueType::Object if value.is_array().map_err(read)? => {
            let array = unsafe { value.cast::<Array>() }.map_err(read)?;
            let mut items = Vec::with_capacity(array.len() as usize);
            for i in 0..array.len() {
                let item_path = format!("{path}[{i}]");
                let item = array
                    .get::<Unknown>(i)
                    .map_err(|e| napi_failure(&item_path, e))?;
                let converted = match item {
                    Some(item) => to_json(&item, &item_path, depth + 1)?,
                    None => None,
                };
                items.push(converted.unwrap_or(Value::Null));
            }
            Value::Array(items)
        }
        ValueType::Object => {
            let object = unsafe { value.cast::<Object>() }.map_err(read)?;
            let mut map = Map::new();
            for key in Object::keys(&object).map_err(read)? {
                let item_path = format!("{path}.{key}");
                let item = object
                    .get::<Unknown>(&key)
                    .map_err(|e| napi_failure(&item_path, e))?;
                if let Some(item) = item
                    && let Some(converted) = to_json(&item, &item_path, depth + 1)?
                {
                    map.insert(key, converted);
                }
            }
            Value::Object(map)
        }
        _ => {
            return Err(Error::invalid(format!(
                "{path} is {}, which cannot be signed",
                kind(value)
            )));
        }
    }))
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
