//! The detectors against a corpus of real-looking (fake, format-valid)
//! secrets and personal data that must be caught, and of ordinary prompts,
//! prose and code that must pass. Prints precision and recall.
#![expect(clippy::unwrap_used, reason = "test data files are part of the crate")]

use serde_json::Value;
use switchyard_guard::{Action, Kind, Policy};

fn load(name: &str) -> Vec<Value> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn corpus_precision_and_recall() {
    let policy = Policy::new(Action::Log);
    let positives = load("positives.jsonl");
    let negatives = load("negatives.jsonl");
    assert!(positives.len() >= 100 && negatives.len() >= 100);
    let (mut caught, mut missed, mut false_pos) = (0usize, Vec::new(), Vec::new());
    for item in &positives {
        let text = item["text"].as_str().unwrap();
        let value = item["value"].as_str().unwrap();
        let kind = Kind::from_name(item["kind"].as_str().unwrap()).unwrap();
        let at = text.find(value).unwrap();
        let hits = policy.scan_text(text);
        // Caught: a finding of the right kind covering the value's start.
        let hit = hits
            .iter()
            .any(|h| h.kind == kind && h.span.start <= at && at < h.span.end);
        if hit {
            caught += 1;
        } else {
            missed.push(format!("{kind}: {text:?} -> {hits:?}"));
        }
        // Other kinds the item really holds (a service account's e-mail).
        let also = item["also"].as_array().cloned().unwrap_or_default();
        let other = |h: &&switchyard_guard::Hit| {
            h.kind != kind && !also.iter().any(|a| a == h.kind.as_str())
        };
        for h in hits.iter().filter(other) {
            false_pos.push(format!(
                "{} in positive {text:?}: {:?}",
                h.kind,
                &text[h.span.clone()]
            ));
        }
    }
    for item in &negatives {
        let text = item["text"].as_str().unwrap();
        for h in policy.scan_text(text) {
            false_pos.push(format!(
                "{} in {text:?}: {:?}",
                h.kind,
                &text[h.span.clone()]
            ));
        }
    }
    let recall = caught as f64 / positives.len() as f64;
    let precision = caught as f64 / (caught + false_pos.len()) as f64;
    println!(
        "guard corpus: {} positives, {} negatives; recall {recall:.3} ({caught}/{}), precision {precision:.3} ({} false positives)",
        positives.len(),
        negatives.len(),
        positives.len(),
        false_pos.len()
    );
    for m in &missed {
        println!("missed: {m}");
    }
    for f in &false_pos {
        println!("false positive: {f}");
    }
    assert!(recall >= 0.95, "recall {recall:.3}");
    assert!(precision >= 0.97, "precision {precision:.3}");
}

#[test]
fn every_kind_is_in_the_corpus() {
    let positives = load("positives.jsonl");
    for kind in Kind::ALL {
        assert!(
            positives.iter().any(|p| p["kind"] == kind.as_str()),
            "no positive of kind {kind}"
        );
    }
}
