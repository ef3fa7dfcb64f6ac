//! Canonical JSON exactly as the reference system produces it, so signatures verify across
//! both systems.
//!
//! The reference signs `json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",",":"))`
//! encoded as UTF-8 (ops.md §1). Reproducing those bytes needs a JSON model that keeps what
//! Python keeps and nothing else:
//!
//! - integers are arbitrary precision and stay integers (`5` is not `5.0`); they are kept as
//!   normalised decimal text, so a 40-digit integer survives;
//! - floats print as Python's `repr`: shortest round-trip digits, fixed notation when the
//!   decimal exponent is in `-4 ..= 15`, otherwise `1e+16` / `1e-07` style with a sign and at
//!   least two exponent digits; `45.0` keeps its `.0`; `NaN`, `Infinity`, `-Infinity` are
//!   written (and accepted) as Python does;
//! - object keys are sorted by code point (UTF-8 byte order, **not** RFC 8785's UTF-16 order);
//!   a duplicate key keeps its last value, as Python's parser does;
//! - strings escape `"` `\` and control characters below U+0020 only (`\n \r \t \b \f`, others
//!   `\u00xx` in lower-case hex); everything else, DEL and U+2028/U+2029 included, is raw UTF-8;
//!   an escaped lone surrogate is refused (Python raises when encoding it).
//!
//! [`Json::parse`] reads a line the way `json.loads` does; [`Json::canonical`] writes the
//! signed bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A JSON value with Python's number semantics.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer of any size, as normalised decimal text (optional `-`, no leading zeros,
    /// never `-0`).
    Int(String),
    /// A float (Python `float`), including NaN and ±infinity.
    Float(f64),
    /// A string.
    Str(String),
    /// An array.
    Array(Vec<Json>),
    /// An object; keys are kept sorted, which is the canonical order.
    Object(BTreeMap<String, Json>),
}

/// Why a line is not JSON that Python would accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSON at byte {offset}: {reason}")]
pub struct JsonError {
    /// Byte offset in the input where the problem was found.
    pub offset: usize,
    /// What was expected.
    pub reason: &'static str,
}

impl Json {
    /// An integer value.
    pub fn int(v: impl Into<i128>) -> Json {
        Json::Int(v.into().to_string())
    }

    /// A string value.
    pub fn str(v: impl Into<String>) -> Json {
        Json::Str(v.into())
    }

    /// An empty object.
    pub fn object() -> Json {
        Json::Object(BTreeMap::new())
    }

    /// The object's map, if this is an object.
    pub fn as_object(&self) -> Option<&BTreeMap<String, Json>> {
        match self {
            Json::Object(map) => Some(map),
            _ => None,
        }
    }

    /// The object's map, mutably, if this is an object.
    pub fn as_object_mut(&mut self) -> Option<&mut BTreeMap<String, Json>> {
        match self {
            Json::Object(map) => Some(map),
            _ => None,
        }
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Member `key` of an object (`None` for other values or a missing key).
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.as_object()?.get(key)
    }

    /// Inserts `key: value` into an object (replacing any previous value). Panics when `self`
    /// is not an object: building a non-object entry is a bug.
    pub fn insert(&mut self, key: impl Into<String>, value: Json) -> &mut Json {
        self.as_object_mut()
            .expect("Json::insert on a non-object")
            .insert(key.into(), value);
        self
    }

    /// Converts any serde-serialisable value (integers stay integers, floats stay floats).
    pub fn from_serialize<T: serde::Serialize + ?Sized>(value: &T) -> Result<Json, String> {
        // Straight into the tree; the few values only `serde_json` renders exactly (and every
        // error) take the path through `serde_json::Value`, which gives the same result.
        super::serialize::to_json(value).or_else(|_| {
            serde_json::to_value(value)
                .map(|v| Json::from(&v))
                .map_err(|e| e.to_string())
        })
    }

    /// Parses text the way Python's `json.loads` does (see the module doc).
    pub fn parse(text: &str) -> Result<Json, JsonError> {
        let mut p = Parser {
            bytes: text.as_bytes(),
            text,
            pos: 0,
        };
        p.skip_ws();
        let value = p.value(0)?;
        p.skip_ws();
        if p.pos != p.bytes.len() {
            return Err(p.err("unexpected data after the value"));
        }
        Ok(value)
    }

    /// The canonical bytes (sorted keys, compact separators, raw UTF-8, Python floats).
    pub fn canonical(&self) -> String {
        let mut out = String::new();
        write_canonical(self, &mut out);
        out
    }

    /// Appends the canonical bytes to `out` (lets hot loops reuse one buffer).
    pub fn write_canonical(&self, out: &mut String) {
        write_canonical(self, out);
    }

