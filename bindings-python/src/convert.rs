//! Python values to and from the core's types. Conversion only: validation of what the values
//! mean (order-id shape, limits, option ranges) is the core's.

use dajisaas::{Error, Params};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyMapping, PyString, PyTuple};
use serde_json::{Map, Number, Value};

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// One order id: a `str` as it is, an `int` in decimal; `bool` and everything else refused.
pub fn order_id(obj: &Bound<'_, PyAny>, what: &str) -> Result<String, Error> {
    if obj.is_instance_of::<PyBool>() {
        return Err(Error::invalid(format!(
            "{what} must be a str or int, not bool"
        )));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return s
            .to_cow()
            .map(|c| c.into_owned())
            .map_err(|_| Error::invalid(format!("{what} is not valid UTF-8 text")));
    }
    // `operator.index` semantics: an int, an int subclass (its value, not its own `__str__`),
    // or any integer that implements `__index__` (numpy.int64, numpy.uint64).
    if obj.is_instance_of::<PyInt>() || obj.hasattr("__index__").unwrap_or(false) {
        let py = obj.py();
        // SAFETY: PyNumber_Index takes a borrowed object and returns a new reference or NULL
        // with an exception set, which `from_owned_ptr_or_err` takes over.
        let index =
            unsafe { Bound::from_owned_ptr_or_err(py, pyo3::ffi::PyNumber_Index(obj.as_ptr())) };
        return index
            .and_then(|int| py.get_type::<PyInt>().call_method1("__repr__", (int,)))
            .and_then(|digits| digits.extract::<String>())
            .map_err(|e| Error::invalid(format!("{what} could not be read as an integer: {e}")));
    }
    Err(Error::invalid(format!(
        "{what} must be a str or int, not {}",
        type_name(obj)
    )))
}

/// A sequence of order ids (list, tuple or any iterable that is not text).
pub fn order_ids(obj: &Bound<'_, PyAny>) -> Result<Vec<String>, Error> {
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
        return Err(Error::invalid(format!(
            "order_ids must be a list of order ids, not a single {}",
            type_name(obj)
        )));
    }
    let items = obj.try_iter().map_err(|_| {
        Error::invalid(format!(
            "order_ids must be a list of order ids, not {}",
            type_name(obj)
        ))
    })?;
    let mut ids = Vec::new();
    for (i, item) in items.enumerate() {
        let item = item.map_err(|e| Error::invalid(format!("order_ids could not be read: {e}")))?;
        ids.push(order_id(&item, &format!("orderIds[{i}]"))?);
    }
    Ok(ids)
}

/// Request parameters: any `collections.abc.Mapping` with `str` keys (or `None`: no parameters).
pub fn params(obj: Option<&Bound<'_, PyAny>>) -> Result<Params, Error> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Params::new());
    };
    match to_json(obj, "params", 0, Numbers::Exact)? {
        Value::Object(map) => Ok(map),
        _ => Err(Error::invalid(format!(
            "params must be a mapping (such as a dict), not {}",
            type_name(obj)
        ))),
    }
}

/// One client option (or credential) as JSON, for `ClientOptions::from_map`, which checks its type
/// and range. An int beyond 64 bits is passed on as the nearest float, so that the core reports
/// it as out of range, naming the option and its range.
pub fn option(obj: &Bound<'_, PyAny>, name: &str) -> Result<Value, Error> {
    to_json(obj, name, 0, Numbers::Nearest)
}

/// What the converter does with an int beyond 64 bits.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Numbers {
    /// Keep its exact digits: a signed parameter is sent as given.
    Exact,
    /// Pass an int beyond 64 bits on as the nearest float (the largest float if it is beyond
    /// every float): options are small numbers, and the core says which range they take.
    Nearest,
}

/// Deep enough for any real request; stops runaway or cyclic structures.
const MAX_DEPTH: usize = 64;

