//! [`ParseLayer`]: reads the body once and puts the core types into the request.

mod future;
mod layer;
mod service;

pub use future::ResponseFuture;
pub use layer::ParseLayer;
pub use service::Parse;
