//! Switchyard: an LLM gateway built as a stack of tower layers.
//!
//! This facade re-exports the layer crates, so one dependency gives a Rust
//! program the whole toolkit, and holds the default binary's assembly
//! ([`app::Gateway`]) and configuration ([`config::Config`]).
//!
//! ```no_run
//! use std::sync::Arc;
//! use switchyard::core::{CatchLayer, ParseLayer};
//! use switchyard::providers::{Mock, MockConfig, ProviderSet};
//! use switchyard::route::{RouteLayer, RouteTable};
//! use tower::ServiceBuilder;
//!
//! # async fn run() {
//! let table = RouteTable::builder().provider("mock", ["mock-*"]).build().unwrap();
//! let stack = ServiceBuilder::new()
//!     .layer(CatchLayer::new())
//!     .layer(ParseLayer::new())
//!     .layer(RouteLayer::new(Arc::new(table)))
//!     .service(ProviderSet::<axum::body::Body>::new().with("mock", Mock::new(MockConfig::default())));
//! let app = axum::Router::new().route_service("/v1/chat/completions", stack);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await.unwrap();
//! axum::serve(listener, app).await.unwrap();
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod access;
pub mod admin;
pub mod admin_config;
pub mod admin_keys;
pub mod app;
pub mod config;
pub mod console;
pub mod limits;
pub mod observe;
pub mod openapi;
pub mod reload;
pub mod routing;
pub mod server;
pub mod tui;
pub mod upstreams;

pub use switchyard_auth as auth;
pub use switchyard_classify as classify;
pub use switchyard_core as core;
pub use switchyard_guard as guard;
pub use switchyard_params as params;
pub use switchyard_protocol as protocol;
pub use switchyard_providers as providers;
pub use switchyard_route as route;
