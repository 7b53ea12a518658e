//! JavaScript values to and from the core's types. Conversion only: what the values mean
//! (order-id shape, limits) is validated by the core.

use dajisaas::{Error, ErrorCode, Params};
use napi::bindgen_prelude::{Array, BigInt, Object};
use napi::{JsValue, Unknown, ValueType};
use serde_json::{Map, Number, Value};

const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;
/// Deep enough for any real request; stops runaway structures.
const MAX_DEPTH: usize = 64;

fn invalid(message: String) -> Error {
    Error::new(ErrorCode::InvalidArgument, message)
}

fn kind(value: &Unknown<'_>) -> &'static str {
    match value.get_type() {
        Ok(ValueType::Undefined) => "undefined",
        Ok(ValueType::Null) => "null",
        Ok(ValueType::Boolean) => "a boolean",
        Ok(ValueType::Number) => "a number",
        Ok(ValueType::String) => "a string",
        Ok(ValueType::Symbol) => "a symbol",
        Ok(ValueType::Object) => "an object",
        Ok(ValueType::Function) => "a function",
        Ok(ValueType::BigInt) => "a bigint",
        _ => "an unsupported value",
    }
}

fn napi_failure(what: &str, e: napi::Error) -> Error {
    invalid(format!("{what} could not be read: {}", e.reason))
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

/// One order id: a string as it is, a bigint or a safe integer in decimal.
pub fn order_id(value: &Unknown<'_>, what: &str) -> Result<String, Error> {
    let read = |e| napi_failure(what, e);
    match value.get_type().map_err(read)? {
        ValueType::String => unsafe { value.cast::<String>() }.map_err(read),
        ValueType::BigInt => {
            let n = unsafe { value.cast::<BigInt>() }.map_err(read)?;
            exact_integer(&n)
                .map(|v| v.to_string())
                .ok_or_else(|| invalid(format!("{what} is a bigint beyond 64 bits")))
        }
        ValueType::Number => {
            let n = unsafe { value.cast::<f64>() }.map_err(read)?;
            if n.fract() != 0.0 || !n.is_finite() {
                Err(invalid(format!("{what} {n} is not an integer")))
            } else if n.abs() > MAX_SAFE_INTEGER {
                Err(invalid(format!(
                    "{what} {n} is above Number.MAX_SAFE_INTEGER and may already be rounded; \
                     pass 1688 order ids as strings or BigInt"
                )))
            } else {
                Ok(format!("{}", n as i64))
            }
        }
        _ => Err(invalid(format!(
            "{what} must be a string, bigint or safe integer, not {}",
            kind(value)
        ))),
    }
}

/// An array of order ids.
pub fn order_ids(value: &Unknown<'_>) -> Result<Vec<String>, Error> {
    if !value.is_array().unwrap_or(false) {
        return Err(invalid(format!(
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
                None => Err(invalid(format!("{what} is missing"))),
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
                _ => Err(invalid("params must be an object".into())),
            }
        }
        _ => Err(invalid(format!(
            "params must be an object or JSON text, not {}",
            kind(value)
        ))),
    }
}

/// `None` for `undefined` (left out of objects, like JSON.stringify does).
fn to_json(value: &Unknown<'_>, path: &str, depth: usize) -> Result<Option<Value>, Error> {
    if depth > MAX_DEPTH {
        return Err(invalid(format!(
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
            let n = unsafe { value.cast::<BigInt>() }.map_err(read)?;
            exact_integer(&n)
                .ok_or_else(|| invalid(format!("{path} is a bigint beyond 64 bits")))?
        }
        ValueType::Number => {
            let n = unsafe { value.cast::<f64>() }.map_err(read)?;
            if !n.is_finite() {
                return Err(invalid(format!("{path} is {n} and cannot be signed")));
            }
            if n.fract() == 0.0 {
                if n.abs() > MAX_SAFE_INTEGER {
                    return Err(invalid(format!(
                        "{path} {n} is above Number.MAX_SAFE_INTEGER and may already be rounded; \
                         pass it as a BigInt or a string"
                    )));
                }
                Value::from(n as i64)
            } else {
                Value::Number(
                    Number::from_f64(n)
                        .ok_or_else(|| invalid(format!("{path} is not a number")))?,
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
            return Err(invalid(format!(
                "{path} is {}, which cannot be signed",
                kind(value)
            )));
        }
    }))
}
