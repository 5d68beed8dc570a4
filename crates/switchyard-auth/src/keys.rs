//! Virtual keys: their description ([`KeySpec`]), their validated form
//! ([`VirtualKey`]) and an immutable lookup index by digest ([`KeyIndex`]).

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize, Serializer};
use switchyard_core::{Cost, Identity, ProviderKeys, Quota};

use crate::secret::{DigestHasher, KeyHash, mask};

/// One virtual key as written in config (`[[auth.keys]]`) or sent to the
/// admin API: who it stands for, what it may use, its quota and credentials.
///
/// Its secret is `key` (the plaintext, usually `${ENV}`) or `key_hash`
/// (`sha256:<hex>`); serialising a spec never shows `key` or provider keys.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    /// Unique id: letters, digits, `.`, `_` and `-`, at most 64 characters
    /// (the admin API makes one when it is empty).
    #[serde(default)]
    pub id: String,
    /// A label for logs and the console.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The team the key belongs to (team limits are the limiter's config).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// The project its requests are attributed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The key itself.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "redacted"
    )]
    pub key: Option<String>,
    /// The key's SHA-256 digest, `sha256:<64 hex digits>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_hash: Option<String>,
    /// Model globs the key may use (`gpt-4o*`); empty: every model.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    /// Requests per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u64>,
    /// Tokens (input + output) per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<u64>,
    /// Spend per UTC day, in USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_daily_usd: Option<f64>,
    /// Spend per UTC calendar month, in USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_monthly_usd: Option<f64>,
    /// Provider credentials by provider id, sent instead of the provider's own key.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        serialize_with = "redacted_map"
    )]
    pub provider_keys: BTreeMap<String, String>,
}

fn redacted<S: Serializer>(_: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("***")
}

fn redacted_map<S: Serializer>(m: &BTreeMap<String, String>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(m.keys().map(|k| (k, "***")))
}

/// Where a key comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The config file: read-only through the admin API.
    Config,
    /// Created through the admin API and kept in the key store.
    Store,
}

impl Origin {
    /// `config` or `store`.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Config => "config",
            Origin::Store => "store",
        }
    }
}

/// A validated virtual key: its digest, a masked form, and the identity it stands for.
#[derive(Clone, Debug)]
pub struct VirtualKey {
    hash: KeyHash,
    masked: String,
    spec: KeySpec,
    identity: Arc<Identity>,
    models: Option<GlobSet>,
    origin: Origin,
    created_ms: i64,
    updated_ms: i64,
}

impl VirtualKey {
    /// Validates `spec` (its `key` or `key_hash` included). The error names the field.
    pub fn from_spec(mut spec: KeySpec, origin: Origin) -> Result<VirtualKey, String> {
        let (hash, masked) = match (spec.key.take(), &spec.key_hash) {
            (Some(_), Some(_)) => return Err("set `key` or `key_hash`, not both".into()),
            (None, None) => return Err("needs `key` (e.g. \"${ENV_VAR}\") or `key_hash`".into()),
            (Some(k), None) => {
                if k.trim() != k || k.len() < 8 || k.contains(char::is_whitespace) {
                    return Err(
                        "`key` must be at least 8 characters, without spaces (generate one: `sk-sy-` + random)"
                            .into(),
                    );
                }
                (KeyHash::of(&k), mask(&k))
            }
            (None, Some(h)) => (
                KeyHash::parse(h).map_err(|e| format!("`key_hash` {e}"))?,
                "…".to_owned(),
            ),
        };
        spec.key_hash = None;
        VirtualKey::build(spec, hash, masked, origin, 0, 0)
    }

