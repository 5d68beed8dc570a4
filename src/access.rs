//! The `[auth]` section and the [`AuthLayer`] it builds.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use switchyard_auth::{
    AuthLayer, AuthMode, KeyHash, KeyIndex, KeySpec, KeyStore, Origin, VirtualKey,
};

use crate::config::{ProviderConfig, ProviderKind, Secret};

/// How clients authenticate, as written in config.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModeConfig {
    /// No key needed (local use).
    Open,
    /// One gateway key (`key` or `key_hash`).
    Key,
    /// Virtual keys (`[[auth.keys]]` and keys created through the admin API).
    VirtualKeys,
}

/// The `[auth]` section.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// `open`, `key` or `virtual_keys`; unset: `key` if `key`/`key_hash` is
    /// set, `virtual_keys` if `[[auth.keys]]` has entries, else `open`.
    pub mode: Option<ModeConfig>,
    /// The single gateway key (usually `"${SWITCHYARD_KEY}"`); in
    /// `virtual_keys` mode it is also accepted, as a key without limits.
    pub key: Option<Secret>,
    /// The gateway key's digest, `sha256:<hex>`, instead of `key`.
    pub key_hash: Option<String>,
    /// SQLite file keeping keys created through the admin API; unset: they
    /// are kept in memory and lost at exit. Read at start only.
    pub store: Option<PathBuf>,
    /// Virtual keys (`[[auth.keys]]`).
    pub keys: Vec<KeySpec>,
}

impl AuthConfig {
    /// The mode in force.
    pub fn mode(&self) -> AuthMode {
        match self.mode {
            Some(ModeConfig::Open) => AuthMode::Open,
            Some(ModeConfig::Key) => AuthMode::Key,
            Some(ModeConfig::VirtualKeys) => AuthMode::VirtualKeys,
            None if self.key.is_some() || self.key_hash.is_some() => AuthMode::Key,
            None if !self.keys.is_empty() => AuthMode::VirtualKeys,
            None => AuthMode::Open,
        }
    }

    /// Checks the section against the configured `providers`; errors name the entry and the field.
    pub fn validate(&self, providers: &[ProviderConfig]) -> Result<(), String> {
        self.gateway_hash()?;
        self.index()?;
        for (i, spec) in self.keys.iter().enumerate() {
            check_provider_keys(spec, providers)
                .map_err(|e| format!("auth.keys[{i}] (`{}`): {e}", spec.id))?;
        }
        match self.mode() {
            AuthMode::Key if self.key.is_none() && self.key_hash.is_none() => {
                Err("[auth]: mode \"key\" needs `key` (e.g. \"${SWITCHYARD_KEY}\") or `key_hash`".into())
            }
            AuthMode::Key if !self.keys.is_empty() => Err(
                "[auth]: mode \"key\" ignores `[[auth.keys]]`: set mode = \"virtual_keys\" to use them".into(),
            ),
            AuthMode::Open if !self.keys.is_empty() || self.key.is_some() || self.key_hash.is_some() => Err(
                "[auth]: mode \"open\" checks no key: remove `key`/`[[auth.keys]]` or choose mode \"key\" or \"virtual_keys\"".into(),
            ),
            _ => Ok(()),
        }
    }

    fn gateway_hash(&self) -> Result<Option<KeyHash>, String> {
        match (&self.key, &self.key_hash) {
            (Some(_), Some(_)) => Err("[auth]: set `key` or `key_hash`, not both".into()),
            (Some(k), None) if k.expose().len() < 8 || k.expose().contains(char::is_whitespace) => {
                Err("[auth]: `key` must be at least 8 characters, without spaces".into())
            }
            (Some(k), None) => Ok(Some(KeyHash::of(k.expose()))),
            (None, Some(h)) => KeyHash::parse(h)
                .map(Some)
                .map_err(|e| format!("[auth]: `key_hash` {e}")),
            (None, None) => Ok(None),
        }
    }

    fn index(&self) -> Result<KeyIndex, String> {
        let mut keys = Vec::with_capacity(self.keys.len());
        for (i, spec) in self.keys.iter().enumerate() {
            let at = format!("auth.keys[{i}] (`{}`)", spec.id);
            if self.keys[..i].iter().any(|k| k.id == spec.id) {
                return Err(format!("{at}: id `{}` is used by an earlier key", spec.id));
            }
            keys.push(
                VirtualKey::from_spec(spec.clone(), Origin::Config)
                    .map_err(|e| format!("{at}: {e}"))?,
            );
        }
        KeyIndex::new(keys).map_err(|e| format!("[auth]: {e}"))
    }

    /// Opens the key store (at start; it outlives reloads).
    pub fn open_store(&self) -> Result<KeyStore, String> {
        match &self.store {
            Some(path) => KeyStore::open(path).map_err(|e| format!("[auth]: {e}")),
            None => Ok(KeyStore::in_memory()),
        }
    }

