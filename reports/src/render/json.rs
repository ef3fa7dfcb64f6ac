//! Pretty JSON with sorted keys, as the reference tools print their reports
//! (`json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False)`): two-space indent,
//! `": "` between key and value, raw UTF-8, keys sorted by code point at every level whatever
//! order the schema declares its fields in.

use serde::Serialize;
use serde_json::Value;

/// Renders `value` as sorted, two-space-indented JSON (no trailing newline).
pub fn to_pretty_sorted<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    let value = serde_json::to_value(value)?;
    serde_json::to_string_pretty(&Sorted(&value))
}

/// Renders `value` as compact JSON with sorted keys and no spaces (no trailing newline).
pub fn to_compact_sorted<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    let value = serde_json::to_value(value)?;
    serde_json::to_string(&Sorted(&value))
}

/// A borrowed value that serialises objects with their keys sorted, independent of whether
/// `serde_json` keeps insertion order (its `preserve_order` feature may be on through another
/// crate in the build).
struct Sorted<'a>(&'a Value);

impl Serialize for Sorted<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                let mut out = serializer.serialize_map(Some(keys.len()))?;
                for key in keys {
                    out.serialize_entry(key, &Sorted(&map[key]))?;
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    out.serialize_element(&Sorted(item))?;
                }
                out.end()
            }
            other => other.serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Report {
        zeta: u32,
        alpha: Vec<Inner>,
        name: &'static str,
    }

    #[derive(Serialize)]
    struct Inner {
        message: &'static str,
        check: &'static str,
    }

    #[test]
    fn keys_are_sorted_at_every_level_and_unicode_stays_raw() {
        let report = Report {
            zeta: 1,
            alpha: vec![Inner {
                message: "Zażółć",
                check: "env:X",
            }],
            name: "r",
        };
        let text = to_pretty_sorted(&report).unwrap();
        assert_eq!(
            text,
            "{\n  \"alpha\": [\n    {\n      \"check\": \"env:X\",\n      \"message\": \"Zażółć\"\n    }\n  ],\n  \"name\": \"r\",\n  \"zeta\": 1\n}"
        );
        assert_eq!(
            to_compact_sorted(&report).unwrap(),
            r#"{"alpha":[{"check":"env:X","message":"Zażółć"}],"name":"r","zeta":1}"#
        );
    }

    #[test]
    fn empty_containers_print_like_python() {
        let text = to_pretty_sorted(&serde_json::json!({"issues": [], "meta": {}})).unwrap();
        assert_eq!(text, "{\n  \"issues\": [],\n  \"meta\": {}\n}");
    }
}
