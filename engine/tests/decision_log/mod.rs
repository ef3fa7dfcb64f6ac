//! Properties of the decision log: canonical JSON round-trips, every byte of a signed line
//! matters, and the hash chain catches deleted, swapped, duplicated and cut-off lines.

use std::collections::BTreeMap;

use proptest::prelude::*;
use stage4_engine::decision_log::canonical::canonical_object_members;
use stage4_engine::decision_log::{
    Algorithm, DecisionLogWriter, Json, SigningKey, VerifyOptions, verify_log,
};
use stage4_engine::domain::SimTime;

fn key() -> SigningKey {
    SigningKey::new(
        "property-test-key-0123456789abcdef",
        Some("prop".to_owned()),
    )
}

fn options() -> VerifyOptions {
    VerifyOptions {
        key: Some(key()),
        ..VerifyOptions::default()
    }
}

/// Strings that exercise every escaping rule: quotes, backslashes, control characters,
/// DEL, U+2028, non-ASCII, astral characters.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_]{0,8}",
        proptest::collection::vec(
            prop_oneof![
                Just('"'),
                Just('\\'),
                Just('\n'),
                Just('\u{1}'),
                Just('\u{1f}'),
                Just('\u{7f}'),
                Just('\u{2028}'),
                Just('é'),
                Just('😀'),
                Just('/'),
                any::<char>(),
                proptest::char::range('a', 'z'),
            ],
            0..8
        )
        .prop_map(|chars| chars.into_iter().collect()),
    ]
}

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(0.1),
        Just(1e16),
        Just(1e-7),
        Just(-0.0),
        Just(f64::NAN),
        Just(f64::INFINITY),
        (-1_000_000i64..1_000_000).prop_map(|n| n as f64 / 1000.0),
    ]
}

fn json() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::int),
        "-?[1-9][0-9]{18,30}".prop_map(Json::Int),
        float().prop_map(Json::Float),
        text().prop_map(Json::Str),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
            proptest::collection::btree_map(text(), inner, 0..6).prop_map(Json::Object),
        ]
    })
}

fn entry() -> impl Strategy<Value = Json> {
    proptest::collection::btree_map(text(), json(), 0..8).prop_map(|mut map: BTreeMap<_, _>| {
        // The writer owns these members.
        for reserved in ["signature", "seq", "prev_hash"] {
            map.remove(reserved);
        }
        Json::Object(map)
    })
}

