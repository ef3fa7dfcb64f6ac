//! The hash chain: what makes deleted, reordered, replayed and cut-off lines detectable.
//!
//! The reference signs each line on its own, so anyone can delete, reorder or duplicate lines
//! without breaking a single signature (ops.md §0 item 1). A chained entry carries two more
//! members **inside the signed payload**:
//!
//! - `seq`: 1, 2, 3, ... with no gaps;
//! - `prev_hash`: `sha256:<64 hex>` of the previous entry's canonical bytes **including its
//!   `signature`** ([`entry_hash`]). The first chained entry links to the entry just before it
//!   when the log already held unchained (e.g. reference-written) lines, and otherwise to
//!   [`GENESIS_HASH`].
//!
//! Because the hash covers the signature and the signature covers `seq` and `prev_hash`, an
//! attacker without the key cannot delete (gap in `seq`, broken link), reorder (`seq` out of
//! order), duplicate or replay (repeated `seq`, wrong link) a line, nor re-chain the rest of
//! the log (every later signature would change). Hashing canonical bytes rather than raw line
//! bytes keeps verification independent of on-disk formatting, as the signature check is.
//!
//! **Truncation** of the tail removes lines without leaving a gap, so it needs an anchor:
//!
//! - a **seal**: a final chained entry `{"event":"seal","entries":N,"head_hash":H,...}` with
//!   `N` the number of chained entries before it and `H` the hash of the last of them (equal
//!   to the seal's own `prev_hash`). A sealed log is closed: writers refuse to append, and the
//!   verifier reports any entry after a seal. Cutting the tail of a sealed log removes the seal;
//!   `verify --require-seal` then fails;
//! - an **external anchor** for logs that are still open: the head hash and entry count,
//!   recorded elsewhere (an acceptance bundle, a ticket), checked with `--expect-head HASH` and
//!   `--expect-entries N`.
//!
//! Once a log has started a chain, every later entry must be chained: an unchained line after
//! the chain start is reported (it could have been spliced in from another log). Unchained
//! lines *before* the chain start (a legacy prefix) are verified one by one only; the chain
//! protects what follows them, plus the last of them through the first link.

use sha2::{Digest, Sha256};

use super::canonical::Json;

/// `prev_hash` of the first chained entry of a log that has no earlier entries.
pub const GENESIS_HASH: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// Member holding the sequence number.
pub const SEQ_KEY: &str = "seq";
/// Member holding the previous entry's hash.
pub const PREV_HASH_KEY: &str = "prev_hash";

/// `sha256:<hex>` of an entry's canonical bytes (signature included).
pub fn entry_hash(entry: &Json) -> String {
    hash_canonical(entry.canonical().as_bytes())
}

/// `sha256:<hex>` of canonical bytes already written.
pub fn hash_canonical(canonical: &[u8]) -> String {
    hash_pieces(&[canonical])
}

/// `sha256:<hex>` of the concatenation of `pieces` (canonical bytes in several parts, e.g.
/// from [`splice_parts`](super::canonical::splice_parts)).
pub fn hash_pieces(pieces: &[&[u8]]) -> String {
    HashText::of_pieces(pieces).as_str().to_owned()
}

/// An entry hash (`sha256:` and 64 lower-case hex digits) held inline, so the writer and the
/// verifier can keep and compare one per line without allocating.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct HashText([u8; HASH_TEXT_LEN]);

/// Length of `sha256:<64 hex>`.
const HASH_TEXT_LEN: usize = 7 + 64;

impl HashText {
    /// The hash of the concatenation of `pieces`.
    pub(crate) fn of_pieces(pieces: &[&[u8]]) -> HashText {
        let mut hasher = Sha256::new();
        for piece in pieces {
            hasher.update(piece);
        }
        let digest = hasher.finalize();
        let mut text = [0u8; HASH_TEXT_LEN];
        text[..7].copy_from_slice(b"sha256:");
        for (i, b) in digest.iter().enumerate() {
            text[7 + 2 * i] = HEX[usize::from(b >> 4)];
            text[8 + 2 * i] = HEX[usize::from(b & 0xf)];
        }
        HashText(text)
    }

    /// The hash of `canonical`.
    pub(crate) fn of(canonical: &[u8]) -> HashText {
        HashText::of_pieces(&[canonical])
    }

    /// True when `text` is this hash.
    pub(crate) fn is(&self, text: &str) -> bool {
        self.0[..] == *text.as_bytes()
    }

    /// The text, `sha256:<hex>`.
    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("`sha256:` and hex digits are ASCII")
    }
}

