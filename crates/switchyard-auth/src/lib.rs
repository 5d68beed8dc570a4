//! AuthLayer of the Switchyard LLM gateway: who is calling, and may they.
//!
//! - [`AuthLayer`]: the tower layer. Modes: open (no key), one gateway key,
//!   or virtual keys ([`AuthMode`]). It writes the caller's `Identity` (key
//!   id, label, team, project, allowed models, quota, provider keys) into
//!   the `RequestContext`, or answers 401 (missing or wrong key) / 403
//!   (a model the key may not use) in the client's protocol.
//! - [`KeySpec`] describes a virtual key (config or admin API);
//!   [`VirtualKey`] is its validated form; [`KeyIndex`] looks keys up by digest.
//! - [`KeyStore`]: keys created at run time, kept in SQLite (or in memory),
//!   published to requests through a lock-free index on every change.
//! - [`KeyHash`]: the SHA-256 digest keys are stored and compared as;
//!   [`generate_key`] makes `sk-sy-…` keys from the system's CSPRNG; [`mask`]
//!   shows them safely.
//!
//! # Behavior
//!
//! - Per request: one SHA-256 of the key presented and one or two hash-map
//!   probes; no database access, no lock.
//! - The plaintext of a key is never kept, logged or returned after creation.
//! - In `key` and `virtual_keys` modes the key headers (`authorization`,
//!   `x-api-key`, `x-goog-api-key`) are removed once accepted; in open mode
//!   they pass through (a client may bring its own provider key).
//! - Requests without a `ParseLayer` (e.g. `GET /v1/models`) are
//!   authenticated too; the model check needs the parsed body.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod keys;
mod layer;
mod secret;
mod store;

pub use keys::{KeyIndex, KeySpec, Origin, VirtualKey};
pub use layer::{Auth, AuthLayer, AuthMode, Caller, KEY_HEADERS};
pub use secret::{KEY_PREFIX, KeyHash, generate_key, mask};
pub use store::{KeyStore, StoreError, StoreErrorKind};