/// True when some object key, at any depth, holds a character canonical JSON escapes.
fn has_escaped_key(value: &Json) -> bool {
    match value {
        Json::Object(map) => map.iter().any(|(k, v)| {
            k.chars().any(|c| c < ' ' || c == '"' || c == '\\') || has_escaped_key(v)
        }),
        Json::Array(items) => items.iter().any(has_escaped_key),
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn canonical_json_round_trips(value in json()) {
        let text = value.canonical();
        let parsed = Json::parse(&text).expect("canonical text parses");
        prop_assert_eq!(parsed.canonical(), text);
    }

    #[test]
    fn the_canonical_fast_path_never_accepts_non_canonical_text(
        value in entry(),
        mutation in 0usize..6,
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let canonical = value.canonical();
        // Canonical text is recognised unless a key needs an escape (then it falls back).
        if !has_escaped_key(&value) {
            prop_assert!(canonical_object_members(&canonical).is_some(), "{}", canonical);
        }
        // Whatever text it accepts must be exactly canonical.
        let mut bytes = canonical.clone().into_bytes();
        let i = at.index(bytes.len());
        match mutation {
            0 => bytes[i] = byte,
            1 => bytes.insert(i, b' '),
            2 => { bytes.remove(i); }
            3 => bytes.insert(i, byte),
            _ => {}
        }
        if let Ok(text) = String::from_utf8(bytes)
            && canonical_object_members(&text).is_some()
        {
            let parsed = Json::parse(&text).expect("accepted text parses");
            prop_assert_eq!(parsed.canonical(), text);
        }
    }

    #[test]
    fn any_single_byte_change_of_a_signed_line_is_caught(
        value in entry(),
        chained in any::<bool>(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut writer = if chained {
            DecisionLogWriter::new_chained(key(), Algorithm::HmacSha256)
        } else {
            DecisionLogWriter::new(key(), Algorithm::HmacSha256)
        };
        let line = writer.append(value);
        let (_, summary) = verify_log(&line, options());
        prop_assert!(summary.is_ok(), "{:?}", summary);

        let mut bytes = line.clone().into_bytes();
        let i = at.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        let Ok(text) = String::from_utf8(bytes) else {
            return Ok(()); // not UTF-8: the verifier reports it (tested in the unit tests)
        };
        let (_, summary) = verify_log(&text, options());
        if summary.is_ok() {
            // The only changes that may pass spell the same entry differently (e.g. `\u001f`
            // as `\u001F`): the signed content is unchanged.
            let original = Json::parse(&line).unwrap().canonical();
            let changed = Json::parse(&text).map(|j| j.canonical());
            prop_assert_eq!(Ok(original), changed, "{} passed", text);
        }
    }

    #[test]
    fn chain_damage_is_detected(
        n in 2usize..12,
        damage in 0usize..4,
        a in any::<prop::sample::Index>(),
        b in any::<prop::sample::Index>(),
    ) {
        let mut writer = DecisionLogWriter::new_chained(key(), Algorithm::HmacSha256);
        let mut lines: Vec<String> = (0..n)
            .map(|i| {
                let mut e = Json::object();
                e.insert("event", Json::str("operator_action")).insert("n", Json::int(i as i64));
                writer.append(e)
            })
            .collect();
        lines.push(writer.seal(SimTime::from_unix_secs(60)).unwrap());
        let full = lines.join("\n");
        let (_, summary) = verify_log(&full, options());
        prop_assert!(summary.is_ok());
        let head = summary.head_hash.clone().unwrap();
        let total = lines.len();

        let i = a.index(total);
        let mut damaged = lines.clone();
        let anchored = match damage {
            0 => { damaged.remove(i); false }
            1 => {
                let j = b.index(total);
                prop_assume!(i != j);
                damaged.swap(i, j);
                false
            }
            2 => { damaged.insert(i, lines[b.index(total)].clone()); false }
            _ => { damaged.truncate(i.max(1)); true }
        };
        let text = damaged.join("\n");
        // Without anchors: deletions, swaps and duplicates break the chain or the seal...
        let (_, plain) = verify_log(&text, options());
        // ...and a cut-off tail is caught by each anchor.
        let sealed = VerifyOptions { require_seal: true, ..options() };
        let by_head = VerifyOptions { expect_head: Some(head), ..options() };
        let by_count = VerifyOptions { expect_entries: Some(total as u64), ..options() };
        if anchored {
            prop_assert!(!verify_log(&text, sealed).1.is_ok());
            prop_assert!(!verify_log(&text, by_head).1.is_ok());
            prop_assert!(!verify_log(&text, by_count).1.is_ok());
        } else if damage == 0 && i == total - 1 {
            // Deleting the seal is a cut-off tail: only an anchor sees it.
            prop_assert!(!verify_log(&text, sealed).1.is_ok());
        } else {
            prop_assert!(!plain.is_ok(), "damage {} at {} went unnoticed", damage, i);
        }
    }
}

#[test]
fn twenty_thousand_entries_chain_without_a_problem() {
    // Seq numbers beyond small sizes and long chains stay consistent.
    let mut writer = DecisionLogWriter::new_chained(key(), Algorithm::HmacSha384);
    let mut text = String::new();
    for i in 0..20_000 {
        let mut e = Json::object();
        e.insert("event", Json::str("order"))
            .insert("n", Json::int(i));
        text.push_str(&writer.append(e));
        text.push('\n');
    }
    let (reports, summary) = verify_log(&text, options());
    assert!(reports.iter().all(|r| r.is_ok()));
    assert_eq!(summary.chained, 20_000);
    assert_eq!(summary.head_seq, Some(20_000));
    assert_eq!(summary.head_hash.as_deref(), writer.last_hash());
}
