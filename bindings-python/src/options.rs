//! Client options as Python spells them: the core's options, except that durations are seconds
//! (`timeout=30.0`, or a `datetime.timedelta`) where the core takes milliseconds. [`SECONDS`] is
//! the one table of that conversion, both ways: keyword arguments in, `client.config` out.
//! Ranges, types and defaults stay the core's.

use dajisaas::{Casing, ClientOptions, Error, OptionName, Result};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt};
use serde_json::{Map, Number, Value};

use crate::convert;

/// The durations: the Python name, in seconds, of each core option in milliseconds.
const SECONDS: [(&str, OptionName); 5] = [
    ("timeout", OptionName::TimeoutMs),
    ("connect_timeout", OptionName::ConnectTimeoutMs),
    ("backoff_base", OptionName::BackoffBaseMs),
    ("backoff_cap", OptionName::BackoffCapMs),
    ("journal_timeout", OptionName::JournalTimeoutMs),
];

/// The Python name of a core option.
fn python_name(option: OptionName) -> &'static str {
    SECONDS
        .iter()
        .find(|(_, o)| *o == option)
        .map_or(option.as_str(), |(name, _)| name)
}

/// The keyword options Python takes, in documentation order (the credentials are positional).
fn known() -> Vec<&'static str> {
    OptionName::ALL
        .iter()
        .filter(|o| !matches!(o, OptionName::AppKey | OptionName::AppSecret))
        .map(|o| python_name(*o))
        .collect()
}

/// The core option a Python keyword stands for, and whether it is a duration in seconds.
fn lookup(name: &str) -> Result<(OptionName, bool)> {
    if let Some((_, option)) = SECONDS.iter().find(|(n, _)| *n == name) {
        return Ok((*option, true));
    }
    if let Some((seconds, _)) = SECONDS.iter().find(|(_, o)| o.as_str() == name) {
        return Err(Error::invalid(format!(
            "{name} is not a Python option: Python takes durations in seconds, as {seconds}= \
             (a float such as 30.0, or a datetime.timedelta)"
        )));
    }
    known()
        .into_iter()
        .find(|k| *k == name)
        .and_then(|k| OptionName::ALL.into_iter().find(|o| o.as_str() == k))
        .map(|o| (o, false))
        .ok_or_else(|| {
            Error::invalid(format!(
                "unknown option {name:?}; the options are {}",
                known().join(", ")
            ))
        })
}

/// A duration in seconds (int, float or `datetime.timedelta`) as the core's milliseconds,
/// checked against the core's range for `option`.
fn milliseconds(value: &Bound<'_, PyAny>, name: &str, option: OptionName) -> Result<Value> {
    let wrong = |shown: String| {
        Error::invalid(format!(
            "{name} must be a number of seconds (int, float or datetime.timedelta), not {shown}"
        ))
    };
    let timedelta = value
        .py()
        .import("datetime")
        .and_then(|m| m.getattr("timedelta"))
        .map_err(|e| Error::invalid(e.to_string()))?;
    let seconds = if value.is_none() {
        return Ok(Value::Null); // left out
    } else if value.is_instance(&timedelta).unwrap_or(false) {
        value
            .call_method0("total_seconds")
            .and_then(|s| s.extract::<f64>())
            .map_err(|e| wrong(e.to_string()))?
    } else if !value.is_instance_of::<PyBool>()
        && (value.is_instance_of::<PyInt>() || value.is_instance_of::<PyFloat>())
    {
        value.extract::<f64>().unwrap_or(f64::INFINITY)
    } else {
        let shown = value.get_type().name().map(|n| n.to_string());
        return Err(wrong(shown.unwrap_or_else(|_| "?".into())));
    };
    let ms = Number::from_f64((seconds * 1000.0).round())
        .map(Value::Number)
        .ok_or_else(|| wrong(seconds.to_string()))?;
    // Whole milliseconds as an integer, so that the core takes them; checked alone, so that the
    // error names the Python option.
    let ms = ms
        .as_f64()
        .filter(|f| *f >= 0.0 && *f <= u64::MAX as f64)
        .map_or(ms, |f| Value::from(f as u64));
    let alone = Map::from_iter([(option.as_str().to_string(), ms.clone())]);
    ClientOptions::from_map(&alone, Casing::Snake).map_err(|e| {
        Error::invalid(format!(
            "{name}={seconds} seconds is out of range ({})",
            e.message()
        ))
    })?;
    Ok(ms)
}

/// `flush_journal`'s `timeout`: seconds as the options take them, in `journal_timeout`'s range;
/// `None` (the client's `journal_timeout`) when left out.
pub fn flush_timeout(value: Option<&Bound<'_, PyAny>>) -> Result<Option<std::time::Duration>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    let ms = milliseconds(value, "timeout", OptionName::JournalTimeoutMs)?;
    Ok(ms.as_u64().map(std::time::Duration::from_millis))
}

/// The core client for `Client(app_key, app_secret, **keywords)`.
pub fn build(
    app_key: &Bound<'_, PyAny>,
    app_secret: &Bound<'_, PyAny>,
    keywords: Option<&Bound<'_, PyDict>>,
) -> Result<dajisaas::AsyncClient> {
    let mut given = Vec::new();
    for (name, value) in keywords.into_iter().flat_map(|k| k.iter()) {
        // Keyword names are always str.
        let name = name
            .extract::<String>()
            .map_err(|e| Error::invalid(format!("an option name could not be read: {e}")))?;
        given.push((lookup(&name)?, name, value));
    }
    let mut map = Map::new();
    map.insert("app_key".into(), convert::option(app_key, "app_key")?);
    map.insert(
        "app_secret".into(),
        convert::option(app_secret, "app_secret")?,
    );
    for ((option, seconds), name, value) in given {
        let value = if seconds {
            milliseconds(&value, &name, option)?
        } else {
            convert::option(&value, &name)?
        };
        map.insert(option.as_str().to_string(), value);
    }
    ClientOptions::from_map(&map, Casing::Snake)?.build_async()
}

/// The core's effective options (`Config::to_json`) as Python shows them: durations in seconds,
/// under their Python names.
pub fn shown(map: Map<String, Value>) -> Map<String, Value> {
    map.into_iter()
        .map(
            |(key, value)| match SECONDS.iter().find(|(_, o)| o.as_str() == key) {
                Some((name, _)) => {
                    let seconds = value.as_f64().map(|ms| ms / 1000.0);
                    let seconds = seconds
                        .and_then(Number::from_f64)
                        .map_or(value, Value::Number);
                    (name.to_string(), seconds)
                }
                None => (key, value),
            },
        )
        .collect()
}
