//! [`KeyStore`]: keys created at run time, in memory and (optionally) in a
//! SQLite file, with an in-memory index swapped on every change.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use rusqlite::{Connection, params};

use crate::keys::{KeyIndex, KeySpec, Origin, VirtualKey, validate_id};
use crate::secret::{KeyHash, generate_key, mask};

/// Why a key store operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// The request is invalid (the message names the field).
    Invalid,
    /// The id is taken.
    Conflict,
    /// No such key.
    NotFound,
    /// The key comes from the config file and cannot be changed at run time.
    ReadOnly,
    /// The database failed.
    Internal,
}

/// A key store failure: a kind and a message (never a secret).
#[derive(Clone, Debug)]
pub struct StoreError {
    /// What went wrong.
    pub kind: StoreErrorKind,
    /// For the admin API's answer.
    pub message: String,
}

impl StoreError {
    fn new(kind: StoreErrorKind, message: impl Into<String>) -> Self {
        StoreError {
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StoreError {}

fn db_error(e: rusqlite::Error) -> StoreError {
    StoreError::new(StoreErrorKind::Internal, format!("key store: {e}"))
}

/// Keys created through the admin API: an index read on every request
/// (lock-free), and a SQLite file written on every change, if configured.
///
/// Clones share the keys. Share one store between configuration generations
/// so keys survive a reload.
#[derive(Clone)]
pub struct KeyStore {
    inner: Arc<Inner>,
}

struct Inner {
    index: ArcSwap<KeyIndex>,
    /// `None`: keys last as long as the process.
    db: Mutex<Option<Connection>>,
    persistent: bool,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore")
            .field("keys", &self.inner.index.load().len())
            .field("persistent", &self.inner.persistent)
            .finish()
    }
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS keys (
    id TEXT PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    masked TEXT NOT NULL,
    spec TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
)";

impl KeyStore {
    /// A store in memory: keys last as long as the process.
    pub fn in_memory() -> KeyStore {
        KeyStore::with(KeyIndex::default(), None)
    }

    /// Opens (or creates, readable by its owner only) the SQLite file at `path` and loads its keys.
    pub fn open(path: &Path) -> Result<KeyStore, String> {
        let what = format!("key store `{}`", path.display());
        create_private(path).map_err(|e| format!("{what}: {e}"))?;
        let conn = Connection::open(path).map_err(|e| format!("{what}: {e}"))?;
        conn.execute_batch(SCHEMA)
            .map_err(|e| format!("{what}: {e}"))?;
        let index = load(&conn).map_err(|e| format!("{what}: {e}"))?;
        Ok(KeyStore::with(index, Some(conn)))
    }

    fn with(index: KeyIndex, db: Option<Connection>) -> KeyStore {
        KeyStore {
            inner: Arc::new(Inner {
                index: ArcSwap::from_pointee(index),
                persistent: db.is_some(),
                db: Mutex::new(db),
            }),
        }
    }

    /// Whether keys survive a restart.
    pub fn is_persistent(&self) -> bool {
        self.inner.persistent
    }

    /// The keys now (a cheap, lock-free snapshot).
    pub fn index(&self) -> arc_swap::Guard<Arc<KeyIndex>> {
        self.inner.index.load()
    }

    /// Creates a key from `spec` (no `key` or `key_hash`: the store generates
    /// the secret). `taken` says whether an id is used elsewhere (config keys).
    /// Returns the key and its plaintext, shown this once.
    pub fn create(
        &self,
        mut spec: KeySpec,
        taken: &dyn Fn(&str) -> bool,
    ) -> Result<(Arc<VirtualKey>, String), StoreError> {
        if spec.key.is_some() || spec.key_hash.is_some() {
            return Err(StoreError::new(
                StoreErrorKind::Invalid,
                "`key` and `key_hash` cannot be set: the gateway generates the key",
            ));
        }
        if spec.id.is_empty() {
            let suffix = generate_key().map_err(internal)?;
            spec.id = format!("key-{}", &suffix[suffix.len() - 10..]);
        }
        validate_id(&spec.id).map_err(|e| StoreError::new(StoreErrorKind::Invalid, e))?;
        let mut db = self.lock();
        if taken(&spec.id) || self.index().by_id(&spec.id).is_some() {
            return Err(StoreError::new(
                StoreErrorKind::Conflict,
                format!("a key with id `{}` exists", spec.id),
            ));
        }
        let secret = generate_key().map_err(internal)?;
        let now = now_ms();
        let key = VirtualKey::build(
            spec,
            KeyHash::of(&secret),
            mask(&secret),
            Origin::Store,
            now,
            now,
        )
        .map_err(|e| StoreError::new(StoreErrorKind::Invalid, e))?;
        if let Some(conn) = db.as_mut() {
            let spec = serde_json::to_string(&Stored::from(key.spec())).map_err(internal)?;
            conn.execute(
                "INSERT INTO keys (id, hash, masked, spec, created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![key.id(), key.hash().to_string(), key.masked(), spec, now, now],
            )
            .map_err(db_error)?;
        }
        let key = Arc::new(key);
        self.update(|index| index.insert(key.clone()).map_err(internal))?;
        Ok((key, secret))
    }

    /// Revokes the key `id`: it stops working at once. `Ok(false)`: no such key.
    pub fn revoke(&self, id: &str) -> Result<bool, StoreError> {
        let mut db = self.lock();
        if self.index().by_id(id).is_none() {
            return Ok(false);
        }
        if let Some(conn) = db.as_mut() {
            conn.execute("DELETE FROM keys WHERE id = ?1", params![id])
                .map_err(db_error)?;
        }
        self.update(|index| {
            *index = KeyIndex::new(
                index
                    .iter()
                    .filter(|k| k.id() != id)
                    .map(|k| VirtualKey::clone(k)),
            )
            .map_err(internal)?;
            Ok(())
        })?;
        Ok(true)
    }

    /// Gives the key `id` a new secret; the old one stops working at once.
    /// Returns the key and its new plaintext, shown this once.
    pub fn rotate(&self, id: &str) -> Result<(Arc<VirtualKey>, String), StoreError> {
        let mut db = self.lock();
        let old =
            self.index().by_id(id).cloned().ok_or_else(|| {
                StoreError::new(StoreErrorKind::NotFound, format!("no key `{id}`"))
            })?;
        let secret = generate_key().map_err(internal)?;
        let now = now_ms();
        let key = VirtualKey::build(
            old.spec().clone(),
            KeyHash::of(&secret),
            mask(&secret),
            Origin::Store,
            old.created_ms(),
            now,
        )
        .map_err(internal)?;
        if let Some(conn) = db.as_mut() {
            conn.execute(
                "UPDATE keys SET hash = ?2, masked = ?3, updated_ms = ?4 WHERE id = ?1",
                params![id, key.hash().to_string(), key.masked(), now],
            )
            .map_err(db_error)?;
        }
        let key = Arc::new(key);
        self.update(|index| {
            let others = index
                .iter()
                .filter(|k| k.id() != id)
                .map(|k| VirtualKey::clone(k));
            *index = KeyIndex::new(others.chain([VirtualKey::clone(&key)])).map_err(internal)?;
            Ok(())
        })?;
        Ok((key, secret))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Connection>> {
        self.inner.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies `edit` to a copy of the index and publishes it (callers hold the lock).
    fn update(
        &self,
        edit: impl FnOnce(&mut KeyIndex) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut next = KeyIndex::clone(&self.inner.index.load());
        edit(&mut next)?;
        self.inner.index.store(Arc::new(next));
        Ok(())
    }
}

fn internal(e: impl std::fmt::Display) -> StoreError {
    StoreError::new(StoreErrorKind::Internal, e.to_string())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A spec as kept in the store: everything but `key` and `key_hash`, provider keys included.
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    #[serde(flatten)]
    spec: serde_json::Value,
    #[serde(default)]
    provider_keys: std::collections::BTreeMap<String, String>,
}

impl From<&KeySpec> for Stored {
    fn from(spec: &KeySpec) -> Self {
        let mut value = serde_json::to_value(spec).unwrap_or_default();
        if let Some(m) = value.as_object_mut() {
            m.remove("provider_keys");
            m.remove("key");
            m.remove("key_hash");
        }
        Stored {
            spec: value,
            provider_keys: spec.provider_keys.clone(),
        }
    }
}

fn load(conn: &Connection) -> Result<KeyIndex, String> {
    let mut stmt = conn
        .prepare("SELECT id, hash, masked, spec, created_ms, updated_ms FROM keys ORDER BY id")
        .map_err(|e| e.to_string())?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })
        .map_err(|e| e.to_string())?;
    let mut keys = Vec::new();
    for row in rows {
        let (id, hash, masked, spec, created, updated) = row.map_err(|e| e.to_string())?;
        let bad = |e: String| format!("key `{id}`: {e}");
        let stored: Stored = serde_json::from_str(&spec).map_err(|e| bad(e.to_string()))?;
        let mut spec: KeySpec =
            serde_json::from_value(stored.spec).map_err(|e| bad(e.to_string()))?;
        spec.provider_keys = stored.provider_keys;
        let hash = KeyHash::parse(&hash).map_err(bad)?;
        keys.push(
            VirtualKey::build(spec, hash, masked, Origin::Store, created, updated).map_err(bad)?,
        );
    }
    KeyIndex::new(keys)
}

/// Creates `path` readable and writable by its owner only, if it does not exist.
fn create_private(path: &Path) -> std::io::Result<()> {
    if path.exists() {
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: &str) -> KeySpec {
        KeySpec {
            id: id.into(),
            team: Some("t".into()),
            rpm: Some(5),
            ..KeySpec::default()
        }
    }

    #[test]
    fn create_rotate_revoke_persist() {
        let dir =
            std::env::temp_dir().join(format!("switchyard-auth-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("keys.db");
        let store = KeyStore::open(&path).unwrap();
        let mut s = spec("a");
        s.provider_keys.insert("openai".into(), "sk-team-a".into());
        let (key, secret) = store.create(s, &|_| false).unwrap();
        assert!(secret.starts_with("sk-sy-"));
        assert_eq!(key.masked(), mask(&secret));
        assert!(store.index().get(&KeyHash::of(&secret)).is_some());
        let raw = std::fs::read(&path).unwrap();
        assert!(
            !raw.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "no plaintext on disk"
        );
        let e = store.create(spec("a"), &|_| false).unwrap_err();
        assert_eq!(e.kind, StoreErrorKind::Conflict);
        let e = store.create(spec("c"), &|id| id == "c").unwrap_err();
        assert_eq!(e.kind, StoreErrorKind::Conflict);
        let mut with_key = spec("d");
        with_key.key = Some("sk-mine-12345".into());
        assert_eq!(
            store.create(with_key, &|_| false).unwrap_err().kind,
            StoreErrorKind::Invalid
        );
        let (_, generated_id) = store
            .create(KeySpec::default(), &|_| false)
            .map(|(k, _)| ((), k.id().to_owned()))
            .unwrap();
        assert!(generated_id.starts_with("key-"));

        let (rotated, new_secret) = store.rotate("a").unwrap();
        assert_ne!(new_secret, secret);
        assert!(store.index().get(&KeyHash::of(&secret)).is_none());
        assert_eq!(
            store.index().get(&KeyHash::of(&new_secret)).unwrap().id(),
            "a"
        );
        assert_eq!(rotated.created_ms(), key.created_ms());
        assert_eq!(
            store.rotate("zz").unwrap_err().kind,
            StoreErrorKind::NotFound
        );

        drop(store);
        let again = KeyStore::open(&path).unwrap();
        let a = again
            .index()
            .get(&KeyHash::of(&new_secret))
            .cloned()
            .unwrap();
        assert_eq!(a.identity().team.as_deref(), Some("t"));
        assert_eq!(a.identity().quota.requests_per_minute, Some(5));
        assert_eq!(a.identity().provider_keys.get("openai"), Some("sk-team-a"));
        assert!(again.revoke("a").unwrap());
        assert!(!again.revoke("a").unwrap());
        assert!(again.index().get(&KeyHash::of(&new_secret)).is_none());
        drop(again);
        assert_eq!(KeyStore::open(&path).unwrap().index().len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
