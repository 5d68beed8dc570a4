//! [`ParsedRequest`]: the request body, read once, parsed at most once.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;

use crate::doc::{Doc, JsonRef};
use crate::error::Rejection;
use crate::prompt::Prompt;
use crate::protocol::{Endpoint, Protocol};

/// The fields every layer needs, read in the one pass that also validates the JSON.
#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(borrow, default)]
    model: Option<Cow<'a, str>>,
    #[serde(default)]
    stream: Option<bool>,
}

/// The request body, read once by [`ParseLayer`](crate::ParseLayer).
///
/// It holds the raw `Bytes`, the model and `stream` flag (read when the body
/// is validated), and the full JSON, parsed lazily and at most once in each
/// of two forms: a [`Doc`] whose strings stay in the raw bytes, for layers
/// that read ([`view`](Self::view)), and a `serde_json::Value`, for layers
/// that build or edit ([`json`](Self::json)).
/// A layer that changes the body edits a copy through [`json_mut`](Self::json_mut),
/// which marks the request dirty; [`body`](Self::body) then serialises once.
/// An unchanged body is forwarded byte for byte.
///
/// Cloning is cheap (the bytes and the parsed tree are shared), so a retry or a
/// failover replays the request for free; edits are per clone.
///
/// ```
/// use bytes::Bytes;
/// use switchyard_core::{Endpoint, ParsedRequest};
/// let raw = Bytes::from_static(br#"{"model":"gpt-4o","messages":[],"x":1}"#);
/// let mut req = ParsedRequest::parse(Endpoint::ChatCompletions, raw.clone()).unwrap();
/// assert_eq!(req.model(), Some("gpt-4o"));
/// assert_eq!(req.body(), raw); // untouched: the very same bytes
/// req.set_model("gpt-4o-mini").unwrap();
/// assert_eq!(req.body(), Bytes::from_static(br#"{"model":"gpt-4o-mini","messages":[],"x":1}"#));
/// ```
#[derive(Clone, Debug)]
pub struct ParsedRequest {
    endpoint: Endpoint,
    raw: Bytes,
    model: Option<Arc<str>>,
    stream: bool,
    doc: Arc<OnceLock<Doc>>,
    original: Arc<OnceLock<Value>>,
    edited: Option<Value>,
    /// Whether `raw` is no longer the client's (see [`append_field`](Self::append_field)).
    rewritten: bool,
    prompt: Arc<OnceLock<Prompt>>,
}

impl ParsedRequest {
    /// Validates `raw` as a JSON object and reads `model` and `stream` from it.
    ///
    /// The error is a 400 naming the problem (line and column, or the field).
    pub fn parse(endpoint: Endpoint, raw: Bytes) -> Result<Self, Rejection> {
        let peek: Peek<'_> = crate::from_json(&raw).map_err(|e| body_error(&raw, &e))?;
        let model = peek.model.map(|m| Arc::<str>::from(m.as_ref()));
        Ok(ParsedRequest {
            endpoint,
            model,
            stream: peek.stream.unwrap_or(false),
            raw,
            doc: Arc::default(),
            original: Arc::default(),
            edited: None,
            rewritten: false,
            prompt: Arc::default(),
        })
    }

