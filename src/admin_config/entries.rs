//! The edits themselves: an entry added, replaced, moved or removed in the
//! config file's document.

use http::StatusCode;
use serde_json::{Map, Value, json};
use toml_edit::DocumentMut;

use super::write::Edited;
use super::{ApiError, Kind, doc};

/// Takes the entry's id out of `body` (required), and `position` (routes).
pub(super) fn split(
    kind: Kind,
    body: &mut Map<String, Value>,
    at: &str,
) -> Result<Option<String>, ApiError> {
    let field = kind.id_field();
    let id = match body.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(_) => {
            return Err(
                ApiError::invalid(format!("`{field}` must be a non-empty string"))
                    .field(format!("{at}.{field}")),
            );
        }
    };
    if kind == Kind::Model {
        body.remove("name");
    }
    Ok(id)
}

pub(super) fn position(
    body: &mut Map<String, Value>,
    query: Option<usize>,
) -> Result<Option<usize>, ApiError> {
    let from_body = match body.remove("position") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().ok_or_else(|| {
            ApiError::invalid("`position` must be a whole number (0 = tried first)")
                .field("position")
        })? as usize),
    };
    Ok(query.or(from_body))
}

/// Where `id` is in the file's `[[key]]` list (unnamed rules answer to `rules[i]`).
pub(super) fn index_of(kind: Kind, list: &toml_edit::ArrayOfTables, id: &str) -> Option<usize> {
    let field = kind.id_field();
    list.iter()
        .position(|t| t.get(field).and_then(|v| v.as_str()) == Some(id))
        .or_else(|| {
            let i: usize = id.strip_prefix("rules[")?.strip_suffix(']')?.parse().ok()?;
            (kind == Kind::Route && list.get(i).is_some_and(|t| !t.contains_key(field)))
                .then_some(i)
        })
}

pub(super) fn conflict(kind: Kind, id: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "conflict",
        format!("a {} `{id}` exists already", kind.what()),
    )
    .field(kind.id_field())
}

pub(super) fn create(
    kind: Kind,
    doc: &mut DocumentMut,
    mut body: Map<String, Value>,
    position_q: Option<usize>,
) -> Result<Edited, ApiError> {
    let key = kind.key();
    if kind == Kind::Model {
        let at = "virtual_models";
        let id = split(kind, &mut body, at)?
            .ok_or_else(|| ApiError::invalid("`name` is required").field("name"))?;
        let map = doc::map(doc, key).map_err(ApiError::invalid)?;
        if map.contains_key(&id) {
            return Err(conflict(kind, &id));
        }
        let at = format!("virtual_models.{id}");
        let table = doc::new_table(&body, &at).map_err(|e| ApiError::invalid(e).field(&at))?;
        map.insert(&id, toml_edit::Item::Table(table));
        return Ok(Edited { id: Some(id) });
    }
    let list = doc::entries(doc, key).map_err(ApiError::invalid)?;
    let pos = position(&mut body, position_q)?
        .unwrap_or(list.len())
        .min(list.len());
    let at = format!("{key}[{pos}]");
    let id = split(kind, &mut body, &at)?.ok_or_else(|| {
        ApiError::invalid(format!("`{}` is required", kind.id_field()))
            .field(format!("{at}.{}", kind.id_field()))
    })?;
    if index_of(kind, list, &id).is_some() {
        return Err(conflict(kind, &id));
    }
    if kind == Kind::Provider {
        keep_secrets(None, &mut body, &mut Vec::new(), &at)?;
    }
    let table = doc::new_table(&body, &at).map_err(ApiError::invalid)?;
    doc::insert_at(list, table, pos);
    Ok(Edited { id: Some(id) })
}

