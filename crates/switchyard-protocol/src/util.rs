//! Small helpers for reading loosely typed JSON.

use serde_json::{Map, Value};

/// `v[key]` as a string.
pub(crate) fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// `v[key]` as a string, owned.
pub(crate) fn string(v: &Value, key: &str) -> Option<String> {
    str_of(v, key).map(str::to_owned)
}

/// `v[key]` as a float.
pub(crate) fn f64_of(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

/// `v[key]` as an unsigned integer.
pub(crate) fn u64_of(v: &Value, key: &str) -> Option<u64> {
    v.get(key).and_then(Value::as_u64)
}

/// `v[key]` as an integer.
pub(crate) fn i64_of(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

/// `v[key]` if present and not null.
pub(crate) fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key).filter(|x| !x.is_null())
}

/// `v[key]` as an array (empty if absent).
pub(crate) fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Inserts `key: value` when `value` is `Some`.
pub(crate) fn put<T: Into<Value>>(map: &mut Map<String, Value>, key: &str, value: Option<T>) {
    if let Some(v) = value {
        map.insert(key.to_owned(), v.into());
    }
}

/// A string or a list of strings, as a list.
pub(crate) fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// Logs a field the target format cannot express.
pub(crate) fn dropped(field: &str, target: &str) {
    tracing::debug!(
        field,
        target,
        "field cannot be expressed in the target format; dropped"
    );
}

/// Unix seconds now.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A short deterministic hash of `s`, as hex (for ids derived from content).
pub(crate) fn hash_hex(s: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// A fresh id with `prefix`, unique in this process.
pub(crate) fn fresh_id(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{prefix}{}", &hash_hex(&format!("{t}-{n}"))[..16])
}

/// Logs the top-level fields of a request that the IR does not carry.
pub(crate) fn log_unknown(body: &serde_json::Value, known: &[&str], format: &str) {
    if let Some(map) = body.as_object() {
        for key in map.keys() {
            if !known.contains(&key.as_str()) {
                tracing::debug!(field = %key, format, "request field not carried by the translation; dropped");
            }
        }
    }
}
