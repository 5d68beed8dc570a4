//! [`Doc`]: a request body's JSON as a flat tree whose strings stay in the
//! body's bytes, and [`JsonRef`], a read-only view of it or of a
//! `serde_json::Value`.
//!
//! serde_json's `Value` gives every string its own allocation and every
//! object an insertion-ordered map that hashes each key with SipHash: for a
//! chat body, more than the rest of reading it. The layers that only read
//! the body (the guard, the prompt, the limits) need neither: a `Doc` keeps
//! all nodes in one vector, its strings as ranges of the body (only a
//! string with an escape is decoded, into one shared buffer), and looks a
//! key up by comparing the few keys an object of a request has.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

mod fast;

/// One value. Offsets and counts are `u32` (a body is refused past 4 GiB),
/// so a node takes 16 bytes (a `serde_json::Value` with its ordered map
/// inline takes 72, each of its strings and objects an allocation more).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Node {
    Null,
    Bool(bool),
    /// serde_json reads every non-negative integer as a `u64`.
    Uint(u64),
    /// ... and only negative ones as an `i64`.
    Int(i64),
    Float(f64),
    /// A string without escapes: `len` bytes of the body at `start`.
    Str {
        start: u32,
        len: u32,
    },
    /// A string with escapes, decoded: `len` bytes of [`Doc::decoded`] at `start`.
    Decoded {
        start: u32,
        len: u32,
    },
    /// `len` elements at `nodes[first..]`.
    Array {
        first: u32,
        len: u32,
    },
    /// `len` members at `nodes[first..]`, each a key (a string) and its value.
    Object {
        first: u32,
        len: u32,
    },
}

/// A JSON document read from a body, sharing the body's bytes.
///
/// It accepts and refuses exactly what `serde_json::from_slice::<Value>`
/// does, with the same errors (serde_json reads whatever its own quick
/// reader is not sure of); like `Value`, a repeated key reads as its last
/// value.
///
/// ```
/// use bytes::Bytes;
/// use switchyard_core::Doc;
/// let doc = Doc::parse(Bytes::from_static(br#"{"model":"m","messages":[{"content":"a\nb"}],"n":2}"#)).unwrap();
/// let root = doc.root();
/// assert_eq!(root.get("model").and_then(|m| m.as_str()), Some("m"));
/// let first = root.get("messages").and_then(|m| m.items()?.next()).unwrap();
/// assert_eq!(first.get("content").and_then(|c| c.as_str()), Some("a\nb"));
/// assert_eq!(root.get("n").and_then(|n| n.as_u64()), Some(2));
/// assert_eq!(root.to_value(), serde_json::from_slice::<serde_json::Value>(doc.body()).unwrap());
/// assert!(Doc::parse(Bytes::from_static(b"{\"a\":1,}")).is_err());
/// ```
#[derive(Clone)]
pub struct Doc {
    /// The body as text, and [`body`](Self::body) the same bytes as `Bytes`.
    text: Arc<String>,
    body: Bytes,
    decoded: String,
    nodes: Vec<Node>,
    root: Node,
}

impl fmt::Debug for Doc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Doc")
            .field("body_len", &self.body.len())
            .field("nodes", &self.nodes.len())
            .finish_non_exhaustive()
    }
}

impl Doc {
    /// Reads `body`, which it keeps: its buffer is reused as the
    /// document's text when `body` is the only handle to it (else copied
    /// once), and [`body`](Self::body) then shares that text.
    pub fn parse(body: Bytes) -> serde_json::Result<Doc> {
        Doc::read(body).map_err(|(e, _)| e)
    }

    /// [`parse`](Self::parse), giving the body back with the error.
    pub(crate) fn read(body: Bytes) -> Result<Doc, (serde_json::Error, Bytes)> {
        if u32::try_from(body.len()).is_err() {
            return Err((serde::de::Error::custom("a JSON body past 4 GiB"), body));
        }
        // One UTF-8 check of the whole body (as `crate::from_json`); then
        // strings are borrowed from it, not checked again, and read from
        // it as `str` without a check either.
        let text = match String::from_utf8(Vec::from(body)) {
            Ok(text) => text,
            Err(e) => {
                let err = not_utf8(e.as_bytes());
                return Err((err, Bytes::from(e.into_bytes())));
            }
        };
        // The quick reader first; serde_json where it is not sure (and for
        // the error).
        let (root, nodes, decoded) = match fast::read(&text) {
            Some(read) => read,
            None => match by_serde(&text) {
                Ok(read) => read,
                Err(e) => return Err((e, Bytes::from(text))),
            },
        };
        let text = Arc::new(text);
        Ok(Doc {
            body: Bytes::from_owner(Shared(text.clone())),
            text,
            decoded,
            nodes,
            root,
        })
    }