fn to_json(
    obj: &Bound<'_, PyAny>,
    path: &str,
    depth: usize,
    numbers: Numbers,
) -> Result<Value, Error> {
    if depth > MAX_DEPTH {
        return Err(Error::invalid(format!(
            "{path} is nested more than {MAX_DEPTH} levels deep"
        )));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        let text = s
            .to_cow()
            .map_err(|_| Error::invalid(format!("{path} is not valid UTF-8 text")))?;
        return Ok(Value::String(text.into_owned()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(n) = obj.extract::<i64>() {
            return Ok(Value::from(n));
        }
        if let Ok(n) = obj.extract::<u64>() {
            return Ok(Value::from(n));
        }
        if numbers == Numbers::Exact {
            // Beyond 64 bits: the exact decimal digits, signed as they are (`int.__repr__`, so
            // that an int subclass such as an IntEnum member gives its digits, not its name).
            let digits = obj
                .py()
                .get_type::<PyInt>()
                .call_method1("__repr__", (obj,))
                .and_then(|s| s.extract::<String>())
                .map_err(|e| Error::invalid(format!("{path} could not be read: {e}")))?;
            return digits
                .parse::<Number>()
                .map(Value::Number)
                .map_err(|e| Error::invalid(format!("{path} is not a decimal integer: {e}")));
        }
        // An option: `float(n)` raises OverflowError beyond about 1.8e308: the largest float
        // then; the core says which range the option takes.
        let nearest = obj.extract::<f64>().unwrap_or_else(|_| {
            let negative = obj.lt(0).unwrap_or(false);
            if negative { f64::MIN } else { f64::MAX }
        });
        return Number::from_f64(nearest)
            .map(Value::Number)
            .ok_or_else(|| Error::invalid(format!("{path} is not a finite number")));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| match numbers {
                Numbers::Exact => {
                    Error::invalid(format!("{path} is {} and cannot be signed", f.value()))
                }
                Numbers::Nearest => {
                    Error::invalid(format!("{path} is {}, not a finite number", f.value()))
                }
            });
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        return object(dict.iter(), path, depth, numbers);
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for (i, item) in obj
            .try_iter()
            .map_err(|e| Error::invalid(e.to_string()))?
            .enumerate()
        {
            let item = item.map_err(|e| Error::invalid(e.to_string()))?;
            items.push(to_json(&item, &format!("{path}[{i}]"), depth + 1, numbers)?);
        }
        return Ok(Value::Array(items));
    }
    if let Ok(mapping) = obj.cast::<PyMapping>() {
        // Any other collections.abc.Mapping: MappingProxyType, ChainMap, user classes.
        let items = mapping
            .items()
            .map_err(|e| Error::invalid(format!("{path} could not be read: {e}")))?;
        let mut pairs = Vec::with_capacity(items.len());
        for item in items.iter() {
            let pair = item
                .extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>()
                .map_err(|e| Error::invalid(format!("{path} could not be read: {e}")))?;
            pairs.push(pair);
        }
        return object(pairs.into_iter(), path, depth, numbers);
    }
    Err(Error::invalid(match numbers {
        Numbers::Exact => format!(
            "{path} is a {}; params take str, int, float, bool, None, list, tuple and mappings",
            type_name(obj)
        ),
        Numbers::Nearest => format!("{path} is a {}, which no option takes", type_name(obj)),
    }))
}

/// A JSON object from the key-value pairs of a mapping; keys must be `str`.
fn object<'py>(
    pairs: impl Iterator<Item = (Bound<'py, PyAny>, Bound<'py, PyAny>)>,
    path: &str,
    depth: usize,
    numbers: Numbers,
) -> Result<Value, Error> {
    let mut map = Map::new();
    for (key, value) in pairs {
        let key = key
            .cast::<PyString>()
            .ok()
            .and_then(|k| k.to_cow().ok().map(|c| c.into_owned()))
            .ok_or_else(|| Error::invalid(format!("{path} has a key that is not a str: {key}")))?;
        let value = to_json(&value, &format!("{path}[{key:?}]"), depth + 1, numbers)?;
        map.insert(key, value);
    }
    Ok(Value::Object(map))
}

/// JSON from the gateway as plain Python dicts, lists and scalars.
pub fn to_python<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => number_to_python(py, n)?,
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_python(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, to_python(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// A number as Python's `json.loads` reads it: an integer (any size) as `int`, anything with a
/// fraction or an exponent as the nearest `float` (`1e400` is `inf`). The core keeps every
/// number's exact text, so a 22-digit integer arrives with all its digits.
fn number_to_python<'py>(py: Python<'py>, n: &Number) -> PyResult<Bound<'py, PyAny>> {
    if let Some(i) = n.as_i64() {
        return Ok(i.into_pyobject(py)?.into_any());
    }
    if let Some(u) = n.as_u64() {
        return Ok(u.into_pyobject(py)?.into_any());
    }
    let text = n.as_str();
    if !text.contains(['.', 'e', 'E']) {
        return py.get_type::<PyInt>().call1((text,));
    }
    let float: f64 = text
        .parse()
        .map_err(|_| PyTypeError::new_err(format!("unreadable number {text}")))?;
    Ok(PyFloat::new(py, float).into_any())
}
