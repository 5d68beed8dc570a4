//! Header helpers shared by the layers.

use http::{HeaderMap, HeaderName};

/// Removes every header named in `names`.
///
/// One pass over the map's names decides whether any is there: most requests
/// and answers carry none of the names stripped (hop-by-hop headers, client
/// keys), and a `remove` per absent name costs a hash and a probe each (~375
/// instructions apiece with `&str` names, which are parsed first).
pub fn remove_headers(headers: &mut HeaderMap, names: &[HeaderName]) {
    if !headers.keys().any(|k| names.contains(k)) {
        return;
    }
    for name in names {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use http::header::{CONNECTION, CONTENT_TYPE, TE};

    #[test]
    fn removes_every_value_of_the_named_headers_and_nothing_else() {
        let custom = HeaderName::from_static("x-api-key");
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        h.append(CONNECTION, HeaderValue::from_static("close"));
        h.append(CONNECTION, HeaderValue::from_static("x-foo"));
        h.insert(custom.clone(), HeaderValue::from_static("k"));
        h.insert("x-other", HeaderValue::from_static("v"));
        remove_headers(&mut h, &[TE, CONNECTION, custom.clone()]);
        assert!(!h.contains_key(CONNECTION));
        assert!(!h.contains_key(&custom));
        assert_eq!(h.len(), 2);
        assert_eq!(h[CONTENT_TYPE], "application/json");
        assert_eq!(h["x-other"], "v");
        // None present: the map is left as it is.
        remove_headers(&mut h, &[TE, CONNECTION]);
        assert_eq!(h.len(), 2);
        // A custom name matches however it was built.
        let mut h = HeaderMap::new();
        h.insert(
            HeaderName::from_bytes(b"X-Api-Key").unwrap(),
            HeaderValue::from_static("k"),
        );
        remove_headers(&mut h, &[custom]);
        assert!(h.is_empty());
    }
}
