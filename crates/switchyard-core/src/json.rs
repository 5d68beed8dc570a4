//! [`from_json`]: JSON from bytes, with the UTF-8 check done once.

use serde::Deserialize;

/// Parses JSON from `bytes` as `serde_json::from_slice` does, but checks
/// the UTF-8 of the whole input in one pass first and then reads it as a
/// `str`: `from_slice` checks each string it reads separately, a call per
/// string (about a third of the cost of reading a stream chunk or an
/// answer). Input that is not UTF-8 is handed to `from_slice`, for the same
/// error with its position.
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Chunk<'a> {
///     #[serde(borrow)]
///     model: &'a str,
/// }
/// let c: Chunk<'_> = switchyard_core::from_json(br#"{"model":"m","x":[1]}"#).unwrap();
/// assert_eq!(c.model, "m");
/// assert!(switchyard_core::from_json::<serde_json::Value>(b"{\"a\":\"\xff\"}").is_err());
/// ```
pub fn from_json<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    }
}

/// `map[key]`, by a scan for small objects. serde_json's insertion-ordered
/// map (the `preserve_order` feature) hashes every looked-up key with the
/// standard library's SipHash, a hundred-odd instructions for a short key;
/// the objects of a request (a message, a content part) have a handful of
/// keys, which a scan compares in fewer.
///
/// ```
/// let v = serde_json::json!({"role": "user", "content": "hi"});
/// let m = v.as_object().unwrap();
/// assert_eq!(switchyard_core::json_field(m, "content"), Some(&v["content"]));
/// assert_eq!(switchyard_core::json_field(m, "name"), None);
/// ```
pub fn json_field<'a>(
    map: &'a serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Option<&'a serde_json::Value> {
    if map.len() <= 8 {
        map.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v)
    } else {
        map.get(key)
    }
}

/// [`json_field`] of a value that is an object; `None` for any other value.
pub fn json_get<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a serde_json::Value> {
    json_field(v.as_object()?, key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn fields_are_found_in_small_and_large_objects() {
        let mut m = serde_json::Map::new();
        for n in 0..20 {
            m.insert(format!("k{n}"), Value::from(n));
            for k in 0..=n {
                assert_eq!(json_field(&m, &format!("k{k}")), Some(&Value::from(k)));
            }
            assert_eq!(json_field(&m, "absent"), None);
        }
        assert_eq!(json_get(&Value::from(1), "k0"), None);
    }

    #[test]
    fn same_answers_and_errors_as_from_slice() {
        let inputs: [&[u8]; 8] = [
            br#"{"a":"x\"y","b":[1,2.5,null,true],"c":{"d":"\u00e9\ud83d\ude00"}}"#,
            "{\"a\":\"h\u{e9}llo\"}".as_bytes(),
            b"{\"a\":\"\xff\"}",
            b"{\"a\":1,}",
            b"",
            b"[1, 2",
            b"\xef\xbb\xbf{}",
            b"\"\\ud800\"",
        ];
        for input in inputs {
            let ours = from_json::<Value>(input).map_err(|e| e.to_string());
            let theirs = serde_json::from_slice::<Value>(input).map_err(|e| e.to_string());
            assert_eq!(ours, theirs, "{}", String::from_utf8_lossy(input));
        }
    }
}