    /// For an object: appends the canonical bytes of the object **without** member `skip` to
    /// `out` and returns the byte offset, from the start of the appended text, where that
    /// member belongs in key order (see
    /// [`splice_member`]). `None` when `self` is not an object.
    ///
    /// This is how signatures are made and checked without cloning the entry: the signed
    /// payload is the entry minus `signature`, and the full line is the payload with the
    /// signature member spliced in.
    pub fn write_canonical_without(&self, skip: &str, out: &mut String) -> Option<usize> {
        self.write_canonical_merged(&[], &[], skip, out)
    }

    /// [`write_canonical_without`](Self::write_canonical_without) with edits, written without
    /// touching the tree: members named in `omit` are left out, and `extras` (key, canonical
    /// value text), **sorted by key**, are written in their place in key order, replacing
    /// members of the same name. The writer uses it to add `seq` and `prev_hash`.
    pub fn write_canonical_merged(
        &self,
        extras: &[(&str, &str)],
        omit: &[&str],
        skip: &str,
        out: &mut String,
    ) -> Option<usize> {
        let map = self.as_object()?;
        let members = map.iter().map(|(k, v)| (k.as_str(), MemberValue::Tree(v)));
        Some(write_members_merged(members, extras, omit, skip, out))
    }
}

/// The value of a member being written: a tree, or text already in canonical form.
#[derive(Clone, Copy)]
pub(crate) enum MemberValue<'a> {
    /// Written with the canonical writer.
    Tree(&'a Json),
    /// Copied as it is.
    Canonical(&'a str),
}

/// Writes an object from `members`, which must come in key order without repeats, with the
/// edits of [`Json::write_canonical_merged`], and returns where member `skip` belongs.
pub(crate) fn write_members_merged<'a>(
    members: impl Iterator<Item = (&'a str, MemberValue<'a>)>,
    extras: &[(&str, &str)],
    omit: &[&str],
    skip: &str,
    out: &mut String,
) -> usize {
    debug_assert!(
        extras.windows(2).all(|w| w[0].0 < w[1].0),
        "extras are sorted"
    );
    let start = out.len();
    out.push('{');
    let mut slot = None;
    let mut first = true;
    let mut extras = extras.iter().peekable();
    let mut member = |key: &str, out: &mut String, slot: &mut Option<usize>| {
        if slot.is_none() && sorts_before(skip, key) {
            *slot = Some(out.len() - start);
        }
        if !first {
            out.push(',');
        }
        first = false;
        write_string(key, out);
        out.push(':');
    };
    for (k, v) in members {
        while let Some((ek, ev)) = extras.next_if(|(ek, _)| sorts_before(ek, k)) {
            member(ek, out, &mut slot);
            out.push_str(ev);
        }
        if k == skip || omit.contains(&k) || extras.peek().is_some_and(|(ek, _)| *ek == k) {
            continue;
        }
        member(k, out, &mut slot);
        match v {
            MemberValue::Tree(v) => write_canonical(v, out),
            MemberValue::Canonical(text) => out.push_str(text),
        }
    }
    for (ek, ev) in extras {
        member(ek, out, &mut slot);
        out.push_str(ev);
    }
    let slot = slot.unwrap_or(out.len() - start);
    out.push('}');
    slot
}

/// Inserts member `key: value` into the canonical object text `object` at byte offset `slot`
/// (as returned by [`Json::write_canonical_without`]), giving the canonical bytes of the
/// object with that member.
pub fn splice_member(object: &str, slot: usize, key: &str, value: &Json) -> String {
    let (head, middle, tail) = splice_parts(object, slot, key, value);
    let mut out = String::with_capacity(head.len() + middle.len() + tail.len());
    out.push_str(head);
    out.push_str(&middle);
    out.push_str(tail);
    out
}

/// [`splice_member`] as three pieces (text before, the member with its comma, text after), so
/// a caller that only hashes the result need not copy the object.
pub fn splice_parts<'a>(
    object: &'a str,
    slot: usize,
    key: &str,
    value: &Json,
) -> (&'a str, String, &'a str) {
    let mut text = String::with_capacity(128);
    write_canonical(value, &mut text);
    splice_raw_parts(object, slot, key, &text)
}

/// [`splice_member`] for a value that is already canonical text.
pub fn splice_raw_member(object: &str, slot: usize, key: &str, raw_value: &str) -> String {
    // One exact-size allocation, the member written in place: this is every signed line.
    let mut out = String::with_capacity(object.len() + key.len() + raw_value.len() + 4);
    let (head, tail) = object.split_at(slot);
    out.push_str(head);
    write_spliced_member(head, tail, key, raw_value, &mut out);
    out.push_str(tail);
    out
}

