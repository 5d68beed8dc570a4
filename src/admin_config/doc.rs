//! Edits of the config file's TOML document that keep what they don't
//! touch: comments, layout and the order of everything else.

use serde_json::{Map, Number, Value};
use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table, TableLike};

/// A JSON value as TOML (`null` has no TOML form: leave the key out instead).
pub(super) fn to_toml(v: &Value, at: &str) -> Result<toml_edit::Value, String> {
    Ok(match v {
        Value::Null => return Err(format!("`{at}`: null has no TOML form; leave it out")),
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.into(),
            (None, Some(f)) => f.into(),
            _ => return Err(format!("`{at}`: {n} does not fit in a TOML number")),
        },
        Value::String(s) => s.as_str().into(),
        Value::Array(items) => {
            let mut a = Array::new();
            for (i, item) in items.iter().enumerate() {
                a.push(to_toml(item, &format!("{at}[{i}]"))?);
            }
            toml_edit::Value::Array(a)
        }
        Value::Object(map) => {
            let mut t = InlineTable::new();
            for (k, item) in map.iter().filter(|(_, v)| !v.is_null()) {
                t.insert(k, to_toml(item, &format!("{at}.{k}"))?);
            }
            toml_edit::Value::InlineTable(t)
        }
    })
}

/// A TOML item as JSON (dates become strings).
pub(super) fn to_json(item: &Item) -> Value {
    match item {
        Item::None => Value::Null,
        Item::Value(v) => value_json(v),
        Item::Table(t) => table_json(t),
        Item::ArrayOfTables(a) => Value::Array(a.iter().map(|t| table_json(t)).collect()),
    }
}

fn table_json(t: &dyn TableLike) -> Value {
    Value::Object(t.iter().map(|(k, v)| (k.to_owned(), to_json(v))).collect())
}

fn value_json(v: &toml_edit::Value) -> Value {
    use toml_edit::Value as T;
    match v {
        T::String(s) => Value::String(s.value().clone()),
        T::Integer(i) => Value::from(*i.value()),
        T::Float(f) => Number::from_f64(*f.value()).map_or(Value::Null, Value::Number),
        T::Boolean(b) => Value::Bool(*b.value()),
        T::Datetime(d) => Value::String(d.value().to_string()),
        T::Array(a) => Value::Array(a.iter().map(value_json).collect()),
        T::InlineTable(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_owned(), value_json(v)))
                .collect(),
        ),
    }
}

/// The `[[key]]` entries, made an array of tables if written inline (`key = [{...}]`).
pub(super) fn entries<'d>(
    doc: &'d mut DocumentMut,
    key: &str,
) -> Result<&'d mut ArrayOfTables, String> {
    let item = doc
        .as_table_mut()
        .entry(key)
        .or_insert(Item::ArrayOfTables(ArrayOfTables::new()));
    if item.is_array() {
        let taken = std::mem::take(item);
        *item = match taken.into_array_of_tables() {
            Ok(a) => Item::ArrayOfTables(a),
            Err(_) => {
                return Err(format!(
                    "`{key}` in the config file is not a list of tables"
                ));
            }
        };
    }
    item.as_array_of_tables_mut()
        .ok_or_else(|| format!("`{key}` in the config file is not a list of tables"))
}

/// The `[key]` table (created without a header of its own when missing).
pub(super) fn map<'d>(
    doc: &'d mut DocumentMut,
    key: &str,
) -> Result<&'d mut dyn TableLike, String> {
    let item = doc.as_table_mut().entry(key).or_insert_with(|| {
        let mut t = Table::new();
        t.set_implicit(true);
        Item::Table(t)
    });
    item.as_table_like_mut()
        .ok_or_else(|| format!("`{key}` in the config file is not a table"))
}

/// Makes `table` hold `body`: keys absent from `body` go (except `keep`),
/// values that did not change are left as written, comments included.
pub(super) fn fill(
    table: &mut dyn TableLike,
    body: &Map<String, Value>,
    keep: &[&str],
    at: &str,
) -> Result<(), String> {
    let old: Vec<String> = table.iter().map(|(k, _)| k.to_owned()).collect();
    for k in old {
        if !body.contains_key(&k) && !keep.contains(&k.as_str()) {
            table.remove(&k);
        }
    }
    for (k, v) in body {
        if v.is_null() {
            table.remove(k);
            continue;
        }
        if table.get(k).map(to_json).as_ref() == Some(v) {
            continue;
        }
        let value = to_toml(v, &format!("{at}.{k}"))?;
        table.insert(k, Item::Value(value));
    }
    Ok(())
}

