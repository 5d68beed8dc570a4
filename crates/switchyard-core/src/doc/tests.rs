use super::*;

/// `input` read as a `Doc` and as a `Value`: the same answer or the same
/// error; and where the quick reader answers, node for node what serde_json
/// reads.
fn same_as_value(input: &[u8]) {
    if let Ok(text) = std::str::from_utf8(input)
        && let Some(quick) = fast::read(text)
    {
        let slow = by_serde(text).map_err(|e| e.to_string());
        assert_eq!(Ok(quick), slow, "{text}");
    }
    let ours = Doc::parse(Bytes::copy_from_slice(input));
    let theirs = serde_json::from_slice::<Value>(input);
    match (ours, theirs) {
        (Ok(doc), Ok(v)) => {
            assert_eq!(
                doc.root().to_value(),
                v,
                "{}",
                String::from_utf8_lossy(input)
            );
            // The views agree on every lookup the value answers.
            check(doc.root(), JsonRef::from(&v));
        }
        (Err(a), Err(b)) => {
            assert_eq!(
                a.to_string(),
                b.to_string(),
                "{}",
                String::from_utf8_lossy(input)
            );
        }
        (a, b) => panic!(
            "{}: {:?} against {:?}",
            String::from_utf8_lossy(input),
            a.map(|_| ()),
            b.map(|_| ())
        ),
    }
}

fn check(a: JsonRef<'_>, b: JsonRef<'_>) {
    assert_eq!(a.as_str(), b.as_str());
    assert_eq!(a.as_u64(), b.as_u64());
    assert_eq!(a.as_bool(), b.as_bool());
    assert_eq!(a.is_null(), b.is_null());
    assert_eq!(a.is_object(), b.is_object());
    assert_eq!(a.is_string(), b.is_string());
    match (a.items(), b.items()) {
        (Some(x), Some(y)) => {
            assert_eq!(x.len(), y.len());
            x.zip(y).for_each(|(x, y)| check(x, y));
        }
        (x, y) => assert_eq!(x.is_some(), y.is_some()),
    }
    if let Some(members) = b.members() {
        for (k, v) in members {
            check(a.get(k).expect("a key the value has"), v);
        }
        assert!(a.members().is_some());
    } else {
        assert!(a.members().is_none());
    }
    assert!(a.get("surely absent").is_none());
}

#[test]
fn reads_what_value_reads_and_refuses_what_it_refuses() {
    let inputs: &[&[u8]] = &[
        br#"{"a":"x\"y","b":[1,2.5,null,true,-3,0,-0.0,1e400],"c":{"d":"\u00e9\ud83d\ude00"}}"#,
        br#"{"a":"x\"y","b":[1,2.5,null,true,-3,0,-0.0],"c":{"d":"\u00e9\ud83d\ude00"}}"#,
        "{\"a\":\"h\u{e9}llo\", \"k\\u0065y\": [[], {}, [[1]], {\"\": \"\"}]}".as_bytes(),
        br#"{"model":"a","model":"b","n":18446744073709551615,"m":-9223372036854775808}"#,
        br#"{"over":18446744073709551616,"under":-9223372036854775809,"z":-0,"e":1E-400}"#,
        br#"  [ "top" , 1 ]  "#,
        br#""just a string""#,
        b"12",
        b"null",
        b"{\"a\":\"\xff\"}",
        b"{\"a\":1,}",
        b"[1,]",
        b"",
        b"[1, 2",
        b"\xef\xbb\xbf{}",
        b"\"\\ud800\"",
        b"\"\\ud800x\"",
        b"\"\\x\"",
        b"{\"a\":1} x",
        b"{\"a\":\"\x01\"}",
        b"{1:2}",
        b"[1e999]",
        b"[01]",
        b"[1.]",
        b"[-]",
        b"[.5]",
        b"[1e]",
        b"[tru]",
        b"[nul",
        b"\"abc",
        b"\"abc\\",
        b"{\"a\" 1}",
    ];
    for input in inputs {
        same_as_value(input);
    }
    // Past serde_json's nesting limit, both refuse.
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    same_as_value(deep.as_bytes());
}