fn splice_raw_parts<'a>(
    object: &'a str,
    slot: usize,
    key: &str,
    raw_value: &str,
) -> (&'a str, String, &'a str) {
    let (head, tail) = object.split_at(slot);
    let mut middle = String::with_capacity(key.len() + raw_value.len() + 4);
    write_spliced_member(head, tail, key, raw_value, &mut middle);
    (head, middle, tail)
}

/// Appends member `key: raw_value` with the comma it needs between `head` and `tail` (the
/// object text split at the member's slot).
fn write_spliced_member(head: &str, tail: &str, key: &str, raw_value: &str, out: &mut String) {
    // `slot` is right after `{`, or right after the previous member's value; in the second
    // case the tail already starts with the `,` before the next member (or with `}`).
    let after_open = head.ends_with('{');
    if !after_open {
        out.push(',');
    }
    write_string(key, out);
    out.push(':');
    out.push_str(raw_value);
    if after_open && !tail.starts_with('}') {
        out.push(',');
    }
}

/// Appends `s` as a canonical JSON string (quotes and Python's escapes) to `out`.
pub fn write_json_string(s: &str, out: &mut String) {
    write_string(s, out);
}

impl From<&serde_json::Value> for Json {
    fn from(v: &serde_json::Value) -> Json {
        match v {
            serde_json::Value::Null => Json::Null,
            serde_json::Value::Bool(b) => Json::Bool(*b),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Json::int(i)
                } else if let Some(u) = n.as_u64() {
                    Json::int(u)
                } else {
                    Json::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            serde_json::Value::String(s) => Json::Str(s.clone()),
            serde_json::Value::Array(items) => Json::Array(items.iter().map(Json::from).collect()),
            serde_json::Value::Object(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), Json::from(v)))
                    .collect(),
            ),
        }
    }
}

impl From<bool> for Json {
    fn from(v: bool) -> Json {
        Json::Bool(v)
    }
}
impl From<f64> for Json {
    fn from(v: f64) -> Json {
        Json::Float(v)
    }
}
impl From<&str> for Json {
    fn from(v: &str) -> Json {
        Json::Str(v.to_owned())
    }
}
impl From<String> for Json {
    fn from(v: String) -> Json {
        Json::Str(v)
    }
}
impl From<i64> for Json {
    fn from(v: i64) -> Json {
        Json::int(v)
    }
}
impl From<u64> for Json {
    fn from(v: u64) -> Json {
        Json::int(v)
    }
}

/// Nesting limit: Python's recursion limit stops far-deeper input too.
const MAX_DEPTH: usize = 512;

/// One top-level member of an object line known to be canonical, as spans of that line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawMember<'a> {
    /// The key as written (canonical keys here never contain an escape).
    pub key: &'a str,
    /// The value's text.
    pub value: &'a str,
    /// Byte offset of the key's opening quote.
    pub start: usize,
    /// Byte offset just past the value.
    pub end: usize,
}

/// Returns the top-level members of `text` when `text` is **exactly** the canonical form of a
/// JSON object (that is, `Json::parse(text)` succeeds and its [`Json::canonical`] equals
/// `text`), and `None` otherwise.
///
/// This is the verifier's fast path: a line the writer produced can be hashed and its MAC
/// checked straight from its own bytes, without building and re-serialising a tree. `None`
/// only means "not known to be canonical": the caller falls back to [`Json::parse`]. The
/// check is conservative (keys with escapes, for instance, always fall back).
pub fn canonical_object_members(text: &str) -> Option<Vec<RawMember<'_>>> {
    let mut members = Vec::with_capacity(32);
    scan_canonical_object(text, |member| members.push(member))?;
    Some(members)
}

/// [`canonical_object_members`] without collecting: `visit` sees each top-level member in
/// order as it is scanned. When the result is `None` the text is not known to be canonical
/// and whatever `visit` saw must be discarded.
pub(crate) fn scan_canonical_object<'a>(
    text: &'a str,
    mut visit: impl FnMut(RawMember<'a>),
) -> Option<()> {
    let mut scan = CanonicalScan {
        bytes: text.as_bytes(),
        text,
        pos: 0,
    };
    if scan.bytes.first() != Some(&b'{') {
        return None;
    }
    scan.pos = 1;
    if scan.bytes.get(1) == Some(&b'}') {
        return (text.len() == 2).then_some(());
    }
    let mut previous_key: Option<&str> = None;
    loop {
        let start = scan.pos;
        let key = scan.key()?;
        if previous_key.is_some_and(|p| !sorts_before(p, key)) {
            return None; // unsorted or duplicate keys
        }
        previous_key = Some(key);
        if scan.bytes.get(scan.pos) != Some(&b':') {
            return None;
        }
        scan.pos += 1;
        let value_start = scan.pos;
        scan.value(1)?;
        visit(RawMember {
            key,
            value: &text[value_start..scan.pos],
            start,
            end: scan.pos,
        });
        match scan.bytes.get(scan.pos) {
            Some(b',') => scan.pos += 1,
            Some(b'}') if scan.pos + 1 == text.len() => return Some(()),
            _ => return None,
        }
    }
}

