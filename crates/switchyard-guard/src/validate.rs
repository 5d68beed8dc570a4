//! Checks that turn a pattern's match into a finding: checksums, issuer
//! prefixes, number ranges, token headers, entropy.

use base64::Engine;

/// The ASCII digits of `s`, if every other character is one separator kind (or none).
fn digits(s: &str) -> Option<Vec<u8>> {
    let mut sep = None;
    let mut out = Vec::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_digit() {
            out.push(b - b'0');
        } else if *sep.get_or_insert(b) != b {
            return None;
        }
    }
    Some(out)
}

/// The Luhn checksum holds.
pub(crate) fn luhn(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            let x = u32::from(x);
            if i % 2 == 1 {
                let y = x * 2;
                if y > 9 { y - 9 } else { y }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A payment card number: a known issuer prefix, its lengths, and Luhn.
pub(crate) fn card(s: &str) -> bool {
    let Some(d) = digits(s) else { return false };
    let n = d.len();
    let prefix = |k: usize| d.iter().take(k).fold(0u32, |a, &x| a * 10 + u32::from(x));
    let (p1, p2, p3, p4, p6) = (prefix(1), prefix(2), prefix(3), prefix(4), prefix(6));
    let issuer = match () {
        _ if p1 == 4 => matches!(n, 13 | 16 | 19), // Visa
        _ if (51..=55).contains(&p2) || (2221..=2720).contains(&p4) => n == 16, // Mastercard
        _ if p2 == 34 || p2 == 37 => n == 15,      // American Express
        _ if p4 == 6011 || p2 == 65 || (644..=649).contains(&p3) => (16..=19).contains(&n), // Discover
        _ if (3528..=3589).contains(&p4) => (16..=19).contains(&n),                         // JCB
        _ if p2 == 36 || p2 == 38 || p2 == 39 || (300..=305).contains(&p3) => {
            (14..=19).contains(&n)
        } // Diners
        _ if p2 == 62 => (16..=19).contains(&n), // UnionPay
        _ if (622126..=622925).contains(&p6) => n == 16,
        _ => false,
    };
    issuer && luhn(&d) && d.iter().any(|&x| x != d[0])
}

/// A US social security number: area not 000, 666 or 9xx; group not 00; serial not 0000.
pub(crate) fn ssn(s: &str) -> bool {
    let Some(d) = digits(s) else { return false };
    if d.len() != 9 {
        return false;
    }
    let num = |r: std::ops::Range<usize>| d[r].iter().fold(0u32, |a, &x| a * 10 + u32::from(x));
    let (area, group, serial) = (num(0..3), num(3..5), num(5..9));
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

/// A UK national insurance number's prefix is not one of the never-issued ones.
pub(crate) fn nino(s: &str) -> bool {
    let p = s.get(..2).unwrap_or_default();
    !matches!(p, "BG" | "GB" | "NK" | "KN" | "TN" | "NT" | "ZZ")
}

/// A Chinese resident id: region, a real birth date, ISO 7064 MOD 11-2 check character.
pub(crate) fn cn_resident_id(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    if !(b'1'..=b'8').contains(&b[0]) {
        return false;
    }
    let num =
        |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |a, &x| a * 10 + u32::from(x - b'0'));
    let (year, month, day) = (num(6..10), num(10..12), num(12..14));
    if !(1900..=2099).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return false;
    }
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = b[..17]
        .iter()
        .zip(W)
        .map(|(&x, w)| u32::from(x - b'0') * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize];
    b[17].to_ascii_uppercase() == check
}

/// IBAN lengths by country (the SEPA countries and a few more).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AT", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BR", 29),
    ("CH", 21),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("EE", 20),
    ("ES", 24),
    ("FI", 18),
    ("FR", 27),
    ("GB", 22),
    ("GI", 23),
    ("GR", 27),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IS", 26),
    ("IT", 27),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MT", 31),
    ("NL", 18),
    ("NO", 15),
    ("PK", 24),
    ("PL", 28),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("SA", 24),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("TR", 26),
    ("UA", 29),
];

