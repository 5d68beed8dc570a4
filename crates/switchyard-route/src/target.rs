//! Targets and how to choose among them: [`Target`], [`Strategy`], [`Sticky`].

use std::sync::Arc;
use std::time::Duration;

/// A price in US dollars per million tokens.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Price {
    /// Per million prompt tokens.
    pub input_per_mtok: f64,
    /// Per million completion tokens.
    pub output_per_mtok: f64,
}

impl Price {
    /// A price from its input and output rates per million tokens.
    pub fn new(input_per_mtok: f64, output_per_mtok: f64) -> Self {
        Price {
            input_per_mtok,
            output_per_mtok,
        }
    }

    /// The blended rate the strategies compare: 3 parts input to 1 part output.
    pub fn blended(&self) -> f64 {
        0.75 * self.input_per_mtok + 0.25 * self.output_per_mtok
    }
}

/// Where a request may go: a provider and the real model name it serves,
/// with what the strategies need to know about it.
///
/// ```
/// use switchyard_route::Target;
/// let t = Target::new("openai", "gpt-4o-mini").weight(3).price(0.15, 0.60).quality(0.7);
/// assert_eq!(t.provider(), "openai");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub(crate) provider: Arc<str>,
    pub(crate) model: Arc<str>,
    pub(crate) weight: u32,
    pub(crate) profile: Option<Arc<str>>,
    pub(crate) price: Option<Price>,
    pub(crate) quality: Option<f64>,
}

impl Target {
    /// `provider` serving `model` (weight 1, no profile, price or quality).
    pub fn new(provider: impl Into<Arc<str>>, model: impl Into<Arc<str>>) -> Self {
        Target {
            provider: provider.into(),
            model: model.into(),
            weight: 1,
            profile: None,
            price: None,
            quality: None,
        }
    }

    /// Its share under the `weighted` strategy (default 1; 0 = never picked first).
    pub fn weight(mut self, weight: u32) -> Self {
        self.weight = weight;
        self
    }

    /// The parameter profile applied when this target serves.
    pub fn profile(mut self, profile: impl Into<Arc<str>>) -> Self {
        self.profile = Some(profile.into());
        self
    }

    /// Its price per million input and output tokens (for `cheapest` and `quality_cost`).
    pub fn price(mut self, input_per_mtok: f64, output_per_mtok: f64) -> Self {
        self.price = Some(Price::new(input_per_mtok, output_per_mtok));
        self
    }

    /// Its quality score in `0..=1` (for `quality_cost`; default 0.5).
    pub fn quality(mut self, quality: f64) -> Self {
        self.quality = Some(quality);
        self
    }

    /// The provider id.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The real model name.
    pub fn model(&self) -> &str {
        &self.model
    }
}

/// A target, or a virtual model standing for its targets.
#[derive(Clone, Debug, PartialEq)]
pub enum TargetRef {
    /// A provider and real model.
    Target(Target),
    /// Every target of the named virtual model.
    Virtual(String),
}

impl From<Target> for TargetRef {
    fn from(t: Target) -> Self {
        TargetRef::Target(t)
    }
}

/// How to order several targets (the first is tried first; the rest are
/// fallbacks for failover). Every strategy but `Pinned` puts targets the
/// health signal reports unhealthy last.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Strategy {
    /// In the order given.
    #[default]
    FirstAvailable,
    /// Each request starts one further along the list.
    RoundRobin,
    /// Picked at random in proportion to the targets' weights.
    Weighted,
    /// Uniformly at random.
    Random,
    /// Always in the order given, healthy or not.
    Pinned,
    /// Lowest blended price first; targets above `max_price` (per million
    /// blended tokens), or without a price when a ceiling is set, are left out.
    Cheapest {
        /// The ceiling, per million blended tokens.
        max_price: Option<f64>,
    },
    /// Lowest moving average of observed latency first (unmeasured targets first, to measure them).
    Fastest,
    /// Highest moving average of observed output tokens per second first (unmeasured first).
    HighestThroughput,
    /// Highest `quality_bias * quality - (1 - quality_bias) * cost` first, cost
    /// being the blended price over the set's highest.
    QualityCost {
        /// `0..=1`: 1 cares only for quality, 0 only for cost.
        quality_bias: f64,
    },
    /// Power of two choices: of two random healthy targets, the one with the
    /// lower `(in_flight + 1) * latency` goes first; the rest by that load.
    LeastLoaded,
}

impl Strategy {
    /// The strategy's name as written in config.
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::FirstAvailable => "first_available",
            Strategy::RoundRobin => "round_robin",
            Strategy::Weighted => "weighted",
            Strategy::Random => "random",
            Strategy::Pinned => "pinned",
            Strategy::Cheapest { .. } => "cheapest",
            Strategy::Fastest => "fastest",
            Strategy::HighestThroughput => "highest_throughput",
            Strategy::QualityCost { .. } => "quality_cost",
            Strategy::LeastLoaded => "least_loaded",
        }
    }
}

/// Where a sticky key comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StickyKey {
    /// A request header (`x-session-id`).
    Header(String),
    /// A body field, by dotted path (`user`, `metadata.conversation_id`).
    Field(String),
}

/// Sticky routing: requests with the same key go to the same target while
/// it stays healthy (a conversation keeps hitting one prompt cache).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sticky {
    pub(crate) key: StickyKey,
    pub(crate) ttl: Duration,
    pub(crate) capacity: usize,
}

impl Sticky {
    /// Sticky by the value of request header `name`.
    pub fn header(name: impl Into<String>) -> Self {
        Sticky::new(StickyKey::Header(name.into()))
    }

    /// Sticky by the value of the body field at `path`.
    pub fn field(path: impl Into<String>) -> Self {
        Sticky::new(StickyKey::Field(path.into()))
    }

    fn new(key: StickyKey) -> Self {
        Sticky {
            key,
            ttl: Duration::from_secs(3600),
            capacity: 100_000,
        }
    }

    /// How long a key stays bound after its last request (default 1 hour).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The most keys remembered (default 100,000).
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }
}
