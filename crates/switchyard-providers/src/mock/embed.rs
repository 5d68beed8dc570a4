//! Embeddings: deterministic unit vectors hashed from the input text.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{Response, StatusCode};
use serde_json::{Value, json};
use switchyard_core::{Body, Protocol, Rejection};

use super::prompt::tokens_text;
use super::{Meta, json_response};

/// The most inputs one request may carry (OpenAI's own limit).
const MAX_INPUTS: usize = 2048;
/// The longest vector a request may ask for.
const MAX_DIMENSIONS: u64 = 4096;

/// The answer to an embeddings request, or a 400 naming the field at fault.
pub(super) fn answer(request: &Value, meta: &Meta<'_>, default_dims: usize) -> Response<Body> {
    match embeddings(request, meta, default_dims) {
        Ok(value) => json_response(StatusCode::OK, &value),
        Err(rejection) => rejection.into_response(Protocol::OpenAi),
    }
}

fn embeddings(request: &Value, meta: &Meta<'_>, default_dims: usize) -> Result<Value, Rejection> {
    let inputs = inputs(request.get("input")).ok_or_else(|| {
        Rejection::bad_request(format!(
            "`input` must be a string, an array of 1 to {MAX_INPUTS} strings, or token arrays"
        ))
        .param("input")
    })?;
    let dims = match request.get("dimensions") {
        None | Some(Value::Null) => default_dims,
        Some(v) => v
            .as_u64()
            .filter(|d| (1..=MAX_DIMENSIONS).contains(d))
            .and_then(|d| usize::try_from(d).ok())
            .ok_or_else(|| {
                Rejection::bad_request(format!(
                    "`dimensions` must be an integer from 1 to {MAX_DIMENSIONS}"
                ))
                .param("dimensions")
            })?,
    };
    let base64 = match request.get("encoding_format").and_then(Value::as_str) {
        None | Some("float") => false,
        Some("base64") => true,
        Some(other) => {
            return Err(Rejection::bad_request(format!(
                "`encoding_format` must be \"float\" or \"base64\", not {other:?}"
            ))
            .param("encoding_format"));
        }
    };
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, text)| {
            let vector = vector(text, dims);
            let embedding = if base64 {
                let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
                json!(STANDARD.encode(bytes))
            } else {
                json!(vector)
            };
            json!({ "object": "embedding", "index": index, "embedding": embedding })
        })
        .collect();
    let tokens: u64 = inputs
        .iter()
        .map(|text| (text.chars().count() as u64).div_ceil(4).max(1))
        .sum();
    Ok(json!({
        "object": "list",
        "data": data,
        "model": meta.model,
        "usage": { "prompt_tokens": tokens, "total_tokens": tokens },
    }))
}

/// `input`: a string, an array of strings, an array of tokens, or an array of token arrays.
fn inputs(input: Option<&Value>) -> Option<Vec<String>> {
    let items = match input? {
        Value::String(s) => return Some(vec![s.clone()]),
        Value::Array(items) => items,
        _ => return None,
    };
    if items.is_empty() || items.len() > MAX_INPUTS {
        return None;
    }
    if items.iter().all(Value::is_number) {
        return Some(vec![tokens_text(items)]);
    }
    items
        .iter()
        .map(|item| match item {
            Value::String(s) => Some(s.clone()),
            Value::Array(tokens) if tokens.iter().all(Value::is_number) => {
                Some(tokens_text(tokens))
            }
            _ => None,
        })
        .collect()
}

/// FNV-1a, 64 bits.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A unit vector of `dims` components, a function of `text` alone.
fn vector(text: &str, dims: usize) -> Vec<f32> {
    let seed = fnv1a(text.as_bytes());
    let mut v: Vec<f32> = (0..dims as u64)
        .map(|i| {
            // xorshift64*, seeded per dimension; never zero.
            let mut x = (seed ^ (i + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1;
            for _ in 0..2 {
                x ^= x >> 12;
                x ^= x << 25;
                x ^= x >> 27;
            }
            let r = x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40;
            (r as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_deterministic_unit_and_distinct() {
        let a = vector("hello", 64);
        assert_eq!(a, vector("hello", 64));
        assert_ne!(a, vector("hello!", 64));
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{norm}");
        assert!(a.iter().all(|x| (-1.0..=1.0).contains(x)));
        assert!(vector("x", 0).is_empty());
    }

    #[test]
    fn input_shapes() {
        assert_eq!(inputs(Some(&json!("a"))), Some(vec!["a".to_owned()]));
        assert_eq!(
            inputs(Some(&json!(["a", "b"]))),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(inputs(Some(&json!([1, 2]))), Some(vec!["1 2".to_owned()]));
        assert_eq!(
            inputs(Some(&json!([[1], [2, 3]]))),
            Some(vec!["1".to_owned(), "2 3".to_owned()])
        );
        assert_eq!(inputs(Some(&json!([]))), None);
        assert_eq!(inputs(Some(&json!(["a", 1]))), None);
        assert_eq!(inputs(Some(&json!({"a": 1}))), None);
        assert_eq!(inputs(None), None);
    }
}
