//! Entry members written once, for two destinations: a [`Json`] object (what
//! [`Entry::to_json`](super::Entry::to_json) returns) or an [`ObjectText`], the same object as
//! canonical text built in one buffer. The engine writes thousands of entries per simulated
//! hour; building each as a tree of owned strings only to print it costs more than the
//! signature. Both destinations give the same canonical bytes (a property test holds them to
//! it), so entry builders are written once against [`Members`].

use std::ops::Range;

use crate::domain::SimTime;

use super::canonical::{
    Json, MemberValue, write_json_string, write_members_merged, write_python_float,
};

/// Where an entry's members go. Setting a member twice keeps the last value.
pub trait Members {
    /// Sets member `key` to a string.
    fn put_str(&mut self, key: &str, value: &str);
    /// Sets member `key` to a float.
    fn put_float(&mut self, key: &str, value: f64);
    /// Sets member `key` to an integer.
    fn put_int(&mut self, key: &str, value: i128);
    /// Sets member `key` to any value.
    fn put_json(&mut self, key: &str, value: &Json);
    /// True when member `key` is set.
    fn has(&self, key: &str) -> bool;
}

impl Members for Json {
    fn put_str(&mut self, key: &str, value: &str) {
        self.insert(key, Json::str(value));
    }
    fn put_float(&mut self, key: &str, value: f64) {
        self.insert(key, Json::Float(value));
    }
    fn put_int(&mut self, key: &str, value: i128) {
        self.insert(key, Json::int(value));
    }
    fn put_json(&mut self, key: &str, value: &Json) {
        self.insert(key, value.clone());
    }
    fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

/// A JSON object as canonical text under construction: every key and value is written into
/// one buffer as it is set, and the members are put in key order (equal keys keeping the last
/// value, as [`Json::insert`] does) only when the object is written out.
#[derive(Clone, Debug, Default)]
pub struct ObjectText {
    text: String,
    /// The members, in the order they were set.
    members: Vec<Member>,
}

/// One member of an [`ObjectText`]: where its key and value are in the text.
#[derive(Clone, Debug)]
struct Member {
    /// The raw key.
    key: Range<usize>,
    /// The canonical value.
    value: Range<usize>,
    /// The key's first eight bytes, big-endian and zero-padded: ordering by it agrees with
    /// ordering by the key wherever the two differ, so most comparisons stop here.
    prefix: u64,
}

impl Member {
    /// A member with its key at `key` of `text`.
    fn new(text: &str, key: Range<usize>, value: Range<usize>) -> Member {
        let prefix = key_prefix(&text.as_bytes()[key.clone()]);
        Member { key, value, prefix }
    }
}

/// A key's first eight bytes, big-endian and zero-padded (see [`Member::prefix`]).
fn key_prefix(key: &[u8]) -> u64 {
    let mut prefix = [0u8; 8];
    let n = key.len().min(8);
    prefix[..n].copy_from_slice(&key[..n]);
    u64::from_be_bytes(prefix)
}

impl ObjectText {
    /// An empty object.
    pub fn new() -> ObjectText {
        ObjectText {
            text: String::with_capacity(1024),
            members: Vec::with_capacity(32),
        }
    }

    /// A new entry holding `event` and `timestamp`, like [`base_entry`](super::entry::base_entry).
    pub fn entry(event: &str, at: SimTime) -> ObjectText {
        let mut object = ObjectText::new();
        object.start_entry(event, at);
        object
    }

    /// Empties the object and starts a new entry in it, as [`entry`](Self::entry) does. The
    /// engine writes every line through one object this way, so its buffers are allocated once
    /// per run instead of once per line.
    pub fn start_entry(&mut self, event: &str, at: SimTime) {
        self.text.clear();
        self.members.clear();
        self.put_str("event", event);
        let key = self.key("timestamp");
        self.text.push('"');
        at.write_rfc3339(&mut self.text);
        self.text.push('"');
        self.close(key);
    }