    /// A key from its parts (the store's rows).
    pub(crate) fn build(
        spec: KeySpec,
        hash: KeyHash,
        masked: String,
        origin: Origin,
        created_ms: i64,
        updated_ms: i64,
    ) -> Result<VirtualKey, String> {
        validate_id(&spec.id)?;
        let models = globs(&spec.models)?;
        let usd = |name: &str, v: Option<f64>| match v {
            Some(v) if !(v.is_finite() && v >= 0.0) => {
                Err(format!("`{name}` must be a number of USD >= 0, got {v}"))
            }
            v => Ok(v.map(Cost::from_usd)),
        };
        let quota = Quota {
            requests_per_minute: spec.rpm,
            tokens_per_minute: spec.tpm,
            budget_daily: usd("budget_daily_usd", spec.budget_daily_usd)?,
            budget_monthly: usd("budget_monthly_usd", spec.budget_monthly_usd)?,
        };
        for (provider, key) in &spec.provider_keys {
            if key.is_empty() || http::HeaderValue::from_str(key).is_err() {
                return Err(format!(
                    "`provider_keys.{provider}` must be a non-empty header-safe value"
                ));
            }
        }
        let identity = Identity {
            key_id: Some(spec.id.clone()),
            label: spec.label.clone(),
            team: spec.team.clone(),
            project: spec.project.clone(),
            allowed_models: spec.models.clone(),
            quota,
            provider_keys: ProviderKeys::new(spec.provider_keys.clone()),
        };
        Ok(VirtualKey {
            hash,
            masked,
            identity: Arc::new(identity),
            models,
            spec,
            origin,
            created_ms,
            updated_ms,
        })
    }

    /// The key's id.
    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// The key's digest.
    pub fn hash(&self) -> &KeyHash {
        &self.hash
    }

    /// The masked key (`sk-sy-…abcd`), or `…` when only its digest is known.
    pub fn masked(&self) -> &str {
        &self.masked
    }

    /// The description it was made from (without the key).
    pub fn spec(&self) -> &KeySpec {
        &self.spec
    }

    /// The identity requests with this key carry.
    pub fn identity(&self) -> &Arc<Identity> {
        &self.identity
    }

    /// Where it comes from.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// When it was created (store keys; 0 for config keys), ms since the epoch.
    pub fn created_ms(&self) -> i64 {
        self.created_ms
    }

    /// When its secret last changed (store keys), ms since the epoch.
    pub fn updated_ms(&self) -> i64 {
        self.updated_ms
    }

    /// Whether the key may use `model`.
    pub fn allows(&self, model: &str) -> bool {
        self.models.as_ref().is_none_or(|g| g.is_match(model))
    }

    /// The key's metadata for the admin API: never the key, never provider keys' values.
    pub fn describe(&self) -> serde_json::Value {
        let s = &self.spec;
        serde_json::json!({
            "id": s.id,
            "masked": self.masked,
            "source": self.origin.as_str(),
            "label": s.label,
            "team": s.team,
            "project": s.project,
            "models": s.models,
            "rpm": s.rpm,
            "tpm": s.tpm,
            "budget_daily_usd": s.budget_daily_usd,
            "budget_monthly_usd": s.budget_monthly_usd,
            "provider_keys": s.provider_keys.keys().collect::<Vec<_>>(),
            "created_ms": (self.created_ms > 0).then_some(self.created_ms),
            "updated_ms": (self.updated_ms > 0).then_some(self.updated_ms),
        })
    }
}

pub(crate) fn validate_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`id` `{id}` must be 1 to 64 letters, digits, `.`, `_` or `-`"
        ))
    }
}

fn globs(patterns: &[String]) -> Result<Option<GlobSet>, String> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut set = GlobSetBuilder::new();
    for p in patterns {
        set.add(Glob::new(p).map_err(|e| format!("`models`: `{p}` is not a glob: {e}"))?);
    }
    set.build().map(Some).map_err(|e| format!("`models`: {e}"))
}

type ByHash = HashMap<KeyHash, Arc<VirtualKey>, BuildHasherDefault<DigestHasher>>;

/// An immutable set of keys, looked up by digest (one hash-map probe).
#[derive(Clone, Debug, Default)]
pub struct KeyIndex {
    by_hash: ByHash,
    by_id: BTreeMap<String, Arc<VirtualKey>>,
}

impl KeyIndex {
    /// An index of `keys`; two keys with one id, or one secret, are an error naming them.
    pub fn new(keys: impl IntoIterator<Item = VirtualKey>) -> Result<KeyIndex, String> {
        let mut index = KeyIndex::default();
        for key in keys {
            index.insert(Arc::new(key))?;
        }
        Ok(index)
    }

