//! Typed access to the core types in a request's extensions.

use http::Request;

use crate::context::RequestContext;
use crate::error::Error;
use crate::parsed::ParsedRequest;

/// Typed accessors for what [`ParseLayer`](crate::ParseLayer) put in a request.
///
/// A missing value is an internal [`Error`] naming the missing layer, never a panic.
pub trait RequestExt {
    /// The request context.
    fn context(&self) -> Result<&RequestContext, Error>;
    /// The request context, mutably.
    fn context_mut(&mut self) -> Result<&mut RequestContext, Error>;
    /// The parsed body.
    fn parsed(&self) -> Result<&ParsedRequest, Error>;
    /// The parsed body, mutably.
    fn parsed_mut(&mut self) -> Result<&mut ParsedRequest, Error>;
}

fn missing(what: &'static str) -> Error {
    Error::internal(what)
}

impl<B> RequestExt for Request<B> {
    fn context(&self) -> Result<&RequestContext, Error> {
        self.extensions()
            .get()
            .ok_or_else(|| missing("no RequestContext: is a ParseLayer in the stack?"))
    }

    fn context_mut(&mut self) -> Result<&mut RequestContext, Error> {
        self.extensions_mut()
            .get_mut()
            .ok_or_else(|| missing("no RequestContext: is a ParseLayer in the stack?"))
    }

    fn parsed(&self) -> Result<&ParsedRequest, Error> {
        self.extensions()
            .get()
            .ok_or_else(|| missing("no ParsedRequest: is a ParseLayer in the stack?"))
    }

    fn parsed_mut(&mut self) -> Result<&mut ParsedRequest, Error> {
        self.extensions_mut()
            .get_mut()
            .ok_or_else(|| missing("no ParsedRequest: is a ParseLayer in the stack?"))
    }
}
