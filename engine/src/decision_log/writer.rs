//! The writer: turns entry objects into signed (and, when chained, linked) log lines. Sans-IO:
//! it returns text and never touches a file; `stage4_harness::decision_log` does the locked,
//! fsynced append.
//!
//! [`DecisionLogWriter::append`] returns the line **without** a trailing newline, in canonical
//! form (sorted keys, compact separators): the exact bytes that are hashed for the chain, so
//! a reader can hash a line without re-rendering it. The file layer adds `\n`.
//!
//! A writer either writes unchained lines (the reference format) or continues a hash chain
//! (see [`chain`](super::chain)). [`DecisionLogWriter::resume`] picks up an existing log from
//! its last line: a chained log stays chained, an unchained one stays unchained until
//! [`DecisionLogWriter::start_chain`], and a sealed one is refused.

use std::borrow::Borrow;

use crate::domain::SimTime;

use super::canonical::{Json, splice_raw_member, write_json_string};
use super::chain::{
    ChainFields, ChainHead, GENESIS_HASH, HashText, PREV_HASH_KEY, SEQ_KEY, entry_hash,
};
use super::entry::{events, seal_entry};
use super::members::ObjectText;
use super::sign::{Algorithm, SIGNATURE_KEY, SigningKey};

/// Why a writer cannot continue an existing log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResumeError {
    /// The last line is not a JSON object, or its chain members are malformed. Appending
    /// after it would bury the damage.
    #[error("the last line is malformed ({0}); repair the log before appending")]
    Malformed(String),
    /// The log ends with a seal: it is closed.
    #[error("the log is sealed (its last entry is a seal); start a new log")]
    Sealed,
}

/// Why a seal could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Only chained logs can be sealed: a seal of an unchained log protects nothing.
    #[error("the log is not chained; start a chain before sealing")]
    NotChained,
}

/// Signs entries and keeps the chain state of one log.
#[derive(Debug, Clone)]
pub struct DecisionLogWriter {
    key: SigningKey,
    algorithm: Algorithm,
    chain: Option<ChainHead>,
    /// Hash of the last entry of the log (written or resumed): where a new chain links to.
    last_hash: Option<String>,
    sealed: bool,
    /// Buffers reused from line to line: the signed payload, the chain members' text and the
    /// signature object.
    payload: String,
    seq_text: String,
    prev_text: String,
    signature: String,
}

impl DecisionLogWriter {
    /// A writer for a new, unchained log (the reference format).
    pub fn new(key: SigningKey, algorithm: Algorithm) -> DecisionLogWriter {
        DecisionLogWriter {
            key,
            algorithm,
            chain: None,
            last_hash: None,
            sealed: false,
            payload: String::new(),
            seq_text: String::new(),
            prev_text: String::new(),
            signature: String::new(),
        }
    }

    /// A writer for a new chained log: the first entry gets `seq` 1 and the genesis hash.
    pub fn new_chained(key: SigningKey, algorithm: Algorithm) -> DecisionLogWriter {
        let mut writer = DecisionLogWriter::new(key, algorithm);
        writer.start_chain();
        writer
    }

    /// A writer that continues a log whose last non-blank line is `last_line` (`None` for an
    /// empty or missing log). Chained logs continue their chain; unchained logs stay unchained
    /// until [`start_chain`](Self::start_chain). Only the last line is read: the verifier, not
    /// the writer, judges the rest of the log.
    pub fn resume(
        key: SigningKey,
        algorithm: Algorithm,
        last_line: Option<&str>,
    ) -> Result<DecisionLogWriter, ResumeError> {
        let mut writer = DecisionLogWriter::new(key, algorithm);
        let Some(text) = last_line else {
            return Ok(writer);
        };
        let entry = Json::parse(text).map_err(|e| ResumeError::Malformed(e.to_string()))?;
        if entry.as_object().is_none() {
            return Err(ResumeError::Malformed("not a JSON object".to_owned()));
        }
        let hash = entry_hash(&entry);
        match ChainFields::of(&entry) {
            ChainFields::Malformed(why) => return Err(ResumeError::Malformed(why.to_owned())),
            ChainFields::Chained { seq, .. } => {
                if entry.get("event").and_then(Json::as_str) == Some(events::SEAL) {
                    return Err(ResumeError::Sealed);
                }
                writer.chain = Some(ChainHead {
                    next_seq: seq + 1,
                    prev_hash: hash.clone(),
                });
            }
            ChainFields::Unchained => {}
        }
        writer.last_hash = Some(hash);
        Ok(writer)
    }

    /// Starts a chain if there is none: the next entry gets `seq` 1 and links to the log's
    /// last entry (or to the genesis hash in an empty log). Does nothing on a chained writer.
    pub fn start_chain(&mut self) {
        if self.chain.is_none() {
            let prev = self.last_hash.as_deref().unwrap_or(GENESIS_HASH);
            self.chain = Some(ChainHead::start(prev));
        }
    }

