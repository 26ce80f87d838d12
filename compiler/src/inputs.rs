//! Tensors in JSON: `{"name": nested array}` inputs (and lists of them for
//! calibration), parsed with their shapes checked and every value finite.

use serde_json::Value as Json;
use std::collections::BTreeMap;
use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum InputError {
    #[error("not valid JSON: {0}")]
    Json(String),
    #[error("NaN and Infinity are not valid JSON numbers (found in the input)")]
    NonFiniteLiteral,
    #[error("the top level must be an object mapping input names to arrays")]
    NotObject,
    #[error("missing input '{0}'")]
    Missing(String),
    #[error("unknown input '{0}' (the model's inputs are: {1})")]
    Unknown(String, String),
    #[error("input '{name}' has shape {found:?}, expected {expected:?}")]
    Shape {
        name: String,
        found: Vec<usize>,
        expected: Vec<usize>,
    },
    #[error("input '{name}': {reason}")]
    Value { name: String, reason: String },
}

/// Shape and row-major values of a nested JSON array of numbers.
fn flatten(v: &Json, name: &str) -> Result<(Vec<usize>, Vec<f64>), InputError> {
    fn walk(
        v: &Json,
        depth: usize,
        shape: &mut Vec<usize>,
        out: &mut Vec<f64>,
        name: &str,
    ) -> Result<(), InputError> {
        let err = |reason: String| InputError::Value {
            name: name.to_string(),
            reason,
        };
        match v {
            Json::Array(items) => {
                if shape.len() == depth {
                    shape.push(items.len());
                } else if shape.len() < depth || shape[depth] != items.len() {
                    return Err(err("ragged nested array".into()));
                }
                for it in items {
                    walk(it, depth + 1, shape, out, name)?;
                }
                Ok(())
            }
            Json::Number(n) => {
                if shape.len() != depth {
                    return Err(err("ragged nested array".into()));
                }
                let f = n
                    .as_f64()
                    .ok_or_else(|| err(format!("{n} is not a number")))?;
                if !f.is_finite() || !(f as f32).is_finite() {
                    return Err(err(format!(
                        "value {n} at flat index {} is not a finite float32",
                        out.len()
                    )));
                }
                out.push(f);
                Ok(())
            }
            other => Err(err(format!("expected numbers, found {}", kind(other)))),
        }
    }
    let mut shape = Vec::new();
    let mut out = Vec::new();
    walk(v, 0, &mut shape, &mut out, name)?;
    Ok((shape, out))
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::String(_) => "a string",
        Json::Object(_) => "an object",
        _ => "a value",
    }
}

fn parse_object(text: &str) -> Result<serde_json::Map<String, Json>, InputError> {
    let v: Json = serde_json::from_str(text).map_err(|e| {
        let t = text.to_ascii_lowercase();
        if t.contains("nan") || t.contains("infinity") {
            InputError::NonFiniteLiteral
        } else {
            InputError::Json(e.to_string())
        }
    })?;
    match v {
        Json::Object(m) => Ok(m),
        _ => Err(InputError::NotObject),
    }
}

fn check_names(
    m: &serde_json::Map<String, Json>,
    expected: &[(String, Vec<usize>)],
) -> Result<(), InputError> {
    for k in m.keys() {
        if !expected.iter().any(|(n, _)| n == k) {
            let names = expected
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(InputError::Unknown(k.clone(), names));
        }
    }
    Ok(())
}

/// Parses `{"name": nested array}` for each expected `(name, shape)`.
pub fn parse_inputs(
    text: &str,
    expected: &[(String, Vec<usize>)],
) -> Result<BTreeMap<String, Vec<f64>>, InputError> {
    let m = parse_object(text)?;
    check_names(&m, expected)?;
    let mut out = BTreeMap::new();
    for (name, shape) in expected {
        let v = m
            .get(name)
            .ok_or_else(|| InputError::Missing(name.clone()))?;
        let (found, data) = flatten(v, name)?;
        if &found != shape {
            return Err(InputError::Shape {
                name: name.clone(),
                found,
                expected: shape.clone(),
            });
        }
        out.insert(name.clone(), data);
    }
    Ok(out)
}

/// Parses calibration data: each input name maps to a list of samples (or a
/// single sample). Returns one map per sample.
pub fn parse_samples(
    text: &str,
    expected: &[(String, Vec<usize>)],
) -> Result<Vec<BTreeMap<String, Vec<f64>>>, InputError> {
    let m = parse_object(text)?;
    check_names(&m, expected)?;
    let mut per_input: Vec<Vec<Vec<f64>>> = Vec::new();
    for (name, shape) in expected {
        let v = m
            .get(name)
            .ok_or_else(|| InputError::Missing(name.clone()))?;
        let (found, data) = flatten(v, name)?;
        let n = shape.iter().product::<usize>();
        let samples = if &found == shape {
            vec![data]
        } else if found.len() == shape.len() + 1 && &found[1..] == shape.as_slice() {
            data.chunks(n.max(1)).map(|c| c.to_vec()).collect()
        } else {
            let mut expected = vec![0];
            expected.extend(shape);
            return Err(InputError::Shape {
                name: name.clone(),
                found,
                expected,
            });
        };
        per_input.push(samples);
    }
    let count = per_input.iter().map(|s| s.len()).min().unwrap_or(0);
    if count == 0 || per_input.iter().any(|s| s.len() != count) {
        return Err(InputError::Value {
            name: expected.first().map(|e| e.0.clone()).unwrap_or_default(),
            reason: "every input needs the same, non-zero number of samples".into(),
        });
    }
    Ok((0..count)
        .map(|i| {
            expected
                .iter()
                .zip(&per_input)
                .map(|((n, _), s)| (n.clone(), s[i].clone()))
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x() -> Vec<(String, Vec<usize>)> {
        vec![("x".to_string(), vec![1, 2])]
    }

    #[test]
    fn parses_and_checks_shapes() {
        assert_eq!(
            parse_inputs(r#"{"x": [[1, 2.5]]}"#, &x()).unwrap()["x"],
            vec![1.0, 2.5]
        );
        assert!(matches!(
            parse_inputs(r#"{"x": [1, 2.5]}"#, &x()),
            Err(InputError::Shape { .. })
        ));
        assert!(matches!(
            parse_inputs(r#"{"x": [[1], [2, 3]]}"#, &x()),
            Err(InputError::Value { .. })
        ));
        assert_eq!(
            parse_inputs(r#"{"y": [[1, 2]]}"#, &x()),
            Err(InputError::Unknown("y".into(), "x".into()))
        );
        assert_eq!(
            parse_inputs(r#"{}"#, &x()),
            Err(InputError::Missing("x".into()))
        );
        assert_eq!(
            parse_inputs(r#"{"x": [[NaN, 1]]}"#, &x()),
            Err(InputError::NonFiniteLiteral)
        );
        assert!(matches!(
            parse_inputs(r#"{"x": [[1e300, 1]]}"#, &x()),
            Err(InputError::Value { .. })
        ));
        assert!(matches!(
            parse_inputs(r#"{"x": [["a", 1]]}"#, &x()),
            Err(InputError::Value { .. })
        ));
        assert_eq!(parse_inputs("[1]", &x()), Err(InputError::NotObject));
    }

    #[test]
    fn samples_accept_a_list_or_one() {
        assert_eq!(
            parse_samples(r#"{"x": [[[1, 2]], [[3, 4]]]}"#, &x())
                .unwrap()
                .len(),
            2
        );
        assert_eq!(parse_samples(r#"{"x": [[1, 2]]}"#, &x()).unwrap().len(), 1);
    }
}