/// An IBAN: a known country's length and the mod-97 check.
pub(crate) fn iban(s: &str) -> bool {
    let compact: Vec<u8> = s.bytes().filter(|b| *b != b' ').collect();
    let Some(country) = std::str::from_utf8(compact.get(..2).unwrap_or_default()).ok() else {
        return false;
    };
    let known = IBAN_LENGTHS.iter().find(|(c, _)| *c == country);
    if known.is_none_or(|&(_, n)| n != compact.len()) {
        return false;
    }
    let (head, tail) = compact.split_at(4);
    let mut rem: u32 = 0;
    for &c in tail.iter().chain(head) {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// A phone number: 8 to 15 digits; national formats need a plausible NANP shape.
pub(crate) fn phone(s: &str) -> bool {
    let d: Vec<u8> = s.bytes().filter(u8::is_ascii_digit).collect();
    if s.starts_with('+') {
        return (8..=15).contains(&d.len()) && d.iter().skip(1).any(|&x| x != d[1]);
    }
    match d.len() {
        // NANP: area and exchange codes start with 2-9.
        10 if d[0] != b'0' => d[0] >= b'2' && d[3] >= b'2',
        // A leading trunk 0 (UK, FR, DE ...): 10 or 11 digits.
        10 | 11 => d[0] == b'0' && d[1] != b'0',
        _ => false,
    }
}

/// A JWT: its header is base64url JSON with an `alg`.
pub(crate) fn jwt(s: &str) -> bool {
    let Some(header) = s.split('.').next() else {
        return false;
    };
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let Ok(raw) = engine.decode(header.trim_end_matches('=')) else {
        return false;
    };
    serde_json::from_slice::<serde_json::Value>(&raw)
        .ok()
        .is_some_and(|v| v.get("alg").is_some_and(serde_json::Value::is_string))
}

/// Shannon entropy of `s`, in bits per character.
pub(crate) fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[usize::from(b)] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Words that name a placeholder, not a value.
const PLACEHOLDERS: [&str; 12] = [
    "example",
    "xxxx",
    "your",
    "placeholder",
    "changeme",
    "redacted",
    "dummy",
    "sample",
    "here",
    "secret",
    "password",
    "token",
];

/// Whether `v` is written as a placeholder or a reference, not a literal value.
pub(crate) fn placeholder(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    v.starts_with(['$', '<', '{', '%', '*'])
        || v.bytes().all(|b| b == v.as_bytes()[0])
        || PLACEHOLDERS.iter().any(|p| lower.contains(p))
}

/// A UUID (`8-4-4-4-12` hex).
fn uuid(v: &str) -> bool {
    let parts: Vec<&str> = v.split('-').collect();
    parts.len() == 5
        && parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A generic secret: long enough, random enough, and not an identifier, a
/// path, a version, a UUID or a placeholder.
pub(crate) fn generic_secret(v: &str) -> bool {
    let v = v.trim_end_matches(['.', ',', ';']);
    if v.len() < 16 || placeholder(v) || uuid(v) || v.starts_with(['.', '/', '-']) {
        return false;
    }
    let has = |f: fn(&u8) -> bool| v.as_bytes().iter().any(f);
    let (lower, upper, digit) = (
        has(u8::is_ascii_lowercase),
        has(u8::is_ascii_uppercase),
        has(u8::is_ascii_digit),
    );
    // Identifiers and code: dotted paths, calls, snake/kebab words without digits.
    if v.contains("..") || v.contains('(') || !digit {
        return false;
    }
    let dots = v.bytes().filter(|&b| b == b'.').count();
    if dots > 0
        && v.split('.')
            .all(|p| p.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_'))
    {
        return false;
    }
    let hex = v.bytes().all(|b| b.is_ascii_hexdigit());
    let e = entropy(v);
    if hex {
        return v.len() >= 32 && e >= 3.0;
    }
    let classes = usize::from(lower) + usize::from(upper) + usize::from(digit);
    classes >= 2 && e >= 3.5
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards() {
        assert!(card("4111 1111 1111 1111"));
        assert!(card("5555-5555-5555-4444"));
        assert!(card("378282246310005"));
        assert!(card("6011111111111117"));
        assert!(!card("4111 1111 1111 1112")); // Luhn
        assert!(!card("4111-1111 1111 1111")); // mixed separators
        assert!(!card("1234567812345670")); // no issuer
        assert!(!card("0000000000000000"));
    }

    #[test]
    fn ids() {
        assert!(ssn("123-45-6789"));
        assert!(!ssn("000-12-3456") || !ssn("666-12-3456") || !ssn("900-12-3456"));
        assert!(!ssn("666-12-3456"));
        assert!(!ssn("123-00-4567"));
        assert!(!ssn("123-45-0000"));
        assert!(cn_resident_id("11010519491231002X"));
        assert!(!cn_resident_id("110105194912310021"));
        assert!(!cn_resident_id("110105194913310025"));
        assert!(iban("GB82 WEST 1234 5698 7654 32"));
        assert!(iban("DE89370400440532013000"));
        assert!(!iban("DE89370400440532013001"));
        assert!(!iban("XX89370400440532013000"));
        assert!(nino("AB123456C"));
        assert!(!nino("GB123456A"));
    }

    #[test]
    fn tokens() {
        assert!(jwt(
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.x"
        ));
        assert!(!jwt("eyJub3QiOiJhIGp3dCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.x"));
        assert!(generic_secret("q8Xv2LmN0pRt5sWz7YbC"));
        assert!(!generic_secret("process.env.API_KEY"));
        assert!(!generic_secret("550e8400-e29b-41d4-a716-446655440000"));
        assert!(!generic_secret("my_secret_token_name"));
        assert!(!generic_secret("YOUR_API_KEY_HERE_1234"));
        assert!((entropy("aaaa") - 0.0).abs() < 1e-9);
        assert!((entropy("abcd") - 2.0).abs() < 1e-9);
    }
}