    /// True when entries are chained.
    pub fn is_chained(&self) -> bool {
        self.chain.is_some()
    }

    /// The chain position (next `seq`, hash to link to), when chained.
    pub fn head(&self) -> Option<&ChainHead> {
        self.chain.as_ref()
    }

    /// Hash of the last entry written or resumed from.
    pub fn last_hash(&self) -> Option<&str> {
        self.last_hash.as_deref()
    }

    /// True once [`seal`](Self::seal) has been written.
    pub fn is_sealed(&self) -> bool {
        self.sealed
    }

    /// Signs `entry` (and chains it when the writer is chained) and returns the canonical line,
    /// without a newline. Any `signature`, `seq` or `prev_hash` in `entry` is replaced (or, in
    /// an unchained log, removed: an unchained entry must not pretend to be chained).
    ///
    /// `entry` may be given by value or by reference: signing only reads it, so a caller that
    /// keeps its entries (or frees them later, in bulk) passes `&entry`.
    ///
    /// Panics when `entry` is not an object or the writer has sealed its log: both are bugs in
    /// the caller.
    pub fn append(&mut self, entry: impl Borrow<Json>) -> String {
        let entry = entry.borrow();
        assert!(!self.sealed, "DecisionLogWriter::append after seal");
        assert!(
            entry.as_object().is_some(),
            "decision-log entries are JSON objects"
        );
        self.sign_and_chain(|extras, omit, out| {
            entry
                .write_canonical_merged(extras, omit, SIGNATURE_KEY, out)
                .expect("checked to be an object")
        })
    }

    /// [`append`](Self::append) for an entry built as [`ObjectText`]: the same line as
    /// appending `entry.to_json()`, without the tree.
    ///
    /// Panics when the writer has sealed its log.
    pub fn append_text(&mut self, entry: &mut ObjectText) -> String {
        assert!(!self.sealed, "DecisionLogWriter::append after seal");
        self.sign_and_chain(|extras, omit, out| {
            entry.write_merged(extras, omit, SIGNATURE_KEY, out)
        })
    }

    /// Writes the signed payload with `write` (given the chain members to add and the members
    /// to leave out; it returns where `signature` belongs), signs it, splices the signature in
    /// and advances the chain. Chain members are written straight into the canonical text
    /// instead of being inserted into the entry.
    fn sign_and_chain(
        &mut self,
        write: impl FnOnce(&[(&str, &str)], &[&str], &mut String) -> usize,
    ) -> String {
        let (payload, seq, prev, signature) = (
            &mut self.payload,
            &mut self.seq_text,
            &mut self.prev_text,
            &mut self.signature,
        );
        payload.clear();
        let slot = match &self.chain {
            Some(head) => {
                seq.clear();
                push_decimal(head.next_seq, seq);
                prev.clear();
                write_json_string(&head.prev_hash, prev);
                write(&[(PREV_HASH_KEY, prev), (SEQ_KEY, seq)], &[], payload)
            }
            None => write(&[], &[SEQ_KEY, PREV_HASH_KEY], payload),
        };
        signature.clear();
        self.key
            .write_signature(self.algorithm, payload.as_bytes(), signature);
        let line = splice_raw_member(payload, slot, SIGNATURE_KEY, signature);
        let hash = HashText::of(line.as_bytes());
        if let Some(head) = &mut self.chain {
            head.next_seq += 1;
            head.prev_hash.clear();
            head.prev_hash.push_str(hash.as_str());
        }
        // The hash texts are rewritten in place: no allocation per line.
        let last = self.last_hash.get_or_insert_with(String::new);
        last.clear();
        last.push_str(hash.as_str());
        line
    }

    /// Writes the closing `seal` entry (number of chained entries before it, head hash) and
    /// closes the writer.
    pub fn seal(&mut self, at: SimTime) -> Result<String, SealError> {
        let head = self.chain.as_ref().ok_or(SealError::NotChained)?;
        let entry = seal_entry(at, head.entries(), &head.prev_hash);
        let line = self.append(entry);
        self.sealed = true;
        Ok(line)
    }
}

