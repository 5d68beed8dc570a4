//! The field a configuration error is about, as a path the console can
//! show next to its input (`providers[2].base_url`, `rules[0].to`,
//! `virtual_models.fast.targets`).

use serde_json::Value;

use crate::routing::config::{RuleConfig, Targets, VirtualModelConfig};

/// The path of the field `message` (a configuration error) names, if it names one.
pub(super) fn locate(message: &str) -> Option<String> {
    if let Some(path) = serde_path(message) {
        return Some(path);
    }
    let (base, rest, section) = section(message)?;
    let known = field_names(section);
    let named = backticked(rest)
        .into_iter()
        .find(|t| known.iter().any(|k| k == t));
    let field = named.or_else(|| by_word(section, rest).map(str::to_owned));
    Some(match field {
        Some(f) => format!("{base}.{f}"),
        None => base,
    })
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Section {
    Provider,
    Rule,
    VirtualModel,
    Other,
}

/// A deserialisation error's own path: "`providers[2].kind`: unknown variant ...".
fn serde_path(message: &str) -> Option<String> {
    let tokens = backticked(message);
    let path = tokens.first()?;
    let top = path.split(['.', '[']).next().unwrap_or_default();
    let known_top = [
        "providers",
        "rules",
        "virtual_models",
        "profiles",
        "profile_targets",
        "classify",
        "discovery",
        "failover",
    ];
    let is_path = (path.contains('.') || path.contains('['))
        && known_top.contains(&top)
        && message.contains(&format!("`{path}`: "));
    if !is_path {
        return None;
    }
    // "`providers[1]`: unknown field `colour`": the field is the problem.
    let unknown = message
        .split_once("unknown field `")
        .and_then(|(_, rest)| rest.split('`').next());
    match unknown {
        Some(field) if !path.ends_with(&format!(".{field}")) => Some(format!("{path}.{field}")),
        _ => Some(path.clone()),
    }
}

/// The entry the message is about and the text after its name.
fn section(message: &str) -> Option<(String, &str, Section)> {
    for (prefix, section) in [
        ("providers[", Section::Provider),
        ("rules[", Section::Rule),
        ("profile_targets[", Section::Other),
        ("classify.tags[", Section::Other),
    ] {
        if let Some(at) = message.find(prefix) {
            let after = &message[at + prefix.len()..];
            let end = after.find(']')?;
            let index: usize = after[..end].parse().ok()?;
            let name = prefix.trim_end_matches('[');
            return Some((
                format!("{name}[{index}]"),
                skip_label(&after[end + 1..]),
                section,
            ));
        }
    }
    let at = message.find("virtual model `")?;
    let after = &message[at + "virtual model `".len()..];
    let end = after.find('`')?;
    Some((
        format!("virtual_models.{}", &after[..end]),
        &after[end + 1..],
        Section::VirtualModel,
    ))
}

/// Skips a " (`id`)" label right after an entry's index.
fn skip_label(rest: &str) -> &str {
    match rest
        .strip_prefix(" (`")
        .and_then(|r| r.find("`)").map(|e| &r[e + 2..]))
    {
        Some(r) => r,
        None => rest,
    }
}

fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// Field names of an entry, as written in TOML.
fn field_names(section: Section) -> Vec<String> {
    let sample = match section {
        Section::Provider => serde_json::to_value(
            crate::config::providers_from_env(|_| None)
                .into_iter()
                .next(),
        ),
        Section::Rule => serde_json::to_value(RuleConfig::default()),
        Section::VirtualModel => serde_json::to_value(VirtualModelConfig {
            targets: Targets::Many(Vec::new()),
            strategy: None,
            max_price: None,
            quality_bias: None,
            sticky: None,
            profile: None,
            description: None,
        }),
        Section::Other => return Vec::new(),
    };
    match sample {
        Ok(Value::Object(m)) => m.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// Messages that describe the field in words ("unknown provider in target").
fn by_word(section: Section, rest: &str) -> Option<&'static str> {
    let words: &[(&str, &str)] = match section {
        Section::Rule => &[
            ("target", "to"),
            ("destination", "to"),
            ("endpoint", "endpoints"),
            ("strategy", "strategy"),
            ("sticky", "sticky"),
            ("profile", "profile"),
            ("glob", "model_glob"),
            ("regex", "prompt_regex"),
            ("header", "headers"),
        ],
        Section::VirtualModel => &[
            ("target", "targets"),
            ("cycle", "targets"),
            ("strategy", "strategy"),
            ("sticky", "sticky"),
            ("profile", "profile"),
            ("name", "name"),
        ],
        Section::Provider => &[("header", "headers"), ("id", "id")],
        Section::Other => &[],
    };
    words
        .iter()
        .find(|(w, _)| rest.contains(w))
        .map(|(_, f)| *f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_field() {
        let cases = [
            (
                "providers[2] (`x`): `base_url` must be an http:// or https:// URL, got `ftp://a`",
                "providers[2].base_url",
            ),
            (
                "`providers[1].kind`: unknown variant `nope`, expected one of `openai`",
                "providers[1].kind",
            ),
            (
                "rule `r` (rules[3]): unknown provider `p` in target `p/m` (providers: a)",
                "rules[3].to",
            ),
            (
                "rule `r` (rules[0]): has no destination: set `to` (targets) or `discovered`",
                "rules[0].to",
            ),
            (
                "virtual model `a`: virtual model cycle: a -> b -> a",
                "virtual_models.a.targets",
            ),
            (
                "virtual model `a`: unknown profile `p` (define it under [profiles.p])",
                "virtual_models.a.profile",
            ),
            (
                "providers[0] (`model`): `headers` has an invalid header name `a b`",
                "providers[0].headers",
            ),
        ];
        for (message, field) in cases {
            assert_eq!(locate(message).as_deref(), Some(field), "{message}");
        }
        assert_eq!(
            locate("`providers[1]`: unknown field `colour`, expected one of `id`, `kind`")
                .as_deref(),
            Some("providers[1].colour")
        );
        assert_eq!(locate("`body_limit_bytes` must be greater than 0"), None);
    }
}
