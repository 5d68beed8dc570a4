//! ParamsLayer of the Switchyard LLM gateway: adjusts each attempt's request
//! parameters for its target, in three layers: **defaults < caller < clamp**.
//!
//! - [`Profile`]: defaults (set when the caller did not), clamps (always set),
//!   numeric bounds (`max_tokens <= 8192`) and removals (fields a target
//!   rejects), for any JSON field, nested ones by dotted path.
//! - [`Profiles`]: named profiles, the target rules (provider + model globs)
//!   that apply them, and the merge with a candidate's own profile (a virtual
//!   model's), cached per target.
//! - [`ParamsLayer`]: the tower layer. It sits inside routing (and failover),
//!   reads the attempt's target from the `RequestContext`, and edits the
//!   `ParsedRequest` only when something changes: a complying body is
//!   forwarded byte for byte.
//!
//! # Behavior
//!
//! - Requests without a body (`GET /v1/models`) pass through.
//! - A candidate naming an unknown profile, or a stack without a route
//!   layer, is a 500 `gateway_error` in the client's protocol, never a panic.
//! - `model` and `stream` cannot be set by a profile (routing owns the first;
//!   the second changes the answer's shape).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod layer;
mod profile;
mod profiles;

pub use layer::{Params, ParamsLayer};
pub use profile::{ParamsError, Profile};
pub use profiles::{Profiles, ProfilesBuilder};