    /// The same members as any object; `None` when `json` is not an object.
    pub fn from_json(json: &Json) -> Option<ObjectText> {
        let mut object = ObjectText::new();
        for (key, value) in json.as_object()? {
            object.put_json(key, value);
        }
        Some(object)
    }

    /// The same object as a tree.
    pub fn to_json(&self) -> Json {
        let mut json = Json::object();
        for Member { key, value, .. } in &self.members {
            let value = Json::parse(&self.text[value.clone()]).expect("members are canonical JSON");
            json.insert(&self.text[key.clone()], value);
        }
        json
    }

    /// Writes `key` and returns where its value starts.
    fn key(&mut self, key: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(key);
        start..self.text.len()
    }

    /// Records the member whose key is `key` and whose value runs to the end of the text.
    fn close(&mut self, key: Range<usize>) {
        let value = key.end..self.text.len();
        self.members.push(Member::new(&self.text, key, value));
    }

    /// Writes the object the way [`Json::write_canonical_merged`] writes a tree with the same
    /// members, and returns where member `skip` belongs.
    pub(crate) fn write_merged(
        &mut self,
        extras: &[(&str, &str)],
        omit: &[&str],
        skip: &str,
        out: &mut String,
    ) -> usize {
        let ObjectText { text, members } = self;
        // Stable: among equal keys the last one set stays last, and is the one kept.
        members.sort_by(|a, b| {
            a.prefix
                .cmp(&b.prefix)
                .then_with(|| text[a.key.clone()].cmp(&text[b.key.clone()]))
        });
        let members: &[Member] = members;
        let text: &str = text;
        let kept = members.iter().enumerate().filter_map(|(i, member)| {
            let key = &text[member.key.clone()];
            let replaced = members
                .get(i + 1)
                .is_some_and(|next| next.prefix == member.prefix && &text[next.key.clone()] == key);
            (!replaced).then(|| (key, MemberValue::Canonical(&text[member.value.clone()])))
        });
        write_members_merged(kept, extras, omit, skip, out)
    }
}

impl Members for ObjectText {
    fn put_str(&mut self, key: &str, value: &str) {
        let key = self.key(key);
        write_json_string(value, &mut self.text);
        self.close(key);
    }
    fn put_float(&mut self, key: &str, value: f64) {
        let key = self.key(key);
        write_python_float(value, &mut self.text);
        self.close(key);
    }
    fn put_int(&mut self, key: &str, value: i128) {
        use std::fmt::Write as _;
        let key = self.key(key);
        write!(self.text, "{value}").expect("writing to a String cannot fail");
        self.close(key);
    }
    fn put_json(&mut self, key: &str, value: &Json) {
        let key = self.key(key);
        value.write_canonical(&mut self.text);
        self.close(key);
    }
    fn has(&self, key: &str) -> bool {
        // Equal keys have equal prefixes: most members are told apart without the text.
        let prefix = key_prefix(key.as_bytes());
        self.members
            .iter()
            .any(|m| m.prefix == prefix && &self.text[m.key.clone()] == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision_log::entry::base_entry;
    use crate::decision_log::writer::DecisionLogWriter;
    use crate::decision_log::{Algorithm, SigningKey};
    use proptest::prelude::*;

    /// One member to set.
    #[derive(Clone, Debug)]
    enum Put {
        Str(&'static str, String),
        Float(&'static str, f64),
        Int(&'static str, i64),
        Nested(&'static str, Vec<i64>),
    }

    /// Keys that collide with each other and with the writer's own members.
    const KEYS: [&str; 11] = [
        "a",
        "a\u{0}",
        "strategy_id",
        "strategy_instance_id",
        "signature",
        "seq",
        "prev_hash",
        "quantity",
        "z",
        "é",
        "symbol",
    ];

    fn put() -> impl Strategy<Value = Put> {
        let key = proptest::sample::select(&KEYS[..]);
        prop_oneof![
            (key.clone(), "[a-z\"\\\\\n é]{0,8}").prop_map(|(k, v)| Put::Str(k, v)),
            (key.clone(), any::<f64>()).prop_map(|(k, v)| Put::Float(k, v)),
            (key.clone(), any::<i64>()).prop_map(|(k, v)| Put::Int(k, v)),
            (key, proptest::collection::vec(any::<i64>(), 0..3))
                .prop_map(|(k, v)| Put::Nested(k, v)),
        ]
    }

    fn apply(m: &mut impl Members, p: &Put) {
        match p {
            Put::Str(k, v) => m.put_str(k, v),
            Put::Float(k, v) => m.put_float(k, *v),
            Put::Int(k, v) => m.put_int(k, i128::from(*v)),
            Put::Nested(k, v) => {
                m.put_json(k, &Json::Array(v.iter().map(|&i| Json::int(i)).collect()))
            }
        }
    }

    proptest! {
        /// Text-built entries sign, chain and print exactly like tree-built ones, whatever the
        /// member order, repeats, and collisions with `seq`, `prev_hash` and `signature`.
        #[test]
        fn text_entries_write_the_same_lines_as_trees(
            entries in proptest::collection::vec(proptest::collection::vec(put(), 0..12), 1..5),
            chained in any::<bool>(),
        ) {
            let key = SigningKey::new("members-test-key", Some("k1".to_owned()));
            let (mut by_tree, mut by_text) = if chained {
                (
                    DecisionLogWriter::new_chained(key.clone(), Algorithm::HmacSha256),
                    DecisionLogWriter::new_chained(key, Algorithm::HmacSha256),
                )
            } else {
                (
                    DecisionLogWriter::new(key.clone(), Algorithm::HmacSha256),
                    DecisionLogWriter::new(key, Algorithm::HmacSha256),
                )
            };
            let at = SimTime::from_unix_secs(1_800_000_000);
            for puts in &entries {
                let mut tree = base_entry("test", at);
                let mut text = ObjectText::entry("test", at);
                for p in puts {
                    apply(&mut tree, p);
                    apply(&mut text, p);
                    let (Put::Str(k, _) | Put::Float(k, _) | Put::Int(k, _) | Put::Nested(k, _)) = p;
                    prop_assert!(text.has(k) && tree.has(k));
                }
                // (Compared as text: NaN is not equal to itself.)
                prop_assert_eq!(text.to_json().canonical(), tree.canonical());
                prop_assert_eq!(ObjectText::from_json(&tree).unwrap().to_json().canonical(), tree.canonical());
                prop_assert_eq!(by_text.append_text(&mut text), by_tree.append(tree));
            }
        }

        /// One object restarted for every entry (as the engine writes its lines) gives the
        /// same lines as a fresh object per entry: nothing of an earlier entry leaks in.
        #[test]
        fn a_restarted_object_writes_what_a_fresh_one_writes(
            entries in proptest::collection::vec(proptest::collection::vec(put(), 0..12), 1..5),
        ) {
            let key = SigningKey::new("members-test-key", None);
            let mut by_fresh = DecisionLogWriter::new_chained(key.clone(), Algorithm::HmacSha256);
            let mut by_reused = DecisionLogWriter::new_chained(key, Algorithm::HmacSha256);
            let mut reused = ObjectText::new();
            for (n, puts) in (0u64..).zip(&entries) {
                let at = SimTime::from_unix_secs(1_800_000_000 + n);
                let mut fresh = ObjectText::entry("test", at);
                reused.start_entry("test", at);
                for p in puts {
                    apply(&mut fresh, p);
                    apply(&mut reused, p);
                }
                prop_assert_eq!(by_reused.append_text(&mut reused), by_fresh.append_text(&mut fresh));
            }
        }
    }
}
