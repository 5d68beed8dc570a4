//! [`ModelDirectory`]: the models each provider was found to serve, refreshed in the background.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

#[derive(Debug, Default)]
struct Entry {
    models: Arc<[Arc<str>]>,
    refreshed: Option<Instant>,
}

/// Models discovered per provider (from an upstream's `GET /v1/models`).
///
/// Shared between the route table (which routes a discovered model to its
/// provider) and whoever refreshes it. Reads clone an `Arc`, never the list.
#[derive(Clone, Debug, Default)]
pub struct ModelDirectory {
    inner: Arc<RwLock<HashMap<Arc<str>, Entry>>>,
}

impl ModelDirectory {
    /// An empty directory.
    pub fn new() -> Self {
        ModelDirectory::default()
    }

    /// Replaces what `provider` serves.
    pub fn set(&self, provider: &str, models: Vec<String>) {
        let models: Arc<[Arc<str>]> = models.into_iter().map(Arc::from).collect();
        let mut map = self.inner.write().unwrap_or_else(|p| p.into_inner());
        let entry = map.entry(Arc::from(provider)).or_default();
        entry.models = models;
        entry.refreshed = Some(Instant::now());
    }

    /// What `provider` was last found to serve (empty if never refreshed).
    pub fn get(&self, provider: &str) -> Arc<[Arc<str>]> {
        let map = self.inner.read().unwrap_or_else(|p| p.into_inner());
        map.get(provider)
            .map(|e| e.models.clone())
            .unwrap_or_else(|| Arc::from(Vec::new()))
    }

    /// When `provider` was last refreshed.
    pub fn refreshed(&self, provider: &str) -> Option<Instant> {
        let map = self.inner.read().unwrap_or_else(|p| p.into_inner());
        map.get(provider).and_then(|e| e.refreshed)
    }

    /// Whether `provider` was found to serve `model`.
    pub fn contains(&self, provider: &str, model: &str) -> bool {
        let map = self.inner.read().unwrap_or_else(|p| p.into_inner());
        map.get(provider)
            .is_some_and(|e| e.models.iter().any(|m| m.as_ref() == model))
    }
}