/// `a < b` in code point order (byte order of the UTF-8). Keys are short and usually differ
/// early, so a byte loop beats a `memcmp` call.
#[inline]
fn sorts_before(a: &str, b: &str) -> bool {
    for (x, y) in a.bytes().zip(b.bytes()) {
        if x != y {
            return x < y;
        }
    }
    a.len() < b.len()
}

/// A validating, non-allocating pass that accepts only canonical JSON.
struct CanonicalScan<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl<'a> CanonicalScan<'a> {
    #[inline(always)]
    fn key(&mut self) -> Option<&'a str> {
        let start = self.pos + 1;
        if self.string()? {
            return None; // escaped keys sort by their decoded text: leave them to the parser
        }
        Some(&self.text[start..self.pos - 1])
    }

    fn value(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match *self.bytes.get(self.pos)? {
            b'{' => {
                self.pos += 1;
                if self.bytes.get(self.pos) == Some(&b'}') {
                    self.pos += 1;
                    return Some(());
                }
                let mut previous: Option<&str> = None;
                loop {
                    let key = self.key()?;
                    if previous.is_some_and(|p| !sorts_before(p, key)) {
                        return None;
                    }
                    previous = Some(key);
                    if self.bytes.get(self.pos) != Some(&b':') {
                        return None;
                    }
                    self.pos += 1;
                    self.value(depth + 1)?;
                    match self.bytes.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.pos += 1;
                if self.bytes.get(self.pos) == Some(&b']') {
                    self.pos += 1;
                    return Some(());
                }
                loop {
                    self.value(depth + 1)?;
                    match self.bytes.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'"' => self.string().map(|_| ()),
            b'-' | b'0'..=b'9' => self.number(),
            _ => {
                for lit in ["null", "true", "false", "NaN", "Infinity"] {
                    if self.bytes[self.pos..].starts_with(lit.as_bytes()) {
                        self.pos += lit.len();
                        return Some(());
                    }
                }
                None
            }
        }
    }

    /// A canonical string starting at the opening quote; returns whether it holds an escape.
    #[inline(always)]
    fn string(&mut self) -> Option<bool> {
        if self.bytes.get(self.pos) != Some(&b'"') {
            return None;
        }
        self.pos += 1;
        let mut escaped = false;
        loop {
            // Skip the bytes that are always canonical inside a string in one go.
            let run = first_special(&self.bytes[self.pos..])?;
            self.pos += run;
            let b = self.bytes[self.pos];
            self.pos += 1;
            match b {
                b'"' => return Some(escaped),
                b'\\' => {
                    escaped = true;
                    match *self.bytes.get(self.pos)? {
                        b'"' | b'\\' | b'n' | b'r' | b't' | b'b' | b'f' => self.pos += 1,
                        b'u' => {
                            // Canonical `\u` escapes are `\u00xx` (lower case) for the control
                            // characters that have no short escape.
                            let hex = self.bytes.get(self.pos + 1..self.pos + 5)?;
                            let lower_hex = |b: &u8| matches!(b, b'0'..=b'9' | b'a'..=b'f');
                            if !(hex[0] == b'0' && hex[1] == b'0' && hex.iter().all(lower_hex)) {
                                return None;
                            }
                            let code = u8::from_str_radix(std::str::from_utf8(&hex[2..]).ok()?, 16)
                                .ok()?;
                            if code >= 0x20 || matches!(code, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                                return None;
                            }
                            self.pos += 5;
                        }
                        _ => return None,
                    }
                }
                0x00..=0x1f => return None,
                _ => {}
            }
        }
    }

    fn number(&mut self) -> Option<()> {
        let start = self.pos;
        if self.bytes[self.pos] == b'-' {
            if self.bytes[self.pos..].starts_with(b"-Infinity") {
                self.pos += "-Infinity".len();
                return Some(());
            }
            self.pos += 1;
        }
        let digits = |s: &mut Self| {
            let from = s.pos;
            while matches!(s.bytes.get(s.pos), Some(b'0'..=b'9')) {
                s.pos += 1;
            }
            s.pos - from
        };
        let int_start = self.pos;
        let int_digits = digits(self);
        if int_digits == 0 || (int_digits > 1 && self.bytes[int_start] == b'0') {
            return None;
        }
        let mut is_float = false;
        if self.bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return None;
            }
            is_float = true;
        }
        if matches!(self.bytes.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.bytes.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return None;
            }
            is_float = true;
        }
        let token = &self.text[start..self.pos];
        if is_float {
            let v: f64 = token.parse().ok()?;
            (python_float_repr(v) == token).then_some(())
        } else {
            (token != "-0").then_some(())
        }
    }
}

