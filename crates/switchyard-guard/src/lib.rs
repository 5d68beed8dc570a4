//! GuardLayer of the Switchyard LLM gateway: finds leaked credentials and
//! personal data in prompts, and logs, redacts or refuses them.
//!
//! - [`Scanner`]: the detectors, in one `RegexSet` pass over each prompt
//!   string; only the patterns that matched run again to place their
//!   findings, which checks confirm (Luhn and issuer prefixes for cards,
//!   mod-97 for IBANs, the check character of Chinese resident ids, SSN
//!   ranges, JWT headers, Shannon entropy for generic secrets).
//! - [`Policy`]: the action of each [`Kind`] (`off`, `log`, `redact`,
//!   `block`) and an allow-list, compiled from a [`GuardConfig`].
//! - [`GuardLayer`]: the tower layer.
//!
//! # Behavior
//!
//! - The prompt strings of every client format are scanned: OpenAI chat
//!   messages (tool messages included), completions `prompt`, embeddings
//!   `input`, Responses `instructions` and `input` (function call outputs
//!   included), Anthropic `system` and content blocks (tool results
//!   included). Image, audio and file parts, tool definitions and tool calls
//!   are not.
//! - `log`: the request goes on unchanged. `redact`: each finding becomes
//!   `[REDACTED:<kind>]` in its string; the rest of the body keeps its
//!   values and key order, and inner layers see the redacted prompt.
//!   `block`: a 403 `permission_error` in the client's protocol naming the
//!   kinds found (never the values); the exchange's error class is
//!   `guard_blocked`. The strongest action of any finding decides.
//! - Each finding (kind, JSON pointer of the string, byte offset, length,
//!   action) goes into the request's `Exchange`, with a copy of the body in
//!   which every finding is redacted, for journals; and is counted in
//!   [`FINDINGS_METRIC`]. Values are never logged.
//! - A request without findings costs one `RegexSet` pass per prompt string
//!   and is forwarded byte for byte.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod config;
mod detect;
mod kind;
mod layer;
mod policy;
mod validate;
mod walk;

pub use config::{Action, GuardConfig};
pub use detect::{Hit, Scanner};
pub use kind::Kind;
pub use layer::{FINDINGS_METRIC, Guard, GuardLayer};
pub use policy::{Field, Policy, Report};
