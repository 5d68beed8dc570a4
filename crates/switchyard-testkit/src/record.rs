//! What the fake saw.

use bytes::Bytes;
use http::{HeaderMap, Method, Uri, Version};

/// One request as the fake upstream received it, recorded before it answers.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// Request method.
    pub method: Method,
    /// The full URI as received: origin-form (`/v1/models?x=1`) from a
    /// client, absolute-form (`http://host/v1/models`) from an HTTP proxy.
    pub uri: Uri,
    /// `uri.path()`, for convenience.
    pub path: String,
    /// The HTTP version it came over (HTTP/2 from a client with prior knowledge).
    pub version: Version,
    /// Request headers.
    pub headers: HeaderMap,
    /// The whole request body.
    pub body: Bytes,
}

impl Recorded {
    /// The body parsed as JSON, or `Value::Null` if it is not JSON (a GET
    /// has an empty body).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The value of a header as a string, if present and valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}
