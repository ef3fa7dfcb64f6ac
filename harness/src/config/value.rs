//! Lenient access to raw YAML values, with Python's truthiness: the audits read the config the
//! way the reference reads a parsed dict, so a wrong type becomes a finding instead of a crash.

use serde_norway::Value;

/// Member `key` of a mapping; `None` for other values or a missing key.
pub fn get<'a>(node: &'a Value, key: &str) -> Option<&'a Value> {
    match node {
        Value::Mapping(map) => map.get(key),
        _ => None,
    }
}

/// Python truthiness: null, false, 0, "", [] and {} are false.
pub fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Sequence(s)) => !s.is_empty(),
        Some(Value::Mapping(m)) => !m.is_empty(),
        Some(Value::Tagged(t)) => truthy(Some(&t.value)),
    }
}

/// A scalar member as trimmed text (numbers and booleans as written); `None` when absent,
/// blank, or not a scalar.
pub fn str_of(node: &Value, key: &str) -> Option<String> {
    scalar_text(get(node, key)?)
}

/// A scalar as trimmed text; `None` when blank or not a scalar.
pub fn scalar_text(v: &Value) -> Option<String> {
    let text = match v {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// A number member (integers and floats; numeric strings too, as Python's `float()` would).
pub fn f64_of(node: &Value, key: &str) -> Option<f64> {
    match get(node, key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A list of scalars: a sequence, or a single scalar as a one-item list. Blank items dropped.
pub fn str_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Sequence(items)) => items.iter().filter_map(scalar_text).collect(),
        Some(other) => scalar_text(other).into_iter().collect(),
        None => Vec::new(),
    }
}

/// What a value is, for messages: `a mapping`, `a list`, `null`, ...
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// Mapping entries with string keys, in file order.
pub fn entries(v: &Value) -> Vec<(String, &Value)> {
    match v {
        Value::Mapping(map) => map
            .iter()
            .filter_map(|(k, v)| scalar_text(k).map(|k| (k, v)))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truthiness_matches_python() {
        let doc: Value = serde_norway::from_str(
            "a: null\nb: false\nc: 0\nd: ''\ne: []\nf: {}\ng: x\nh: 1\ni: [1]\nj: true\n",
        )
        .unwrap();
        let got: Vec<bool> = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "missing"]
            .iter()
            .map(|k| truthy(get(&doc, k)))
            .collect();
        assert_eq!(
            got,
            [
                false, false, false, false, false, false, true, true, true, true, false
            ]
        );
    }

    #[test]
    fn scalars_lists_and_numbers() {
        let doc: Value =
            serde_norway::from_str("s: '  x  '\nb: '   '\nl: [a, ' ', b]\none: c\nn: '90.5'\n")
                .unwrap();
        assert_eq!(str_of(&doc, "s").as_deref(), Some("x"));
        assert_eq!(str_of(&doc, "b"), None);
        assert_eq!(str_list(get(&doc, "l")), ["a", "b"]);
        assert_eq!(str_list(get(&doc, "one")), ["c"]);
        assert_eq!(f64_of(&doc, "n"), Some(90.5));
    }
}