/// A new table holding `body`, in `body`'s key order.
pub(super) fn new_table(body: &Map<String, Value>, at: &str) -> Result<Table, String> {
    let mut t = Table::new();
    fill(&mut t, body, &[], at)?;
    Ok(t)
}

/// Puts `table` at index `at` of `array` (at the end if past it), printed in
/// that place of the file.
pub(super) fn insert_at(array: &mut ArrayOfTables, mut table: Table, at: usize) {
    let mut tables: Vec<Table> = array.iter().cloned().collect();
    let at = at.min(tables.len());
    // The file prints tables by position, ties in list order: take the
    // position of the table displaced (or of the one before, at the end).
    let neighbour = tables
        .get(at)
        .or_else(|| at.checked_sub(1).and_then(|i| tables.get(i)));
    if let Some(pos) = neighbour.and_then(Table::position) {
        table.set_position(pos);
    }
    tables.insert(at, table);
    array.clear();
    for t in tables {
        array.push(t);
    }
}

/// Takes the table at `index` out of `array`.
pub(super) fn take(array: &mut ArrayOfTables, index: usize) -> Option<Table> {
    let t = array.get(index)?.clone();
    array.remove(index);
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FILE: &str = r#"# The gateway.
listen = "127.0.0.1:8080"

# First provider.
[[providers]]
id = "a"   # keep me
kind = "mock"

[[rules]]
name = "one"
to = "a/x"

# Profiles.
[profiles.p]
max = { max_tokens = 10 }

[[rules]]
name = "two"
to = "a/y"
"#;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn edits_keep_comments_and_order() {
        let mut doc: DocumentMut = FILE.parse().unwrap();
        let rules = entries(&mut doc, "rules").unwrap();
        let t = new_table(&obj(json!({"name": "zero", "to": "a/z"})), "rules[0]").unwrap();
        insert_at(rules, t, 0);
        let moved = take(rules, 2).unwrap();
        insert_at(rules, moved, 1);
        let providers = entries(&mut doc, "providers").unwrap();
        let a = providers.get_mut(0).unwrap();
        fill(
            a,
            &obj(json!({"id": "a", "kind": "mock", "models": ["m"]})),
            &[],
            "p",
        )
        .unwrap();
        let out = doc.to_string();
        assert!(out.starts_with("# The gateway.\n"), "{out}");
        assert!(out.contains("id = \"a\"   # keep me"), "{out}");
        assert!(out.contains("models = [\"m\"]"), "{out}");
        assert!(out.contains("# Profiles.\n[profiles.p]"), "{out}");
        let names: Vec<&str> = ["\"zero\"", "\"two\"", "\"one\""]
            .into_iter()
            .map(|n| &out[out.find(n).unwrap()..][..n.len()])
            .collect();
        let at = |n: &str| out.find(n).unwrap();
        assert!(
            at("\"zero\"") < at("\"two\"") && at("\"two\"") < at("\"one\""),
            "{out}"
        );
        assert_eq!(names.len(), 3);
        let back: toml::Value = toml::from_str(&out).unwrap();
        assert_eq!(back["rules"][0]["name"].as_str(), Some("zero"));
        assert_eq!(back["rules"][2]["name"].as_str(), Some("one"));
    }

    #[test]
    fn inline_lists_and_new_maps() {
        let mut doc: DocumentMut = "rules = [{ name = \"r\", to = \"a/b\" }]\n"
            .parse()
            .unwrap();
        let rules = entries(&mut doc, "rules").unwrap();
        assert_eq!(rules.len(), 1);
        let vms = map(&mut doc, "virtual_models").unwrap();
        let t = new_table(&obj(json!({"targets": ["a/b"], "strategy": null})), "vm").unwrap();
        vms.insert("fast", Item::Table(t));
        let out = doc.to_string();
        assert!(
            out.contains("[virtual_models.fast]\ntargets = [\"a/b\"]"),
            "{out}"
        );
        assert!(!out.contains("[virtual_models]\n"), "{out}");
        assert!(!out.contains("strategy"), "{out}");
        assert_eq!(to_json(&doc["rules"][0]["to"]), json!("a/b"));
        assert!(to_toml(&json!(null), "x").is_err());
    }
}