    /// Like [`parse`](Self::parse), but reads the whole body into its
    /// [`Doc`] in the same pass (what [`view`](Self::view) returns), for
    /// stacks that read it anyway. Accepts and refuses the same bodies with
    /// the same errors, except that a repeated key is read as its last
    /// value, not refused.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use switchyard_core::{Endpoint, ParsedRequest};
    /// let raw = Bytes::from_static(br#"{"model":"m","stream":true,"messages":[]}"#);
    /// let req = ParsedRequest::parse_json(Endpoint::ChatCompletions, raw.clone()).unwrap();
    /// assert_eq!((req.model(), req.is_stream()), (Some("m"), true));
    /// assert_eq!(req.view().get("messages").and_then(|m| m.items()).map(|m| m.len()), Some(0));
    /// assert_eq!(req.json()["messages"], serde_json::json!([]));
    /// assert_eq!(req.body(), raw);
    /// let bad = ParsedRequest::parse_json(Endpoint::ChatCompletions, Bytes::from_static(br#"{"model":1}"#));
    /// assert_eq!(bad.unwrap_err().message(), "invalid type for `model`: expected a string");
    /// ```
    pub fn parse_json(endpoint: Endpoint, raw: Bytes) -> Result<Self, Rejection> {
        // The body's buffer becomes the document's text (no copy); `raw`
        // shares it.
        let doc = Doc::read(raw).map_err(|(e, raw)| body_error(&raw, &e))?;
        let raw = doc.body().clone();
        let root = doc.root();
        if !root.is_object() {
            return Err(Rejection::bad_request("request body must be a JSON object"));
        }
        let (model, stream) = model_and_stream(root)?;
        let model = model.map(Arc::<str>::from);
        let stream = stream.unwrap_or(false);
        Ok(ParsedRequest {
            endpoint,
            model,
            stream,
            raw,
            doc: Arc::new(OnceLock::from(doc)),
            original: Arc::default(),
            edited: None,
            rewritten: false,
            prompt: Arc::default(),
        })
    }

    /// A request without a body (`GET /v1/models`).
    pub fn empty(endpoint: Endpoint) -> Self {
        ParsedRequest {
            endpoint,
            raw: Bytes::new(),
            model: None,
            stream: false,
            doc: Arc::default(),
            original: Arc::default(),
            edited: None,
            rewritten: false,
            prompt: Arc::default(),
        }
    }

    /// The endpoint the client called.
    pub fn endpoint(&self) -> Endpoint {
        self.endpoint
    }

    /// The client's protocol family.
    pub fn protocol(&self) -> Protocol {
        self.endpoint.protocol()
    }