    /// An empty object (what an empty body reads as).
    pub(crate) fn empty_object() -> Doc {
        Doc {
            text: Arc::default(),
            body: Bytes::new(),
            decoded: String::new(),
            nodes: Vec::new(),
            root: Node::Object { first: 0, len: 0 },
        }
    }

    /// The bytes it was read from.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The top-level value.
    pub fn root(&self) -> JsonRef<'_> {
        JsonRef::Doc(DocRef {
            doc: self,
            node: self.root,
        })
    }

    /// The text of a string node; `None` for any other.
    fn text(&self, node: Node) -> Option<&str> {
        match node {
            Node::Str { start, len } => {
                let (start, len) = (start as usize, len as usize);
                self.text.get(start..start + len)
            }
            Node::Decoded { start, len } => {
                let (start, len) = (start as usize, len as usize);
                self.decoded.get(start..start + len)
            }
            _ => None,
        }
    }

    fn node(&self, i: usize) -> Node {
        self.nodes.get(i).copied().unwrap_or(Node::Null)
    }
}

/// `text` read by serde_json: the root, the nodes and the decoded strings.
fn by_serde(text: &str) -> serde_json::Result<(Node, Vec<Node>, String)> {
    let mut b = Builder::new(text.as_bytes());
    let mut de = serde_json::Deserializer::from_str(text);
    let root = (&mut b).deserialize(&mut de)?;
    de.end()?;
    Ok((root, b.nodes, b.decoded))
}