pub(super) fn replace(
    kind: Kind,
    doc: &mut DocumentMut,
    id: &str,
    mut body: Map<String, Value>,
    position_q: Option<usize>,
) -> Result<Edited, ApiError> {
    let key = kind.key();
    if kind == Kind::Model {
        let at = format!("virtual_models.{id}");
        if split(kind, &mut body, &at)?.is_some_and(|n| n != id) {
            return Err(ApiError::invalid(
                "a virtual model cannot be renamed: add it under the new name, then delete the old one",
            )
            .field("name"));
        }
        let map = doc::map(doc, key).map_err(ApiError::invalid)?;
        let table = map
            .get_mut(id)
            .and_then(|t| t.as_table_like_mut())
            .ok_or_else(|| kind.not_found(id))?;
        doc::fill(table, &body, &[], &at).map_err(ApiError::invalid)?;
        return Ok(Edited {
            id: Some(id.to_owned()),
        });
    }
    let list = doc::entries(doc, key).map_err(ApiError::invalid)?;
    let i = index_of(kind, list, id).ok_or_else(|| kind.not_found(id))?;
    let at = format!("{key}[{i}]");
    let pos = position(&mut body, position_q)?;
    let new_id = split(kind, &mut body, &at)?;
    let mut keep: Vec<&str> = Vec::new();
    match kind {
        Kind::Provider => {
            if new_id.as_deref().is_some_and(|n| n != id) {
                return Err(ApiError::invalid(
                    "a provider's `id` cannot change (rules name it): add a new provider, then delete this one",
                )
                .field(format!("{at}.id")));
            }
            body.insert("id".into(), json!(id));
            keep_secrets(list.get(i), &mut body, &mut keep, &at)?;
        }
        Kind::Route => {
            if let Some(n) = &new_id
                && n != id
                && index_of(kind, list, n).is_some()
            {
                return Err(conflict(kind, n));
            }
            // A body without `name` keeps the rule's name (it is the rule's address).
            if new_id.is_none() && list.get(i).is_some_and(|t| t.contains_key("name")) {
                body.insert("name".into(), json!(id));
            }
        }
        Kind::Model => {}
    }
    let id_after = new_id.unwrap_or_else(|| id.to_owned());
    match pos {
        Some(pos) => {
            let mut table = doc::take(list, i).ok_or_else(|| kind.not_found(id))?;
            doc::fill(&mut table, &body, &keep, &at).map_err(ApiError::invalid)?;
            doc::insert_at(list, table, pos);
        }
        None => {
            let table = list.get_mut(i).ok_or_else(|| kind.not_found(id))?;
            doc::fill(table, &body, &keep, &at).map_err(ApiError::invalid)?;
        }
    }
    Ok(Edited { id: Some(id_after) })
}

/// A provider's PUT: `api_key` left out (or `{"set": true}`) keeps the old
/// one, as do `headers` left out and header values given as `{"set": true}`.
pub(super) fn keep_secrets(
    old: Option<&toml_edit::Table>,
    body: &mut Map<String, Value>,
    keep: &mut Vec<&str>,
    at: &str,
) -> Result<(), ApiError> {
    let placeholder = json!({"set": true});
    let old_key = old.and_then(|t| t.get("api_key")).map(doc::to_json);
    match body.get("api_key") {
        None => keep.push("api_key"),
        Some(v) if *v == placeholder => match old_key {
            Some(k) => {
                body.insert("api_key".into(), k);
            }
            None => {
                return Err(ApiError::invalid(
                    "`api_key`: {\"set\": true} keeps a key, but there is none: give the key",
                )
                .field(format!("{at}.api_key")));
            }
        },
        Some(_) => {}
    }
    let old_headers = old.and_then(|t| t.get("headers")).map(doc::to_json);
    match body.get_mut("headers") {
        None => keep.push("headers"),
        Some(Value::Object(h)) => {
            for (name, v) in h.iter_mut() {
                if *v != placeholder {
                    continue;
                }
                match old_headers.as_ref().and_then(|o| o.get(name)) {
                    Some(old) => *v = old.clone(),
                    None => {
                        return Err(ApiError::invalid(format!(
                            "`headers.{name}`: {{\"set\": true}} keeps a value, but there is none: give the value"
                        ))
                        .field(format!("{at}.headers")));
                    }
                }
            }
        }
        Some(_) => {}
    }
    Ok(())
}

pub(super) fn remove(kind: Kind, doc: &mut DocumentMut, id: &str) -> Result<Edited, ApiError> {
    if kind == Kind::Model {
        let map = doc::map(doc, kind.key()).map_err(ApiError::invalid)?;
        map.remove(id).ok_or_else(|| kind.not_found(id))?;
        return Ok(Edited { id: None });
    }
    let list = doc::entries(doc, kind.key()).map_err(ApiError::invalid)?;
    let i = index_of(kind, list, id).ok_or_else(|| kind.not_found(id))?;
    list.remove(i);
    Ok(Edited { id: None })
}