    /// The body exactly as the client sent it. Behind the [`Parse`](crate::Parse)
    /// layer it is a buffer of its own (not a view into the connection's read
    /// buffer), so layers may keep a clone of it as long as they like.
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }

    /// The `model` field, as it stands now (after any edit).
    pub fn model(&self) -> Option<&str> {
        self.model.as_deref()
    }

    /// The `model` field as a shared string.
    pub fn model_arc(&self) -> Option<&Arc<str>> {
        self.model.as_ref()
    }

    /// Whether the client asked for a streamed answer (`"stream": true`).
    pub fn is_stream(&self) -> bool {
        self.stream
    }

    /// Whether a layer has changed the body.
    pub fn is_dirty(&self) -> bool {
        self.edited.is_some() || self.rewritten
    }

    /// The JSON tree (the edited one if the body changed), parsed on first use.
    pub fn json(&self) -> &Value {
        match &self.edited {
            Some(v) => v,
            None => self.original(),
        }
    }

    /// The body as it stands now, to read: the client's (its [`Doc`],
    /// read on first use) or, once a layer changed it, the edited tree.
    pub fn view(&self) -> JsonRef<'_> {
        match &self.edited {
            Some(v) => JsonRef::Value(v),
            None => self.doc().root(),
        }
    }

    fn doc(&self) -> &Doc {
        self.doc.get_or_init(|| {
            // `parse` validated the bytes; a failure here is only serde_json's
            // own limits, and an empty object is the honest reading then.
            Doc::parse(self.raw.clone()).unwrap_or_else(|e| {
                if !self.raw.is_empty() {
                    tracing::debug!(error = %e, "request body re-parse failed");
                }
                Doc::empty_object()
            })
        })
    }

    fn original(&self) -> &Value {
        self.original.get_or_init(|| {
            if self.raw.is_empty() {
                return Value::Object(Default::default());
            }
            // `parse` validated the bytes; a failure here is only serde_json's
            // own limits, and an empty object is the honest reading then.
            serde_json::from_slice(&self.raw).unwrap_or_else(|e| {
                tracing::debug!(error = %e, "request body re-parse failed");
                Value::Object(Default::default())
            })
        })
    }

    /// The client's prompt (text, images, tools), read from the body as the
    /// client sent it, on first use and at most once per request.
    pub fn prompt(&self) -> &Prompt {
        self.prompt
            .get_or_init(|| Prompt::from_view(self.endpoint, self.doc().root()))
    }

    /// Reads the prompt again from the body as it stands now (after an edit
    /// that changed its text, such as the guard's redaction), so layers
    /// further in see the edited text.
    pub fn refresh_prompt(&mut self) {
        let prompt = Prompt::from_view(self.endpoint, self.view());
        self.prompt = Arc::new(OnceLock::from(prompt));
    }

    /// A mutable JSON tree; marks the request dirty.
    pub fn json_mut(&mut self) -> &mut Value {
        if self.edited.is_none() {
            self.edited = Some(self.original().clone());
        }
        self.edited.get_or_insert_with(Value::default)
    }

    /// Adds the member `key` (which the body must not have yet) with
    /// `value` at the end of the top-level object, without building a
    /// tree: the body's bytes are rewritten around its closing brace, the
    /// client's formatting kept (once a layer edits the tree, the member
    /// goes into it). `false`, and nothing changed, when the body is not an
    /// object. The prompt stays as it was read.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use switchyard_core::{Endpoint, ParsedRequest};
    /// let raw = Bytes::from_static(b"{\"model\": \"m\", \"stream\": true}\n");
    /// let mut req = ParsedRequest::parse_json(Endpoint::ChatCompletions, raw).unwrap();
    /// assert!(req.append_field("stream_options", &serde_json::json!({"include_usage": true})));
    /// assert!(req.is_dirty());
    /// assert_eq!(&req.body()[..], b"{\"model\": \"m\", \"stream\": true,\"stream_options\":{\"include_usage\":true}}\n");
    /// assert_eq!(req.json()["stream_options"]["include_usage"], true);
    /// ```
    pub fn append_field(&mut self, key: &str, value: &Value) -> bool {
        if let Some(edited) = &mut self.edited {
            let Value::Object(map) = edited else {
                return false;
            };
            map.insert(key.to_owned(), value.clone());
            return true;
        }
        let Some(mut members) = self.view().members() else {
            return false;
        };
        let comma = members.next().is_some();
        let Some(end) = self.raw.iter().rposition(|b| !b.is_ascii_whitespace()) else {
            return false;
        };
        if self.raw.get(end) != Some(&b'}') {
            return false;
        }
        let mut out = Vec::with_capacity(self.raw.len() + key.len() + 64);
        out.extend_from_slice(&self.raw[..end]);
        if comma {
            out.push(b',');
        }
        // A `str` and a `Value` always serialise (into a `Vec`).
        if serde_json::to_writer(&mut out, key).is_err() {
            return false;
        }
        out.push(b':');
        if serde_json::to_writer(&mut out, value).is_err() {
            return false;
        }
        out.extend_from_slice(&self.raw[end..]);
        self.raw = Bytes::from(out);
        self.doc = Arc::default();
        self.original = Arc::default();
        self.rewritten = true;
        true
    }

    /// Sets `model`; a no-op (the body stays untouched) when it is already that.
    pub fn set_model(&mut self, model: &str) -> Result<(), Rejection> {
        if self.model.as_deref() == Some(model) {
            return Ok(());
        }
        let Value::Object(map) = self.json_mut() else {
            return Err(Rejection::bad_request("request body must be a JSON object"));
        };
        map.insert("model".to_owned(), Value::String(model.to_owned()));
        self.model = Some(Arc::from(model));
        Ok(())
    }

    /// The body to forward: the raw bytes if untouched, else the edited tree serialised.
    pub fn body(&self) -> Bytes {
        match &self.edited {
            None => self.raw.clone(),
            Some(v) => match serde_json::to_vec(v) {
                Ok(buf) => Bytes::from(buf),
                // A `Value` always serialises; keep the original rather than panic.
                Err(_) => self.raw.clone(),
            },
        }
    }
}