/// The document's text as the owner of [`Doc::body`]'s bytes.
struct Shared(Arc<String>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// serde_json's error for a body that is not UTF-8, with its position (the
/// same reader as the `Value` path, reading bytes).
fn not_utf8(body: &[u8]) -> serde_json::Error {
    let mut b = Builder::new(body);
    let mut de = serde_json::Deserializer::from_slice(body);
    match (&mut b).deserialize(&mut de).and_then(|_| de.end()) {
        Err(e) => e,
        // Valid JSON is UTF-8: this is not reached.
        Ok(()) => serde::de::Error::custom("the body is not UTF-8"),
    }
}

/// Builds a [`Doc`] with serde_json (see [`gather`]).
struct Builder {
    base: usize,
    end: usize,
    decoded: String,
    nodes: Vec<Node>,
    stack: Vec<Node>,
}

/// Moves a container's children, gathered on `stack` since `mark`, to
/// `nodes` side by side; where they begin and how many there are (`None`
/// past `u32`, which a body of at most 4 GiB does not reach). Both readers
/// build a container this way.
fn gather(nodes: &mut Vec<Node>, stack: &mut Vec<Node>, mark: usize) -> Option<(u32, u32)> {
    let children = stack.get(mark..)?;
    let first = u32::try_from(nodes.len()).ok()?;
    let len = u32::try_from(children.len()).ok()?;
    nodes.extend_from_slice(children);
    stack.truncate(mark);
    Some((first, len))
}

/// A length or an offset as a node keeps it: the body is at most 4 GiB,
/// so no value within it is longer or lies further.
fn small<E: serde::de::Error>(n: usize) -> Result<u32, E> {
    u32::try_from(n).map_err(|_| E::custom("a JSON body past 4 GiB"))
}

impl Builder {
    /// A builder whose strings borrowed from `text` are kept as ranges of it.
    fn new(text: &[u8]) -> Builder {
        let base = text.as_ptr() as usize;
        Builder {
            base,
            end: base + text.len(),
            decoded: String::new(),
            nodes: Vec::new(),
            stack: Vec::new(),
        }
    }

    fn borrowed<E: serde::de::Error>(&mut self, s: &str) -> Result<Node, E> {
        let at = s.as_ptr() as usize;
        if at >= self.base && at + s.len() <= self.end {
            Ok(Node::Str {
                start: small(at - self.base)?,
                len: small(s.len())?,
            })
        } else {
            self.decode(s)
        }
    }

    fn decode<E: serde::de::Error>(&mut self, s: &str) -> Result<Node, E> {
        let start = small(self.decoded.len())?;
        self.decoded.push_str(s);
        Ok(Node::Decoded {
            start,
            len: small(s.len())?,
        })
    }

    /// Moves the children gathered since `mark` to `nodes`; where they
    /// begin and how many there are.
    fn close<E: serde::de::Error>(&mut self, mark: usize) -> Result<(u32, u32), E> {
        gather(&mut self.nodes, &mut self.stack, mark)
            .ok_or_else(|| E::custom("a JSON body past 4 GiB"))
    }
}

impl<'de> DeserializeSeed<'de> for &mut Builder {
    type Value = Node;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for &mut Builder {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Uint(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        // As serde_json's `Value`: a non-negative `i64` is a `u64`.
        Ok(u64::try_from(v).map_or(Node::Int(v), Node::Uint))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Node, E> {
        // serde_json refuses non-finite numbers before they get here.
        if v.is_finite() {
            Ok(Node::Float(v))
        } else {
            Err(E::custom("number out of range"))
        }
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Node, E> {
        self.borrowed(v)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Node, E> {
        self.decode(v)
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Node, E> {
        self.decode(&v)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mark = self.stack.len();
        while let Some(n) = seq.next_element_seed(&mut *self)? {
            self.stack.push(n);
        }
        let (first, len) = self.close(mark)?;
        Ok(Node::Array { first, len })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mark = self.stack.len();
        while let Some(key) = map.next_key_seed(&mut *self)? {
            if !matches!(key, Node::Str { .. } | Node::Decoded { .. }) {
                return Err(A::Error::custom("key must be a string"));
            }
            self.stack.push(key);
            let value = map.next_value_seed(&mut *self)?;
            self.stack.push(value);
        }
        let (first, len) = self.close(mark)?;
        Ok(Node::Object {
            first,
            len: len / 2,
        })
    }
}

/// A node of a [`Doc`].
#[derive(Clone, Copy)]
pub struct DocRef<'a> {
    doc: &'a Doc,
    node: Node,
}

impl<'a> DocRef<'a> {
    /// The member `key`'s value (its last, if repeated): the members are
    /// compared from the last, by length first.
    fn get(self, key: &str) -> Option<DocRef<'a>> {
        let Node::Object { first, len } = self.node else {
            return None;
        };
        let first = first as usize;
        let members = self.doc.nodes.get(first..first + 2 * len as usize)?;
        members.chunks_exact(2).rev().find_map(|kv| {
            let same = match kv[0] {
                Node::Str { len, .. } | Node::Decoded { len, .. } if len as usize != key.len() => {
                    false
                }
                k => self.doc.text(k) == Some(key),
            };
            same.then(|| DocRef {
                doc: self.doc,
                node: kv[1],
            })
        })
    }

    /// The members of an object: its keys' and values' nodes side by side.
    fn members(self) -> Option<Members<'a>> {
        let Node::Object { first, len } = self.node else {
            return None;
        };
        let next = first as usize;
        Some(Members(MembersOf::Doc {
            doc: self.doc,
            next,
            end: next + 2 * len as usize,
        }))
    }

    fn items(self) -> Option<Items<'a>> {
        let Node::Array { first, len } = self.node else {
            return None;
        };
        let next = first as usize;
        Some(Items(ItemsOf::Doc {
            doc: self.doc,
            next,
            end: next + len as usize,
        }))
    }
}

/// A read-only view of a JSON value: a node of a [`Doc`] or a
/// `serde_json::Value`, for code that reads either (a body as the client
/// sent it, or as a layer edited it).
///
/// ```
/// use switchyard_core::JsonRef;
/// let v = serde_json::json!({"a": [1, "x"], "b": null});
/// let r = JsonRef::from(&v);
/// let items: Vec<_> = r.get("a").and_then(|a| a.items()).unwrap().collect();
/// assert_eq!((items[0].as_u64(), items[1].as_str()), (Some(1), Some("x")));
/// assert!(r.get("b").is_some_and(|b| b.is_null()));
/// assert_eq!(r.to_value(), v);
/// ```
#[derive(Clone, Copy)]
pub enum JsonRef<'a> {
    /// A node of a [`Doc`].
    Doc(DocRef<'a>),
    /// A `serde_json::Value`.
    Value(&'a Value),
}

impl<'a> From<&'a Value> for JsonRef<'a> {
    fn from(v: &'a Value) -> Self {
        JsonRef::Value(v)
    }
}

impl fmt::Debug for JsonRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_value(), f)
    }
}