    pub(crate) fn insert(&mut self, key: Arc<VirtualKey>) -> Result<(), String> {
        if self.by_id.contains_key(key.id()) {
            return Err(format!("key id `{}` is used twice", key.id()));
        }
        if let Some(other) = self.by_hash.get(&key.hash) {
            return Err(format!(
                "keys `{}` and `{}` have the same secret",
                other.id(),
                key.id()
            ));
        }
        self.by_hash.insert(key.hash, key.clone());
        self.by_id.insert(key.id().to_owned(), key);
        Ok(())
    }

    /// The key with this digest.
    pub fn get(&self, hash: &KeyHash) -> Option<&Arc<VirtualKey>> {
        self.by_hash.get(hash)
    }

    /// The key with this id.
    pub fn by_id(&self, id: &str) -> Option<&Arc<VirtualKey>> {
        self.by_id.get(id)
    }

    /// Every key, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<VirtualKey>> {
        self.by_id.values()
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: &str, key: &str) -> KeySpec {
        KeySpec {
            id: id.into(),
            key: Some(key.into()),
            ..KeySpec::default()
        }
    }

    #[test]
    fn specs_validate_and_name_the_field() {
        let mut s = spec("a", "sk-long-enough");
        s.models = vec!["gpt-4o*".into()];
        s.budget_daily_usd = Some(2.5);
        s.provider_keys.insert("openai".into(), "sk-team".into());
        let k = VirtualKey::from_spec(s.clone(), Origin::Config).unwrap();
        assert!(k.allows("gpt-4o-mini"));
        assert!(!k.allows("claude-3"));
        assert_eq!(k.identity().key_id.as_deref(), Some("a"));
        assert_eq!(k.identity().quota.budget_daily, Some(Cost::from_usd(2.5)));
        assert_eq!(k.identity().provider_keys.get("openai"), Some("sk-team"));
        assert_eq!(*k.hash(), KeyHash::of("sk-long-enough"));
        assert!(k.spec().key.is_none(), "the plaintext is not kept");
        let text = serde_json::to_string(&s).unwrap();
        assert!(
            !text.contains("sk-long-enough") && !text.contains("sk-team"),
            "{text}"
        );

        let err = |s: KeySpec| VirtualKey::from_spec(s, Origin::Config).unwrap_err();
        assert!(
            err(KeySpec {
                id: "a".into(),
                ..KeySpec::default()
            })
            .contains("`key`")
        );
        assert!(err(spec("a", "short")).contains("at least 8"));
        assert!(err(spec("a b", "sk-long-enough")).contains("`id`"));
        let mut bad = spec("a", "sk-long-enough");
        bad.models = vec!["gpt-[".into()];
        assert!(err(bad).contains("`models`"));
        let mut bad = spec("a", "sk-long-enough");
        bad.budget_monthly_usd = Some(-1.0);
        assert!(err(bad).contains("`budget_monthly_usd`"));
        let mut bad = spec("a", "sk-long-enough");
        bad.key_hash = Some("sha256:00".into());
        assert!(err(bad).contains("not both"));
        let bad = KeySpec {
            id: "a".into(),
            key_hash: Some("sha256:00".into()),
            ..KeySpec::default()
        };
        assert!(err(bad).contains("`key_hash`"));
    }

    #[test]
    fn index_refuses_duplicates() {
        let k = |id: &str, key: &str| VirtualKey::from_spec(spec(id, key), Origin::Config).unwrap();
        let index = KeyIndex::new([k("a", "sk-aaaaaaaa"), k("b", "sk-bbbbbbbb")]).unwrap();
        assert_eq!(index.get(&KeyHash::of("sk-bbbbbbbb")).unwrap().id(), "b");
        assert!(index.get(&KeyHash::of("sk-cccccccc")).is_none());
        let e = KeyIndex::new([k("a", "sk-aaaaaaaa"), k("a", "sk-bbbbbbbb")]).unwrap_err();
        assert!(e.contains("`a` is used twice"), "{e}");
        let e = KeyIndex::new([k("a", "sk-aaaaaaaa"), k("b", "sk-aaaaaaaa")]).unwrap_err();
        assert!(e.contains("same secret"), "{e}");
    }
}