/// A chat body, and every one-byte deletion of it, and replacement by a
/// byte that matters to the grammar.
#[test]
fn every_small_mutation_of_a_body_reads_alike() {
    let body = br#"{"model":"gpt-4o","messages":[{"role":"user","content":"say \"hi\"\n\u00e9 ok"},{"role":"assistant","content":[{"type":"text","text":"x"}]}],"temperature":0.7,"max_tokens":-12,"n":1e2,"stop":null,"stream":true,"big":18446744073709551616,"z":-0}"#;
    let text = std::str::from_utf8(body).expect("UTF-8");
    assert!(fast::read(text).is_some());
    let doc = Doc::parse(Bytes::from_static(body)).expect("JSON");
    assert_eq!(
        doc.root().get("max_tokens").map(JsonRef::to_value),
        Some((-12).into())
    );
    same_as_value(body);
    for i in 0..body.len() {
        let mut cut = body.to_vec();
        cut.remove(i);
        same_as_value(&cut);
        for b in *b"\\\"{}[],:0-.e\x01 a" {
            let mut changed = body.to_vec();
            changed[i] = b;
            same_as_value(&changed);
        }
    }
}

#[test]
fn the_quick_reader_reads_what_requests_hold() {
    for text in [
        r#"{"a":[1,-2,3.5,true,false,null,"s","e\"s"],"b":{}}"#,
        "[]",
        " \t\n\r{ \"k\" : [ ] } ",
        r#""\ud83d\ude00""#,
    ] {
        assert!(fast::read(text).is_some(), "{text}");
        same_as_value(text.as_bytes());
    }
    // Too deep for it: serde_json decides.
    let deep = format!("{}{}", "[".repeat(120), "]".repeat(120));
    assert!(fast::read(&deep).is_none());
    same_as_value(deep.as_bytes());
}

#[test]
fn a_node_takes_sixteen_bytes() {
    assert_eq!(std::mem::size_of::<Node>(), 16);
}

#[test]
fn a_repeated_key_reads_as_its_last_value() {
    let doc = Doc::parse(Bytes::from_static(br#"{"m":"a","x":1,"m":"b"}"#)).expect("JSON");
    assert_eq!(doc.root().get("m").and_then(JsonRef::as_str), Some("b"));
}

#[test]
fn the_body_is_shared_not_copied() {
    let body = Bytes::from(br#"{"a":"b"}"#.to_vec());
    let at = body.as_ptr();
    let doc = Doc::parse(body).expect("JSON");
    assert_eq!(doc.body().as_ptr(), at);
    assert_eq!(&doc.body()[..], br#"{"a":"b"}"#);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    #[test]
    fn any_json_reads_alike(v in any_json()) {
        let text = serde_json::to_vec(&v).expect("serialises");
        same_as_value(&text);
        let pretty = serde_json::to_vec_pretty(&v).expect("serialises");
        same_as_value(&pretty);
        // Cuts of it, for the errors.
        for cut in [1, text.len() / 2, text.len().saturating_sub(1)] {
            same_as_value(&text[..cut.min(text.len())]);
        }
    }
}

fn any_json() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e9f64..1e9).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((".{0,6}", inner), 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn a_control_character_anywhere_in_a_long_string_is_refused() {
    let text = "x".repeat(200);
    for at in [0, 1, 63, 64, 65, 127, 128, 199] {
        let mut s = text.clone().into_bytes();
        s[at] = b'\t';
        let body = [b"\"".as_slice(), &s, b"\""].concat();
        assert!(fast::read(std::str::from_utf8(&body).expect("UTF-8")).is_none());
        same_as_value(&body);
    }
    assert!(fast::read(&format!("\"{text}\"")).is_some());
}

#[test]
fn strings_of_every_length_around_the_short_look() {
    for n in 0..48 {
        let text = format!(r#"["{0}","{0}\n{0}","{0}"#, "a".repeat(n));
        // Unterminated: serde_json's error.
        assert!(fast::read(&text).is_none());
        same_as_value(text.as_bytes());
        let text = format!("{text}\"]");
        assert!(fast::read(&text).is_some(), "{text}");
        same_as_value(text.as_bytes());
    }
}
