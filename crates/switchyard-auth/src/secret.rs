//! Key material: SHA-256 digests compared in constant time, generated keys, masks.

use std::fmt;
use std::hash::{Hash, Hasher};

use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;

/// The prefix of every key Switchyard generates.
pub const KEY_PREFIX: &str = "sk-sy-";

/// Random base62 characters after [`KEY_PREFIX`] (43 × log2(62) ≈ 256 bits).
const KEY_CHARS: usize = 43;

/// The SHA-256 digest of a key: what is stored and looked up, never the key.
///
/// Equality is constant time; `Debug` shows a short prefix of the digest only.
#[derive(Clone, Copy, Eq)]
pub struct KeyHash([u8; 32]);

impl KeyHash {
    /// The digest of `key`.
    pub fn of(key: &str) -> KeyHash {
        let d = ring::digest::digest(&ring::digest::SHA256, key.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        KeyHash(out)
    }

    /// Parses `sha256:<64 hex digits>` (the form written in config and by [`to_string`](ToString::to_string)).
    pub fn parse(text: &str) -> Result<KeyHash, String> {
        let hex = text
            .strip_prefix("sha256:")
            .ok_or_else(|| "must look like `sha256:<64 hex digits>`".to_owned())?;
        if hex.len() != 64 {
            return Err(format!(
                "must have 64 hex digits after `sha256:`, got {}",
                hex.len()
            ));
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                .map_err(|_| "must have only hex digits after `sha256:`".to_owned())?;
        }
        Ok(KeyHash(out))
    }

    /// The raw digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl PartialEq for KeyHash {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Hash for KeyHash {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // The digest is uniformly distributed already: 8 of its bytes are a good hash.
        let mut first = [0u8; 8];
        first.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(first));
    }
}

impl fmt::Display for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sha256:")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "KeyHash(sha256:{:02x}{:02x}{:02x}{:02x}…)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}

/// A hasher for maps keyed by [`KeyHash`]: passes its one `u64` through.
#[derive(Default, Clone, Copy)]
pub(crate) struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A new key, `sk-sy-` and 43 base62 characters from the operating system's CSPRNG.
pub fn generate_key() -> Result<String, String> {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let rng = SystemRandom::new();
    let mut key = String::with_capacity(KEY_PREFIX.len() + KEY_CHARS);
    key.push_str(KEY_PREFIX);
    let mut buf = [0u8; 64];
    while key.len() < KEY_PREFIX.len() + KEY_CHARS {
        rng.fill(&mut buf)
            .map_err(|_| "the system's random number generator failed".to_owned())?;
        // 248 = 4 × 62: rejecting larger bytes keeps every character equally likely.
        for b in buf.iter().filter(|b| **b < 248) {
            if key.len() == KEY_PREFIX.len() + KEY_CHARS {
                break;
            }
            key.push(char::from(ALPHABET[usize::from(*b % 62)]));
        }
    }
    Ok(key)
}

/// A form of `key` safe to show: `sk-sy-…abcd` (the prefix up to its last `-`, and the last 4 characters).
///
/// Keys shorter than 12 characters show nothing but `…`.
pub fn mask(key: &str) -> String {
    if key.len() < 12 || !key.is_ascii() {
        return "…".to_owned();
    }
    let limit = 9.min(key.len() - 8);
    let head = key[..limit].rfind('-').map_or("", |i| &key[..=i]);
    format!("{head}…{}", &key[key.len() - 4..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_round_trip_and_compare() {
        let h = KeyHash::of("sk-test");
        let text = h.to_string();
        assert!(text.starts_with("sha256:"));
        assert_eq!(text.len(), 7 + 64);
        assert_eq!(KeyHash::parse(&text).unwrap(), h);
        assert_ne!(KeyHash::of("sk-tesu"), h);
        // Known vector: sha256("abc").
        assert_eq!(
            KeyHash::of("abc").to_string(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(KeyHash::parse("md5:00").is_err());
        assert!(KeyHash::parse("sha256:abc").is_err());
        assert!(KeyHash::parse(&format!("sha256:{}", "zz".repeat(32))).is_err());
        assert!(!format!("{h:?}").contains(&text[7..]));
    }

    #[test]
    fn generated_keys_look_right_and_differ() {
        let a = generate_key().unwrap();
        let b = generate_key().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("sk-sy-"));
        assert_eq!(a.len(), 6 + 43);
        assert!(a[6..].chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn masks_show_little() {
        assert_eq!(mask("sk-sy-abcdefghijklmnopWXYZ"), "sk-sy-…WXYZ");
        assert_eq!(mask("team-a-secret-key-1234"), "team-a-…1234");
        assert_eq!(mask("abcdefghijklmnop"), "…mnop");
        assert_eq!(mask("short"), "…");
    }
}