impl<'a> JsonRef<'a> {
    /// The member `key` of an object (its last, if repeated); `None` for
    /// anything else.
    pub fn get(self, key: &str) -> Option<JsonRef<'a>> {
        match self {
            JsonRef::Doc(d) => d.get(key).map(JsonRef::Doc),
            JsonRef::Value(v) => crate::json_get(v, key).map(JsonRef::Value),
        }
    }

    /// The members of an object, in order; `None` for anything else.
    pub fn members(self) -> Option<Members<'a>> {
        match self {
            JsonRef::Doc(d) => d.members(),
            JsonRef::Value(v) => Some(Members(MembersOf::Value(v.as_object()?.iter()))),
        }
    }

    /// The elements of an array; `None` for anything else.
    pub fn items(self) -> Option<Items<'a>> {
        match self {
            JsonRef::Doc(d) => d.items(),
            JsonRef::Value(v) => Some(Items(ItemsOf::Value(v.as_array()?.iter()))),
        }
    }

    /// The text of a string.
    pub fn as_str(self) -> Option<&'a str> {
        match self {
            JsonRef::Doc(d) => d.doc.text(d.node),
            JsonRef::Value(v) => v.as_str(),
        }
    }

    /// A non-negative integer, as `Value::as_u64`.
    pub fn as_u64(self) -> Option<u64> {
        match self {
            JsonRef::Doc(d) => match d.node {
                Node::Uint(n) => Some(n),
                _ => None,
            },
            JsonRef::Value(v) => v.as_u64(),
        }
    }

    /// A boolean.
    pub fn as_bool(self) -> Option<bool> {
        match self {
            JsonRef::Doc(d) => match d.node {
                Node::Bool(b) => Some(b),
                _ => None,
            },
            JsonRef::Value(v) => v.as_bool(),
        }
    }

    /// Whether it is `null`.
    pub fn is_null(self) -> bool {
        match self {
            JsonRef::Doc(d) => d.node == Node::Null,
            JsonRef::Value(v) => v.is_null(),
        }
    }

    /// Whether it is an object.
    pub fn is_object(self) -> bool {
        match self {
            JsonRef::Doc(d) => matches!(d.node, Node::Object { .. }),
            JsonRef::Value(v) => v.is_object(),
        }
    }

    /// Whether it is a string.
    pub fn is_string(self) -> bool {
        match self {
            JsonRef::Doc(d) => matches!(d.node, Node::Str { .. } | Node::Decoded { .. }),
            JsonRef::Value(v) => v.is_string(),
        }
    }

    /// An owned copy.
    pub fn to_value(self) -> Value {
        let d = match self {
            JsonRef::Value(v) => return v.clone(),
            JsonRef::Doc(d) => d,
        };
        match d.node {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(b),
            Node::Uint(n) => Value::from(n),
            Node::Int(n) => Value::from(n),
            Node::Float(f) => Value::from(f),
            Node::Str { .. } | Node::Decoded { .. } => {
                Value::String(d.doc.text(d.node).unwrap_or_default().to_owned())
            }
            Node::Array { .. } => Value::Array(
                self.items()
                    .into_iter()
                    .flatten()
                    .map(JsonRef::to_value)
                    .collect(),
            ),
            Node::Object { .. } => Value::Object(
                self.members()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.to_owned(), v.to_value()))
                    .collect(),
            ),
        }
    }
}

/// The elements of an array ([`JsonRef::items`]).
#[derive(Clone)]
pub struct Items<'a>(ItemsOf<'a>);

#[derive(Clone)]
enum ItemsOf<'a> {
    Doc {
        doc: &'a Doc,
        next: usize,
        end: usize,
    },
    Value(std::slice::Iter<'a, Value>),
}

impl<'a> Iterator for Items<'a> {
    type Item = JsonRef<'a>;

    fn next(&mut self) -> Option<JsonRef<'a>> {
        match &mut self.0 {
            ItemsOf::Doc { doc, next, end } => {
                if *next >= *end {
                    return None;
                }
                let node = doc.node(*next);
                *next += 1;
                Some(JsonRef::Doc(DocRef { doc, node }))
            }
            ItemsOf::Value(it) => it.next().map(JsonRef::Value),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match &self.0 {
            ItemsOf::Doc { next, end, .. } => end.saturating_sub(*next),
            ItemsOf::Value(it) => it.len(),
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for Items<'_> {}

/// The members of an object ([`JsonRef::members`]).
#[derive(Clone)]
pub struct Members<'a>(MembersOf<'a>);

#[derive(Clone)]
enum MembersOf<'a> {
    Doc {
        doc: &'a Doc,
        next: usize,
        end: usize,
    },
    Value(serde_json::map::Iter<'a>),
}

impl<'a> Iterator for Members<'a> {
    type Item = (&'a str, JsonRef<'a>);

    fn next(&mut self) -> Option<(&'a str, JsonRef<'a>)> {
        match &mut self.0 {
            MembersOf::Doc { doc, next, end } => {
                if *next >= *end {
                    return None;
                }
                let key = doc.text(doc.node(*next)).unwrap_or_default();
                let node = doc.node(*next + 1);
                *next += 2;
                Some((key, JsonRef::Doc(DocRef { doc, node })))
            }
            MembersOf::Value(it) => it.next().map(|(k, v)| (k.as_str(), JsonRef::Value(v))),
        }
    }
}

#[cfg(test)]
mod tests;