struct Parser<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, reason: &'static str) -> JsonError {
        JsonError {
            offset: self.pos,
            reason,
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, literal: &str) -> bool {
        if self.bytes[self.pos..].starts_with(literal.as_bytes()) {
            self.pos += literal.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting is too deep"));
        }
        match self.bytes.get(self.pos) {
            None => Err(self.err("expected a value, found the end")),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Json::Str),
            Some(b'-' | b'0'..=b'9') => {
                if self.eat("-Infinity") {
                    Ok(Json::Float(f64::NEG_INFINITY))
                } else {
                    self.number()
                }
            }
            Some(_) => {
                for (lit, value) in [
                    ("null", Json::Null),
                    ("true", Json::Bool(true)),
                    ("false", Json::Bool(false)),
                    ("NaN", Json::Float(f64::NAN)),
                    ("Infinity", Json::Float(f64::INFINITY)),
                ] {
                    if self.eat(lit) {
                        return Ok(value);
                    }
                }
                Err(self.err("expected a value"))
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json, JsonError> {
        self.pos += 1; // '{'
        // Members are collected first and then bulk-built into the map: that is linear for
        // the (usual) already-sorted input, and a duplicate key keeps its last value, as in
        // Python.
        let mut members: Vec<(String, Json)> = Vec::new();
        self.skip_ws();
        if self.eat("}") {
            return Ok(Json::Object(BTreeMap::new()));
        }
        loop {
            self.skip_ws();
            if self.bytes.get(self.pos) != Some(&b'"') {
                return Err(self.err("expected a string key"));
            }
            let key = self.string()?;
            self.skip_ws();
            if !self.eat(":") {
                return Err(self.err("expected `:` after a key"));
            }
            self.skip_ws();
            let value = self.value(depth + 1)?;
            members.push((key, value));
            self.skip_ws();
            if self.eat(",") {
                continue;
            }
            if self.eat("}") {
                return Ok(Json::Object(members.into_iter().collect()));
            }
            return Err(self.err("expected `,` or `}` in an object"));
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json, JsonError> {
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_ws();
        if self.eat("]") {
            return Ok(Json::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            if self.eat(",") {
                continue;
            }
            if self.eat("]") {
                return Ok(Json::Array(items));
            }
            return Err(self.err("expected `,` or `]` in an array"));
        }
    }

    fn number(&mut self) -> Result<Json, JsonError> {
        let start = self.pos;
        if self.bytes[self.pos] == b'-' {
            self.pos += 1;
        }
        match self.bytes.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                while matches!(self.bytes.get(self.pos), Some(b'0'..=b'9')) {
                    self.pos += 1;
                }
            }
            _ => return Err(self.err("expected a digit")),
        }
        let int_end = self.pos;
        let mut is_float = false;
        if self.bytes.get(self.pos) == Some(&b'.')
            && matches!(self.bytes.get(self.pos + 1), Some(b'0'..=b'9'))
        {
            is_float = true;
            self.pos += 1;
            while matches!(self.bytes.get(self.pos), Some(b'0'..=b'9')) {
                self.pos += 1;
            }
        }
        if matches!(self.bytes.get(self.pos), Some(b'e' | b'E')) {
            let mut look = self.pos + 1;
            if matches!(self.bytes.get(look), Some(b'+' | b'-')) {
                look += 1;
            }
            if matches!(self.bytes.get(look), Some(b'0'..=b'9')) {
                is_float = true;
                self.pos = look;
                while matches!(self.bytes.get(self.pos), Some(b'0'..=b'9')) {
                    self.pos += 1;
                }
            }
        }
        let text = &self.text[start..self.pos];
        if is_float {
            let v: f64 = text.parse().map_err(|_| self.err("bad number"))?;
            Ok(Json::Float(v))
        } else {
            let digits = &self.text[start..int_end];
            Ok(Json::Int(normalise_int(digits)))
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let hex = self
            .text
            .get(self.pos..self.pos + 4)
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.err("expected four hex digits after \\u"))?;
        self.pos += 4;
        Ok(u32::from_str_radix(hex, 16).expect("checked hex digits"))
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            let run_start = self.pos;
            while let Some(&b) = self.bytes.get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(&self.text[run_start..self.pos]);
            match self.bytes.get(self.pos) {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let esc = *self
                        .bytes
                        .get(self.pos)
                        .ok_or_else(|| self.err("unterminated escape"))?;
                    self.pos += 1;
                    match esc {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let c = if (0xD800..0xDC00).contains(&hi) {
                                if !self.eat("\\u") {
                                    return Err(self.err("lone surrogate escape"));
                                }
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.err("lone surrogate escape"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else if (0xDC00..0xE000).contains(&hi) {
                                return Err(self.err("lone surrogate escape"));
                            } else {
                                hi
                            };
                            out.push(char::from_u32(c).expect("valid scalar value"));
                        }
                        _ => return Err(self.err("invalid escape")),
                    }
                }
                Some(_) => return Err(self.err("raw control character in a string")),
            }
        }
    }
}

fn normalise_int(digits: &str) -> String {
    match digits.strip_prefix('-') {
        Some(rest) if rest.bytes().all(|b| b == b'0') => "0".to_owned(),
        _ => digits.to_owned(),
    }
}

fn write_canonical(value: &Json, out: &mut String) {
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(true) => out.push_str("true"),
        Json::Bool(false) => out.push_str("false"),
        Json::Int(digits) => out.push_str(digits),
        Json::Float(f) => write_python_float(*f, out),
        Json::Str(s) => write_string(s, out),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Json::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
    }
}

fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Position of the first byte that needs an escape in a JSON string (`"`, `\\` or a control
/// character), eight bytes at a time.
///
/// Per 8-byte word, the classic "has zero byte" / "has byte less than n" bit tricks flag the
/// interesting bytes; they can also flag bytes *above* a true hit (borrows propagate upwards),
/// but never below one, so the lowest flag is exact.
fn first_special(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in chunks.by_ref() {
        let w = u64::from_le_bytes(chunk.try_into().expect("chunks of eight"));
        let quote = w ^ (ONES * u64::from(b'"'));
        let backslash = w ^ (ONES * u64::from(b'\\'));
        let flags = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (w.wrapping_sub(ONES * 0x20) & !w);
        let flags = flags & HIGHS;
        if flags != 0 {
            return Some(offset + (flags.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| needs_escape(b))
        .map(|i| offset + i)
}

#[inline]
fn write_string(s: &str, out: &mut String) {
    out.push('"');
    let bytes = s.as_bytes();
    // Most strings need no escape at all: copy them in one go.
    let Some(first) = first_special(bytes) else {
        out.push_str(s);
        out.push('"');
        return;
    };
    // Copy runs of bytes that need no escape; only ASCII bytes are ever escaped, so run
    // boundaries always fall on character boundaries.
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate().skip(first) {
        if !needs_escape(b) {
            continue;
        }
        out.push_str(&s[run..i]);
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => write!(out, "\\u{b:04x}").expect("writing to a String cannot fail"),
        }
        run = i + 1;
    }
    out.push_str(&s[run..]);
    out.push('"');
}

/// Python's `repr(float)` as `json.dumps` writes it (`NaN`, `Infinity`, `-Infinity` for the
/// non-finite values).
pub fn python_float_repr(v: f64) -> String {
    let mut out = String::with_capacity(24);
    write_python_float(v, &mut out);
    out
}

/// Appends [`python_float_repr`] of `v` to `out` without allocating.
pub fn write_python_float(v: f64, out: &mut String) {
    if v.is_nan() {
        return out.push_str("NaN");
    }
    if v.is_infinite() {
        return out.push_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
    }
    // Python's repr is the shortest digit string that round-trips and, of two equally short
    // candidates equally close to the value, the one with the even last digit (David Gay's
    // dtoa). Ryu makes the same choice; Rust's own `{:e}` rounds such ties up instead
    // (`-1262526392867985.25` → Python `…985.2`, `{:e}` `…985.3`), so it cannot be used.
    // Ryu lays its digits out in its own style (`1e16`, `0.001`, `1.5e-7`); only the digits
    // and where the decimal point falls are taken from it.
    let mut ryu = ryu::Buffer::new();
    let text = ryu.format_finite(v.abs());
    let (mantissa, exp) = text.split_once('e').unwrap_or((text, "0"));
    let exp: i32 = exp.parse().expect("ryu's exponent is an integer");
    let int_len = mantissa.find('.').unwrap_or(mantissa.len());
    let mut digit_buf = [b'0'; 32];
    let mut n = 0;
    // value = 0.<digits> × 10^decpt; every leading zero dropped moves the point left.
    let mut decpt = i32::try_from(int_len).expect("ryu's output is short") + exp;
    for d in mantissa.bytes().filter(u8::is_ascii_digit) {
        if n == 0 && d == b'0' {
            decpt -= 1;
            continue;
        }
        digit_buf[n] = d;
        n += 1;
    }
    while n > 1 && digit_buf[n - 1] == b'0' {
        n -= 1;
    }
    if n == 0 {
        n = 1;
        decpt = 1;
    }
    let digits = std::str::from_utf8(&digit_buf[..n]).expect("ASCII digits");
    if v.is_sign_negative() {
        out.push('-');
    }
    let zeros = |out: &mut String, count: i32| {
        for _ in 0..count {
            out.push('0');
        }
    };
    let n = n as i32;
    if v != 0.0 && !(-4 < decpt && decpt <= 16) {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let e = decpt - 1;
        out.push('e');
        out.push(if e < 0 { '-' } else { '+' });
        write!(out, "{:02}", e.abs()).expect("writing to a String cannot fail");
    } else if v == 0.0 {
        out.push_str("0.0");
    } else if decpt <= 0 {
        out.push_str("0.");
        zeros(out, -decpt);
        out.push_str(digits);
    } else if decpt < n {
        let (int, frac) = digits.split_at(decpt as usize);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else {
        out.push_str(digits);
        zeros(out, decpt - n);
        out.push_str(".0");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Python's own `repr` of 4 000 floats (`testdata/python_float_repr.txt`, written by
    /// CPython): random bit patterns, trading magnitudes, and exact ties at the last shortest
    /// digit, where a shortest-digits writer that rounds ties up goes wrong.
    #[test]
    fn floats_print_exactly_as_python_repr() {
        let fixture = include_str!("testdata/python_float_repr.txt");
        let mut checked = 0;
        // Both are shortest digit strings, so where they differ `{:e}` broke a tie the other way.
        let mut ties_rust_rounds_up = 0;
        for (i, line) in fixture.lines().enumerate() {
            if line.starts_with('#') {
                continue;
            }
            let (bits, python) = line.split_once(' ').expect("`<bits> <repr>` per line");
            let v = f64::from_bits(u64::from_str_radix(bits, 16).expect("hex bits"));
            // json.dumps writes repr, with `e+16` spelled the same; only the non-finite
            // values differ, and the fixture has none.
            assert_eq!(python_float_repr(v), python, "line {}: {bits}", i + 1);
            checked += 1;
            let rust_digits: String = format!("{:e}", v.abs())
                .split('e')
                .next()
                .expect("a mantissa")
                .replace('.', "");
            let python_digits: String = python
                .trim_start_matches('-')
                .split('e')
                .next()
                .expect("a mantissa")
                .replace('.', "");
            if python_digits.trim_matches('0') != rust_digits.trim_matches('0') {
                ties_rust_rounds_up += 1;
            }
        }
        assert!(checked > 3_900, "the fixture is read ({checked} values)");
        // The fixture really exercises the case that motivated ryu.
        assert!(ties_rust_rounds_up > 100, "{ties_rust_rounds_up} tie cases");
    }

    proptest::proptest! {
        /// Whatever the value, the text reads back as the same float, with no more digits
        /// than the shortest round-trip (Rust's `{:e}` gives that count).
        #[test]
        fn floats_round_trip_in_the_fewest_digits(bits in proptest::num::u64::ANY, small in -1e6..1e6f64) {
            for v in [f64::from_bits(bits), small, small.round(), small * 1e-9, small * 1e12] {
                let text = python_float_repr(v);
                if !v.is_finite() {
                    continue;
                }
                let back: f64 = text.parse().expect("Python's repr is a Rust float literal too");
                proptest::prop_assert_eq!(back.to_bits(), v.to_bits(), "{}", text);
                let significant = |t: &str| {
                    let mantissa = t.trim_start_matches('-').split('e').next().unwrap_or("");
                    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
                    digits.trim_start_matches('0').trim_end_matches('0').len().max(1)
                };
                let shortest = format!("{:e}", v.abs());
                proptest::prop_assert_eq!(significant(&text), significant(&shortest), "{}", text);
            }
        }
    }

    #[test]
    fn floats_print_like_python_repr() {
        // Every case below is what CPython 3.11 prints for repr(x) (see ops.md §1).
        for (v, shown) in [
            (45.0, "45.0"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1e-7, "1e-07"),
            (1e-5, "1e-05"),
            (1e15, "1000000000000000.0"),
            (0.1 + 0.2, "0.30000000000000004"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (1.5e300, "1.5e+300"),
            (0.0001, "0.0001"),
            (123456789.125, "123456789.125"),
            (1e22, "1e+22"),
            (2.5e-5, "2.5e-05"),
            (-3.75, "-3.75"),
            (1234567890123456.7, "1234567890123456.8"),
            (12345678901234567.0, "1.2345678901234568e+16"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ] {
            assert_eq!(python_float_repr(v), shown, "{v:?}");
        }
    }

    #[test]
    fn the_word_at_a_time_scan_finds_the_first_special_byte() {
        // Every position, every special byte, and bytes that look special to naive bit
        // tricks (0x80.., 0x20, 0x21, 0x5b, 0x5d) around them.
        let fillers = [
            b'a', 0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0xa2, 0xdc, 0xff,
        ];
        for len in 0..20 {
            for filler in fillers {
                let mut bytes = vec![filler; len];
                assert_eq!(
                    first_special(&bytes),
                    bytes.iter().position(|&b| needs_escape(b))
                );
                for at in 0..len {
                    for special in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
                        bytes[at] = special;
                        assert_eq!(first_special(&bytes), Some(at), "{bytes:?}");
                        bytes[at] = filler;
                    }
                }
            }
        }
    }

    #[test]
    fn merged_writing_adds_replaces_and_omits_members() {
        let v = Json::parse(r#"{"b":1,"d":2,"f":3,"signature":{"x":1},"z":0}"#).unwrap();
        let mut out = String::new();
        let slot = v
            .write_canonical_merged(
                &[("a", "0"), ("d", "\"D\""), ("y", "9")],
                &["f"],
                "signature",
                &mut out,
            )
            .unwrap();
        assert_eq!(out, r#"{"a":0,"b":1,"d":"D","y":9,"z":0}"#);
        assert_eq!(&out[..slot], r#"{"a":0,"b":1,"d":"D""#);
    }

    #[test]
    fn golden_vector_a_canonical_bytes() {
        // ops.md §1, vector A.
        let line = r#"{"kind":"snapshot","timestamp":"2024-02-01T00:00:01+00:00","source":"grpc","event":"reduce_motion","severity":"warning","fps":45.0,"screen":{"name":"Main"},"notes":{"severity":"warning","txt":"Zażółć \"q\"\n\u0001"}}"#;
        let canonical = Json::parse(line).unwrap().canonical();
        assert_eq!(
            canonical,
            r#"{"event":"reduce_motion","fps":45.0,"kind":"snapshot","notes":{"severity":"warning","txt":"Zażółć \"q\"\n\u0001"},"screen":{"name":"Main"},"severity":"warning","source":"grpc","timestamp":"2024-02-01T00:00:01+00:00"}"#
        );
        assert_eq!(canonical.len(), 220);
    }

    #[test]
    fn numbers_keep_python_types() {
        for (text, canonical) in [
            ("5", "5"),
            ("-0", "0"),
            ("-0.0", "-0.0"),
            ("1.50", "1.5"),
            ("1E5", "100000.0"),
            ("1e16", "1e+16"),
            ("1e400", "Infinity"),
            (
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
            ("[NaN,Infinity,-Infinity]", "[NaN,Infinity,-Infinity]"),
        ] {
            assert_eq!(Json::parse(text).unwrap().canonical(), canonical, "{text}");
        }
    }

    #[test]
    fn strings_escape_only_what_python_escapes() {
        let v = Json::Str("a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{7f}\u{2028}é😀".to_owned());
        assert_eq!(
            v.canonical(),
            "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\u{7f}\u{2028}é😀\""
        );
        assert_eq!(
            Json::parse(r#""\ud83d\ude00\/""#).unwrap(),
            Json::Str("😀/".to_owned())
        );
    }

    #[test]
    fn python_rejections_are_errors() {
        for text in [
            r#""\ud800""#,
            r#""\udc00x""#,
            "\"raw\u{1}control\"",
            "[1,]",
            "{\"a\":1,}",
            "01",
            "1.",
            "{'a':1}",
            "",
            "[1] x",
            "tru",
        ] {
            assert!(Json::parse(text).is_err(), "{text:?} should be refused");
        }
    }

    #[test]
    fn duplicate_keys_keep_the_last_value_and_keys_sort_by_code_point() {
        let v = Json::parse(r#"{"b":1,"a":2,"b":3,"é":0,"z":0}"#).unwrap();
        assert_eq!(v.canonical(), r#"{"a":2,"b":3,"z":0,"é":0}"#);
    }
}