/// Appends `n` in decimal (what `write!(out, "{n}")` gives, without the formatting
/// machinery).
fn push_decimal(mut n: u64, out: &mut String) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&digits[start..]).expect("ASCII digits"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision_log::canonical::splice_member;
    use crate::decision_log::sign::verify_entry;

    fn key() -> SigningKey {
        SigningKey::new("writer-test-key-0123456789abcdef", Some("k1".to_owned()))
    }

    fn entry(n: i64) -> Json {
        let mut e = Json::object();
        e.insert("event", Json::str("operator_action"))
            .insert("n", Json::int(n));
        e
    }

    #[test]
    fn unchained_lines_are_canonical_and_verify() {
        let mut w = DecisionLogWriter::new(key(), Algorithm::HmacSha256);
        let mut e = entry(1);
        e.insert("seq", Json::int(9)); // a forged chain member is dropped
        let line = w.append(e);
        let parsed = Json::parse(&line).unwrap();
        assert_eq!(parsed.canonical(), line);
        assert!(parsed.get("seq").is_none());
        assert_eq!(verify_entry(&key(), &parsed), Ok(Algorithm::HmacSha256));
        assert_eq!(w.last_hash(), Some(entry_hash(&parsed).as_str()));
    }

    #[test]
    fn chained_lines_link_and_count() {
        let mut w = DecisionLogWriter::new_chained(key(), Algorithm::HmacSha384);
        let l1 = w.append(entry(1));
        let l2 = w.append(entry(2));
        let e1 = Json::parse(&l1).unwrap();
        let e2 = Json::parse(&l2).unwrap();
        assert_eq!(
            ChainFields::of(&e1),
            ChainFields::Chained {
                seq: 1,
                prev_hash: GENESIS_HASH.to_owned()
            }
        );
        assert_eq!(
            ChainFields::of(&e2),
            ChainFields::Chained {
                seq: 2,
                prev_hash: entry_hash(&e1)
            }
        );
        assert_eq!(verify_entry(&key(), &e2), Ok(Algorithm::HmacSha384));
        let seal = w.seal(SimTime::from_unix_secs(60)).unwrap();
        let seal = Json::parse(&seal).unwrap();
        assert_eq!(seal.get("entries"), Some(&Json::int(2)));
        assert_eq!(seal.get("head_hash"), Some(&Json::Str(entry_hash(&e2))));
        assert_eq!(seal.get("seq"), Some(&Json::int(3)));
        assert!(w.is_sealed());
    }

    #[test]
    fn resume_continues_what_the_log_holds() {
        let mut w = DecisionLogWriter::new_chained(key(), Algorithm::HmacSha256);
        w.append(entry(1));
        let last = w.append(entry(2));
        let mut resumed =
            DecisionLogWriter::resume(key(), Algorithm::HmacSha256, Some(&last)).unwrap();
        assert_eq!(resumed.head(), w.head());
        assert_eq!(resumed.append(entry(3)), w.append(entry(3)));

        // An unchained (e.g. reference-written, non-canonical) tail stays unchained until a
        // chain is started, which then links to it.
        let reference = r#"{"kind": "snapshot", "n": 1.50}"#;
        let mut w =
            DecisionLogWriter::resume(key(), Algorithm::HmacSha256, Some(reference)).unwrap();
        assert!(!w.is_chained());
        w.start_chain();
        let first = Json::parse(&w.append(entry(1))).unwrap();
        assert_eq!(
            first.get("prev_hash").and_then(Json::as_str),
            Some(entry_hash(&Json::parse(reference).unwrap()).as_str())
        );
        assert_eq!(first.get("seq"), Some(&Json::int(1)));

        let sealed = w.seal(SimTime::EPOCH).unwrap();
        assert_eq!(
            DecisionLogWriter::resume(key(), Algorithm::HmacSha256, Some(&sealed)).unwrap_err(),
            ResumeError::Sealed
        );
        for bad in ["{\"a\":", "[1]", r#"{"seq":1}"#] {
            assert!(matches!(
                DecisionLogWriter::resume(key(), Algorithm::HmacSha256, Some(bad)),
                Err(ResumeError::Malformed(_))
            ));
        }
        assert_eq!(
            DecisionLogWriter::new(key(), Algorithm::HmacSha256).seal(SimTime::EPOCH),
            Err(SealError::NotChained)
        );
    }

    #[test]
    fn decimals_are_written_as_display_writes_them() {
        for n in [
            0,
            1,
            9,
            10,
            99,
            100,
            12_345,
            u64::from(u32::MAX),
            u64::MAX - 1,
            u64::MAX,
        ] {
            let mut out = String::from("x");
            push_decimal(n, &mut out);
            assert_eq!(out, format!("x{n}"));
        }
    }

    #[test]
    fn splice_matches_canonical_for_every_slot() {
        // The signature member can land first, in the middle or last.
        for keys in [&["a", "z"][..], &["t", "z"], &["a", "b"], &[]] {
            let mut e = Json::object();
            for k in keys {
                e.insert(*k, Json::int(1));
            }
            let mut payload = String::new();
            let slot = e
                .write_canonical_without("signature", &mut payload)
                .unwrap();
            let sig = Json::parse(r#"{"value":"x"}"#).unwrap();
            let spliced = splice_member(&payload, slot, "signature", &sig);
            e.insert("signature", sig);
            assert_eq!(spliced, e.canonical(), "{keys:?}");
        }
    }
}