    /// The layer for this configuration, looking run-time keys up in `store`.
    pub fn layer(&self, store: &KeyStore) -> Result<AuthLayer, String> {
        let gateway = self.gateway_hash()?;
        let layer = match self.mode() {
            AuthMode::Open => return Ok(AuthLayer::open()),
            AuthMode::Key => match gateway {
                Some(h) => return Ok(AuthLayer::key_hash(h)),
                None => return Err("[auth]: mode \"key\" needs `key` or `key_hash`".into()),
            },
            AuthMode::VirtualKeys => AuthLayer::virtual_keys(self.index()?),
        };
        let stored = store.index();
        for (i, spec) in self.keys.iter().enumerate() {
            if stored.by_id(&spec.id).is_some() {
                return Err(format!(
                    "auth.keys[{i}] (`{}`): the id is taken by a key created through the admin API (revoke it or rename this one)",
                    spec.id
                ));
            }
        }
        let layer = layer.store(store.clone());
        Ok(match gateway {
            Some(h) => layer.gateway_key(h),
            None => layer,
        })
    }
}

/// Checks that each of a key's `provider_keys` names a configured provider that takes a key.
pub fn check_provider_keys(spec: &KeySpec, providers: &[ProviderConfig]) -> Result<(), String> {
    for id in spec.provider_keys.keys() {
        match providers.iter().find(|p| &p.id == id) {
            None => {
                return Err(format!(
                    "`provider_keys.{id}`: no provider `{id}` is configured"
                ));
            }
            Some(p) if matches!(p.kind, ProviderKind::Vertex | ProviderKind::Mock) => {
                return Err(format!(
                    "`provider_keys.{id}`: provider `{id}` (kind \"{}\") takes no API key",
                    p.kind.as_str()
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> AuthConfig {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn modes_default_from_what_is_set() {
        assert_eq!(AuthConfig::default().mode(), AuthMode::Open);
        assert_eq!(parse(r#"key = "sk-gateway-1""#).mode(), AuthMode::Key);
        let c = parse("[[keys]]\nid = \"a\"\nkey = \"sk-aaaaaaaa\"\n");
        assert_eq!(c.mode(), AuthMode::VirtualKeys);
        c.validate(&[]).unwrap();
    }

    #[test]
    fn errors_name_entry_and_field() {
        let e = parse("[[keys]]\nid = \"a\"\nkey = \"sk-aaaaaaaa\"\n[[keys]]\nid = \"b\"\nkey = \"sk-bbbbbbbb\"\nmodels = [\"gpt-[\"]\n")
            .validate(&[])
            .unwrap_err();
        assert!(e.starts_with("auth.keys[1] (`b`): `models`"), "{e}");
        let e = parse("[[keys]]\nid = \"a\"\nkey = \"sk-aaaaaaaa\"\n[[keys]]\nid = \"a\"\nkey = \"sk-bbbbbbbb\"\n")
            .validate(&[])
            .unwrap_err();
        assert!(e.contains("auth.keys[1] (`a`): id `a` is used"), "{e}");
        let e = parse("[[keys]]\nid = \"a\"\nkey_hash = \"sha256:12\"\n")
            .validate(&[])
            .unwrap_err();
        assert!(e.starts_with("auth.keys[0] (`a`): `key_hash`"), "{e}");
        let e = parse("mode = \"key\"").validate(&[]).unwrap_err();
        assert!(e.contains("needs `key`"), "{e}");
        let e = parse("mode = \"open\"\nkey = \"sk-gateway-1\"")
            .validate(&[])
            .unwrap_err();
        assert!(e.contains("mode \"open\""), "{e}");
        assert!(toml::from_str::<AuthConfig>("mode = \"nope\"").is_err());
        assert!(toml::from_str::<AuthConfig>("[[keys]]\nid = \"a\"\nrps = 1").is_err());
    }

    #[test]
    fn provider_keys_name_configured_providers() {
        let mut providers = crate::config::providers_from_env(|_| None);
        let mut vertex = providers[0].clone();
        vertex.id = "vx".into();
        vertex.kind = ProviderKind::Vertex;
        providers.push(vertex);
        let keys = |p: &str| {
            parse(&format!(
                "[[keys]]\nid = \"a\"\nkey = \"sk-aaaaaaaa\"\nprovider_keys = {{ {p} = \"k\" }}\n"
            ))
        };
        keys("local").validate(&providers).unwrap();
        let e = keys("nope").validate(&providers).unwrap_err();
        assert_eq!(
            e,
            "auth.keys[0] (`a`): `provider_keys.nope`: no provider `nope` is configured"
        );
        let e = keys("vx").validate(&providers).unwrap_err();
        assert!(e.contains("(kind \"vertex\") takes no API key"), "{e}");
    }

    #[test]
    fn config_ids_may_not_shadow_store_keys() {
        let store = KeyStore::in_memory();
        store
            .create(
                KeySpec {
                    id: "a".into(),
                    ..KeySpec::default()
                },
                &|_| false,
            )
            .unwrap();
        let e = parse("[[keys]]\nid = \"a\"\nkey = \"sk-aaaaaaaa\"\n")
            .layer(&store)
            .unwrap_err();
        assert!(e.contains("auth.keys[0] (`a`)"), "{e}");
    }
}
