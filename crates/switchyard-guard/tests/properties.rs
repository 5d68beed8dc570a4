//! Properties over arbitrary text: scanning never panics, findings sit on
//! character boundaries, and a secret between arbitrary text is redacted.

use proptest::prelude::*;
use switchyard_guard::{Action, Policy};

const SECRETS: [&str; 6] = [
    "AKIAQ4ZK7W2M5N8P3R6T",
    "jane.doe@gmail.com",
    "4111 1111 1111 1111",
    "ghp_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6",
    "GB82 WEST 1234 5698 7654 32",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let policy = Policy::new(Action::Redact);
        for h in policy.scan_text(&text) {
            prop_assert!(text.is_char_boundary(h.span.start) && text.is_char_boundary(h.span.end));
        }
        let _ = policy.redact_text(&text);
    }

    #[test]
    fn a_secret_between_arbitrary_words_is_redacted(
        before in "\\PC{0,60}",
        after in "\\PC{0,60}",
        i in 0..SECRETS.len(),
    ) {
        let policy = Policy::new(Action::Redact);
        let secret = SECRETS[i];
        let text = format!("{before}\n{secret}\n{after}");
        let redacted = policy.redact_text(&text).unwrap();
        prop_assert!(!redacted.contains(secret), "{redacted}");
        prop_assert!(redacted.contains("[REDACTED:"));
    }
}