fn body_error(raw: &[u8], e: &serde_json::Error) -> Rejection {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Rejection::bad_request("request body is empty; expected a JSON object");
    }
    if !e.is_data() {
        return Rejection::bad_request(format!("request body is not valid JSON: {e}"));
    }
    // Valid JSON of the wrong shape: the slow path names the field at fault.
    let Ok(value @ Value::Object(_)) = serde_json::from_slice::<Value>(raw) else {
        return Rejection::bad_request("request body must be a JSON object");
    };
    model_and_stream(JsonRef::from(&value))
        .err()
        .unwrap_or_else(|| Rejection::bad_request(format!("invalid request body: {e}")))
}

/// `model` and `stream` (null counts as absent), each looked up once; the
/// 400 for a `model` that is not a string or a `stream` that is not a boolean.
fn model_and_stream(body: JsonRef<'_>) -> Result<(Option<&str>, Option<bool>), Rejection> {
    let model = match body.get("model") {
        None => None,
        Some(m) if m.is_null() => None,
        Some(m) if m.is_string() => m.as_str(),
        Some(_) => {
            return Err(
                Rejection::bad_request("invalid type for `model`: expected a string")
                    .param("model"),
            );
        }
    };
    let stream = match body.get("stream") {
        None => None,
        Some(s) if s.is_null() => None,
        Some(s) if s.as_bool().is_some() => s.as_bool(),
        Some(_) => {
            return Err(
                Rejection::bad_request("invalid type for `stream`: expected a boolean")
                    .param("stream"),
            );
        }
    };
    Ok((model, stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &'static str) -> Result<ParsedRequest, Rejection> {
        ParsedRequest::parse(Endpoint::ChatCompletions, Bytes::from_static(s.as_bytes()))
    }

    #[test]
    fn reads_model_and_stream() {
        let p = parse(r#"{"stream":true,"messages":[{"role":"user","content":"hi"}],"model":"m"}"#)
            .unwrap();
        assert_eq!(p.model(), Some("m"));
        assert!(p.is_stream());
        assert!(!p.is_dirty());
        assert_eq!(p.json()["messages"][0]["content"], "hi");
    }

    #[test]
    fn escaped_model_is_decoded() {
        let p = parse(r#"{"model":"a\u002fb"}"#).unwrap();
        assert_eq!(p.model(), Some("a/b"));
    }

    #[test]
    fn malformed_json_names_the_problem() {
        let e = parse(r#"{"model": "m", "messages": [}"#).unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(e.message().contains("not valid JSON"), "{}", e.message());
        assert!(e.message().contains("column"), "{}", e.message());
        let e = parse("").unwrap_err();
        assert!(e.message().contains("empty"));
        let e = parse("[1,2]").unwrap_err();
        assert_eq!(e.message(), "request body must be a JSON object");
        let e = parse(r#"{"model": 5}"#).unwrap_err();
        assert!(e.message().contains("`model`"), "{}", e.message());
        let v = e.to_json(Protocol::OpenAi);
        assert_eq!(v["error"]["param"], "model");
        let e = parse(r#"{"model": "m", "stream": "yes"}"#).unwrap_err();
        assert_eq!(e.to_json(Protocol::OpenAi)["error"]["param"], "stream");
        let e = parse(r#"{"model": "m"} trailing"#).unwrap_err();
        assert!(e.message().contains("not valid JSON"), "{}", e.message());
    }

    #[test]
    fn the_eager_parse_accepts_and_refuses_alike() {
        let bodies = [
            r#"{"stream":true,"messages":[{"role":"user","content":"hi"}],"model":"m"}"#,
            r#"{"model":"a\u002fb","stream":null}"#,
            r#"{"model":null,"stream":false}"#,
            r#"{"messages":[]}"#,
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a\u00e9\n"},{"type":"image_url","image_url":{"url":"x"}}]}],"tools":[{}]}"#,
            "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"caf\u{e9} \u{1f600}\"}]}",
            r#"{"model": "m", "messages": [}"#,
            "",
            "  ",
            "[1,2]",
            "7",
            r#"{"model": 5}"#,
            r#"{"model": "m", "stream": "yes"}"#,
            r#"{"model": "m"} trailing"#,
        ];
        for body in bodies {
            let raw = Bytes::from_static(body.as_bytes());
            let light = ParsedRequest::parse(Endpoint::ChatCompletions, raw.clone());
            let eager = ParsedRequest::parse_json(Endpoint::ChatCompletions, raw);
            match (light, eager) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a.model(), b.model(), "{body}");
                    assert_eq!(a.is_stream(), b.is_stream(), "{body}");
                    assert_eq!(a.json(), b.json(), "{body}");
                    assert_eq!(&a.view().to_value(), b.json(), "{body}");
                    assert_eq!(b.view().to_value(), a.view().to_value(), "{body}");
                    assert_eq!(a.prompt(), b.prompt(), "{body}");
                    assert_eq!(a.body(), b.body(), "{body}");
                }
                (Err(a), Err(b)) => assert_eq!(
                    a.to_json(Protocol::OpenAi),
                    b.to_json(Protocol::OpenAi),
                    "{body}"
                ),
                (a, b) => panic!("{body}: {:?} against {:?}", a.is_ok(), b.is_ok()),
            }
        }
    }

    #[test]
    fn set_same_model_keeps_bytes() {
        let raw = r#"{ "model" : "m",   "z": 1, "a": 2 }"#;
        let mut p = parse(raw).unwrap();
        p.set_model("m").unwrap();
        assert!(!p.is_dirty());
        assert_eq!(p.body(), raw.as_bytes());
        p.set_model("n").unwrap();
        assert!(p.is_dirty());
        // key order survives the edit
        assert_eq!(&p.body()[..], br#"{"model":"n","z":1,"a":2}"#);
        // and the view reads the edited body
        assert_eq!(p.view().get("model").and_then(JsonRef::as_str), Some("n"));
        assert_eq!(p.model(), Some("n"));
    }

    #[test]
    fn appended_fields_read_back_whatever_the_body() {
        for (raw, expect) in [
            ("{}", r#"{"k":[1,"\n"]}"#),
            (" { } \n", r#" { "k":[1,"\n"]}"#),
            (r#"{"a":{"b":"}"}}"#, r#"{"a":{"b":"}"},"k":[1,"\n"]}"#),
        ] {
            let mut p = ParsedRequest::parse_json(Endpoint::ChatCompletions, Bytes::from(raw))
                .expect("an object");
            let before = p.clone();
            assert!(p.append_field("k", &serde_json::json!([1, "\n"])), "{raw}");
            assert_eq!(
                String::from_utf8_lossy(&p.body()).trim_end(),
                expect,
                "{raw}"
            );
            assert_eq!(
                p.view().get("k").map(JsonRef::to_value),
                Some(serde_json::json!([1, "\n"]))
            );
            assert_eq!(p.json()["k"][1], "\n");
            // The clone it was made from is untouched.
            assert_eq!(before.body(), raw.as_bytes());
            assert!(before.view().get("k").is_none());
        }
        // After a tree edit the member goes into the tree.
        let mut p = parse(r#"{"model":"m"}"#).unwrap();
        p.set_model("n").unwrap();
        assert!(p.append_field("k", &serde_json::json!(true)));
        assert_eq!(&p.body()[..], br#"{"model":"n","k":true}"#);
        // A body that is not an object is left alone.
        let mut p = ParsedRequest::empty(Endpoint::Models);
        assert!(!p.append_field("k", &serde_json::json!(true)));
        assert!(!p.is_dirty());
    }

    #[test]
    fn clones_share_the_parse_but_not_edits() {
        let p = parse(r#"{"model":"m"}"#).unwrap();
        let _ = p.json();
        let mut q = p.clone();
        q.json_mut()["temperature"] = 1.into();
        assert!(p.json().get("temperature").is_none());
        assert_eq!(q.json()["temperature"], 1);
        assert!(Arc::ptr_eq(&p.original, &q.original));
    }
}
