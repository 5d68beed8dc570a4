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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

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
