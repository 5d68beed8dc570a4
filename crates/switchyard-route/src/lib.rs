//! RouteLayer of the Switchyard LLM gateway: decides which provider serves a
//! request and writes the ordered candidate list into its `RequestContext`.
//!
//! - [`Rules`]: ordered [`Rule`]s (first match wins; conditions on model name,
//!   tags, prompt regex, body length and estimated tokens, `x-source` /
//!   `x-project` / caller, headers, endpoint), then [`VirtualModel`] names,
//!   then the [`RouteTable`] as the fallback.
//! - [`Strategy`]: how several targets are ordered: first available, round
//!   robin, weighted, random, pinned, cheapest, fastest, highest throughput,
//!   quality vs cost, least loaded (power of two choices). [`Sticky`] keeps a
//!   conversation on one target.
//! - [`RouteTable`]: providers in order, each with the model globs it serves;
//!   `provider/model` names route straight to a provider.
//! - [`ModelDirectory`]: models discovered from upstreams' model listings,
//!   routed like configured ones, and by `discovered` rules.
//! - [`TargetStats`]: observed latency, throughput and in-flight requests per
//!   target, kept across reloads; health comes from a
//!   [`TargetHealth`](switchyard_core::TargetHealth) a failover layer writes.
//! - [`RouteLayer`]: the tower layer; unknown models get a 404 in the client's
//!   protocol listing what is available.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body;
mod build;
mod directory;
mod future;
mod layer;
mod rule;
mod rules;
mod set;
mod stats;
mod table;
mod target;
mod virtual_model;

pub use body::RouteBody;
pub use directory::ModelDirectory;
pub use future::ResponseFuture;
pub use layer::{Route, RouteLayer};
pub use rule::{Destination, HeaderMatch, Rule};
pub use rules::{Rules, RulesBuilder};
pub use stats::{InFlight, TargetStat, TargetStats};
pub use table::{RouteError, RouteTable, RouteTableBuilder};
pub use target::{Price, Sticky, StickyKey, Strategy, Target, TargetRef};
pub use virtual_model::VirtualModel;

/// Response header naming what routed the request (`rule:<name>`, `virtual:<name>`, `provider:<id>` ...).
pub const ROUTE_HEADER: &str = "x-switchyard-route";