impl std::fmt::Debug for HashText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// True for a well-formed hash: `sha256:` and 64 lower-case hex digits.
pub fn is_hash(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// The chain members of one entry, as read from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainFields {
    /// Neither `seq` nor `prev_hash`.
    Unchained,
    /// Both, well-formed.
    Chained {
        /// Sequence number (≥ 1).
        seq: u64,
        /// Hash of the previous entry.
        prev_hash: String,
    },
    /// One without the other, or a malformed value.
    Malformed(&'static str),
}

impl ChainFields {
    /// Reads `seq` and `prev_hash` from an entry object.
    pub fn of(entry: &Json) -> ChainFields {
        ChainFields::from_members(entry.get(SEQ_KEY), entry.get(PREV_HASH_KEY))
    }

    /// Reads the values of the `seq` and `prev_hash` members (`None`: member absent).
    pub fn from_members(seq: Option<&Json>, prev: Option<&Json>) -> ChainFields {
        let seq = seq.map(|v| match v {
            Json::Int(digits) => Some(digits.as_str()),
            _ => None,
        });
        match read_chain_members(seq, prev.map(Json::as_str)) {
            Ok(None) => ChainFields::Unchained,
            Ok(Some((seq, prev_hash))) => ChainFields::Chained {
                seq,
                prev_hash: prev_hash.to_owned(),
            },
            Err(why) => ChainFields::Malformed(why),
        }
    }
}

/// The rules of [`ChainFields::from_members`], for members however they were read: each is
/// `None` when absent, and otherwise holds `seq`'s integer digits (`None`: not an integer) or
/// `prev_hash`'s string (`None`: not a string). Gives `(seq, prev_hash)` for a chained entry,
/// `None` for an unchained one.
pub(crate) fn read_chain_members<'a>(
    seq: Option<Option<&str>>,
    prev: Option<Option<&'a str>>,
) -> Result<Option<(u64, &'a str)>, &'static str> {
    match (seq, prev) {
        (None, None) => Ok(None),
        (Some(_), None) => Err("`seq` without `prev_hash`"),
        (None, Some(_)) => Err("`prev_hash` without `seq`"),
        (Some(seq), Some(prev)) => {
            let seq = match seq.map(str::parse::<u64>) {
                Some(Ok(n)) if n >= 1 => n,
                _ => return Err("`seq` is not a positive integer"),
            };
            match prev {
                Some(h) if is_hash(h) => Ok(Some((seq, h))),
                _ => Err("`prev_hash` is not `sha256:` and 64 hex digits"),
            }
        }
    }
}

/// Where a chained writer stands: the next `seq` and the hash to link to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainHead {
    /// `seq` of the next entry.
    pub next_seq: u64,
    /// Hash of the last entry (the next entry's `prev_hash`).
    pub prev_hash: String,
}

impl ChainHead {
    /// A chain starting at `seq` 1 linked to `prev_hash` (the genesis value, or the last
    /// unchained entry of the log).
    pub fn start(prev_hash: impl Into<String>) -> ChainHead {
        ChainHead {
            next_seq: 1,
            prev_hash: prev_hash.into(),
        }
    }

    /// Number of chained entries written so far.
    pub fn entries(&self) -> u64 {
        self.next_seq - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_sha256_of_canonical_bytes() {
        let entry = Json::parse(r#"{"b": 1, "a": "x"}"#).unwrap();
        // sha256 of `{"a":"x","b":1}`.
        let h = entry_hash(&entry);
        assert!(is_hash(&h), "{h}");
        assert_eq!(h, hash_canonical(br#"{"a":"x","b":1}"#));
        assert!(is_hash(GENESIS_HASH));
        assert!(!is_hash("sha256:ABC"));
        assert!(!is_hash(&GENESIS_HASH.to_uppercase()));
    }

    #[test]
    fn chain_fields_are_read_strictly() {
        let h = GENESIS_HASH;
        for (line, expected) in [
            (r#"{"a":1}"#.to_owned(), ChainFields::Unchained),
            (
                format!(r#"{{"seq":3,"prev_hash":"{h}"}}"#),
                ChainFields::Chained {
                    seq: 3,
                    prev_hash: h.to_owned(),
                },
            ),
            (
                r#"{"seq":1}"#.to_owned(),
                ChainFields::Malformed("`seq` without `prev_hash`"),
            ),
            (
                format!(r#"{{"prev_hash":"{h}"}}"#),
                ChainFields::Malformed("`prev_hash` without `seq`"),
            ),
            (
                format!(r#"{{"seq":0,"prev_hash":"{h}"}}"#),
                ChainFields::Malformed("`seq` is not a positive integer"),
            ),
            (
                format!(r#"{{"seq":1.0,"prev_hash":"{h}"}}"#),
                ChainFields::Malformed("`seq` is not a positive integer"),
            ),
            (
                r#"{"seq":1,"prev_hash":"sha256:00"}"#.to_owned(),
                ChainFields::Malformed("`prev_hash` is not `sha256:` and 64 hex digits"),
            ),
        ] {
            assert_eq!(
                ChainFields::of(&Json::parse(&line).unwrap()),
                expected,
                "{line}"
            );
        }
    }
}
