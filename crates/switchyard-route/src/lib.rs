//! RouteLayer of the Switchyard LLM gateway: decides which provider serves a
//! request and writes the ordered candidate list into its `RequestContext`.
//!
//! - [`RouteTable`]: providers in order, each with the model globs it serves;
//!   the first match wins; `provider/model` names route straight to a provider.
//! - [`ModelDirectory`]: models discovered from upstreams' model listings,
//!   routed like configured ones.
//! - [`RouteLayer`]: the tower layer; unknown models get a 404 in the client's
//!   protocol listing what is available.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod directory;
mod layer;
mod table;

pub use directory::ModelDirectory;
pub use layer::{Route, RouteLayer};
pub use table::{RouteError, RouteTable, RouteTableBuilder};
