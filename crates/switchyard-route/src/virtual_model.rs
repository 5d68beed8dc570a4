//! [`VirtualModel`]: a name clients use that stands for one or more targets.

use crate::target::{Sticky, Strategy, TargetRef};

/// A model name clients use (`coder`, `creative`) that maps to one or more
/// targets, a strategy to choose among them, and a parameter profile.
/// Listed by `GET /v1/models`.
///
/// ```
/// use switchyard_route::{Strategy, Target, VirtualModel};
/// let coder = VirtualModel::new("coder")
///     .target(Target::new("local", "qwen2.5-coder:7b"))
///     .target(Target::new("openai", "gpt-4o-mini"))
///     .strategy(Strategy::FirstAvailable)
///     .profile("coding")
///     .description("code assistant: local first, cloud as fallback");
/// assert_eq!(coder.name(), "coder");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct VirtualModel {
    pub(crate) name: String,
    pub(crate) targets: Vec<TargetRef>,
    pub(crate) strategy: Strategy,
    pub(crate) sticky: Option<Sticky>,
    pub(crate) profile: Option<String>,
    pub(crate) description: Option<String>,
}

impl VirtualModel {
    /// A virtual model named `name`, with no targets yet.
    pub fn new(name: impl Into<String>) -> Self {
        VirtualModel {
            name: name.into(),
            targets: Vec::new(),
            strategy: Strategy::default(),
            sticky: None,
            profile: None,
            description: None,
        }
    }

    /// Adds a target (or another virtual model, whose targets join this one's).
    pub fn target(mut self, target: impl Into<TargetRef>) -> Self {
        self.targets.push(target.into());
        self
    }

    /// How to order the targets (default `first_available`).
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// Binds a conversation key to the target it first went to.
    pub fn sticky(mut self, sticky: Sticky) -> Self {
        self.sticky = Some(sticky);
        self
    }

    /// The parameter profile for targets that have none of their own.
    pub fn profile(mut self, profile: impl Into<String>) -> Self {
        self.profile = Some(profile.into());
        self
    }

    /// A line for `GET /v1/models`.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The name clients use.
    pub fn name(&self) -> &str {
        &self.name
    }
}
