//! The verifier: checks every line of a decision log and reports **all** problems of **every**
//! bad line with its physical line number, never stopping at the first failure (the
//! reference stops at the first and counts only non-blank lines, ops.md §3.2, §10 item 6).
//!
//! Per line, in order:
//! 1. JSON that Python would accept, and an object;
//! 2. the signature: present (unless [`VerifyOptions::allow_unsigned`]), well-formed,
//!    `HMAC-SHA256` or `HMAC-SHA384`, the key id rule (different ids on both sides are refused;
//!    with [`VerifyOptions::require_key_id`] a missing id is refused too), then the MAC over
//!    the canonical entry minus `signature`. A signed line needs a key even when unsigned lines
//!    are allowed;
//! 3. the chain, where present (see [`chain`](super::chain)): well-formed `seq`/`prev_hash`,
//!    `seq` continuity, the link to the previous entry, no unchained entry once the chain has
//!    started, a consistent seal and nothing after it.
//!
//! Then, for the whole log: at least one entry, and the optional anchors
//! ([`VerifyOptions::expect_head`], [`VerifyOptions::expect_entries`],
//! [`VerifyOptions::require_seal`]) that detect a cut-off tail.
//!
//! Blank lines are skipped but keep their physical numbers. On-disk formatting does not
//! matter (the reference writes `", "` separators and insertion order); only the canonical
//! form is signed and hashed. Lines that are already canonical (everything our writer
//! produces) take a fast path: a validating scan proves the bytes are canonical, so they are
//! hashed and MACed as they are, and the members the checks read are taken from the text
//! without building a tree. Any other line is parsed and re-canonicalised, as the reference
//! verifier does; tests hold both paths to the same verdicts on mutated lines.
//!
//! **Unsigned lines** are bad by default. `allow_unsigned` accepts lines with no `signature`
//! member at all (as the reference's `--allow-unsigned` does); a line with a broken
//! signature is still bad, and chain checks still apply.
//!
//! **How chain problems are attributed.** Each chained line is compared with the last
//! accepted link. A line moves the chain forward (becomes the link) unless its `seq` is not
//! greater than the link's, which is what duplicates, replays and the late half of a swap
//! look like. So a deleted line flags the one entry after the gap, a duplicated or replayed
//! line flags only the copy, and a swap flags exactly the two swapped lines. After an
//! unreadable line (already reported) the next chained line resynchronises the chain
//! instead of being blamed for the damage.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use super::canonical::{Json, JsonError, scan_canonical_object, splice_parts};
use super::chain::{GENESIS_HASH, HashText, PREV_HASH_KEY, SEQ_KEY, read_chain_members};
use super::entry::events;
use super::sign::{SIGNATURE_KEY, SignatureError, SignatureView, SigningKey};

/// `"seal"` as it appears in canonical text.
const SEAL_EVENT_TEXT: &str = "\"seal\"";

/// The members a `signature` object may have.
const SIGNATURE_MEMBERS: [&str; 3] = ["algorithm", "value", "key_id"];

/// What to check.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// The key to check signatures with. Without one, every signed line is bad.
    pub key: Option<SigningKey>,
    /// Accept lines with no `signature` member.
    pub allow_unsigned: bool,
    /// Signed lines must carry a `key_id` equal to the key's id.
    pub require_key_id: bool,
    /// The hash the last entry must have (an anchor recorded when the log was closed).
    pub expect_head: Option<String>,
    /// The number of entries the log must hold.
    pub expect_entries: Option<u64>,
    /// The last entry must be a seal.
    pub require_seal: bool,
}

/// One problem with one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The line is not UTF-8.
    NotUtf8,
    /// The line is not JSON that Python would accept.
    InvalidJson(JsonError),
    /// The line is JSON but not an object.
    NotAnObject,
    /// No `signature` member, and unsigned lines are not allowed.
    Unsigned,
    /// A signed line, but no key was given.
    NoKey,
    /// The signature is malformed, of the wrong key, or does not match.
    Signature(SignatureError),
    /// The signature object has a member other than `algorithm`, `value` and `key_id`. The
    /// signature object is not covered by the MAC, so nothing may hide in it.
    SignatureExtraMember(String),
    /// The signature has no `key_id` although one is required.
    KeyIdMissing {
        /// The id the key has.
        expected: String,
    },
    /// `seq`/`prev_hash` present but malformed.
    ChainMalformed(&'static str),
    /// `seq` is not the next number.
    SeqMismatch {
        /// `seq` on the line.
        found: u64,
        /// The number that should follow.
        expected: u64,
    },
    /// `prev_hash` is not the hash of the entry it should link to.
    PrevHashMismatch {
        /// Physical line of the entry it should link to (`None`: the genesis value).
        linked_line: Option<usize>,
    },
    /// An unchained entry after the chain started.
    UnchainedInChain {
        /// Line of the first chained entry.
        chain_start: usize,
    },
    /// An entry after the seal.
    AfterSeal {
        /// Line of the seal.
        seal_line: usize,
    },
    /// A seal that does not describe what precedes it.
    BadSeal(&'static str),
}

impl Problem {
    /// A stable machine-readable name for the problem (for `--json` output).
    pub fn code(&self) -> &'static str {
        match self {
            Problem::NotUtf8 => "not_utf8",
            Problem::InvalidJson(_) => "invalid_json",
            Problem::NotAnObject => "not_an_object",
            Problem::Unsigned => "unsigned",
            Problem::NoKey => "no_key",
            Problem::Signature(SignatureError::Missing) => "unsigned",
            Problem::Signature(SignatureError::Malformed(_)) => "signature_malformed",
            Problem::Signature(SignatureError::UnsupportedAlgorithm(_)) => {
                "signature_algorithm_unsupported"
            }
            Problem::Signature(SignatureError::BadBase64) => "signature_not_base64",
            Problem::Signature(SignatureError::KeyIdMismatch { .. }) => "key_id_mismatch",
            Problem::Signature(SignatureError::Mismatch) => "signature_mismatch",
            Problem::SignatureExtraMember(_) => "signature_extra_member",
            Problem::KeyIdMissing { .. } => "key_id_missing",
            Problem::ChainMalformed(_) => "chain_malformed",
            Problem::SeqMismatch { .. } => "seq_mismatch",
            Problem::PrevHashMismatch { .. } => "prev_hash_mismatch",
            Problem::UnchainedInChain { .. } => "unchained_in_chain",
            Problem::AfterSeal { .. } => "after_seal",
            Problem::BadSeal(_) => "bad_seal",
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NotUtf8 => f.write_str("not valid UTF-8"),
            Problem::InvalidJson(e) => write!(f, "not valid JSON: {e}"),
            Problem::NotAnObject => f.write_str("not a JSON object"),
            Problem::Unsigned => {
                f.write_str("unsigned (no `signature`; --allow-unsigned accepts unsigned lines)")
            }
            Problem::NoKey => f.write_str("signed, but no key was given to check it"),
            Problem::Signature(e) => f.write_str(&e.to_string()),
            Problem::SignatureExtraMember(name) => write!(
                f,
                "signature has an unknown member `{name}` (only algorithm, value, key_id)"
            ),
            Problem::KeyIdMissing { expected } => {
                write!(f, "signature has no `key_id` (expected `{expected}`)")
            }
            Problem::ChainMalformed(why) => write!(f, "chain members malformed: {why}"),
            Problem::SeqMismatch { found, expected } => write!(
                f,
                "seq {found}, expected {expected} (entries deleted, reordered or duplicated)"
            ),
            Problem::PrevHashMismatch {
                linked_line: Some(line),
            } => write!(
                f,
                "prev_hash does not match the entry on line {line} (an entry was removed, inserted or altered)"
            ),
            Problem::PrevHashMismatch { linked_line: None } => f.write_str(
                "prev_hash is not the genesis hash although no entry precedes it (the log's head was cut off)",
            ),
            Problem::UnchainedInChain { chain_start } => write!(
                f,
                "unchained entry inside a chained log (the chain starts on line {chain_start})"
            ),
            Problem::AfterSeal { seal_line } => {
                write!(f, "entry after the seal on line {seal_line}")
            }
            Problem::BadSeal(why) => write!(f, "seal is inconsistent: {why}"),
        }
    }
}

/// The outcome for one non-blank line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineReport {
    /// Physical line number (1-based; blank lines count).
    pub line: usize,
    /// `seq`, when the line is chained.
    pub seq: Option<u64>,
    /// Whether the line carries a `signature` member.
    pub signed: bool,
    /// Everything wrong with it; empty when the line is good.
    pub problems: Vec<Problem>,
}

impl LineReport {
    /// True when nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// `problem; problem; ...`.
    pub fn problems_text(&self) -> String {
        self.problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A problem with the log as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogProblem {
    /// No entries at all.
    Empty,
    /// The last entry's hash is not the expected head.
    HeadMismatch {
        /// The anchor.
        expected: String,
        /// The last entry's hash (`None` when the last line is unreadable).
        found: Option<String>,
    },
    /// A different number of entries than expected.
    EntriesMismatch {
        /// The anchor.
        expected: u64,
        /// Entries found.
        found: u64,
    },
    /// The last entry is not a seal although one is required.
    NotSealed,
}

impl LogProblem {
    /// A stable machine-readable name for the problem (for `--json` output).
    pub fn code(&self) -> &'static str {
        match self {
            LogProblem::Empty => "empty_log",
            LogProblem::HeadMismatch { .. } => "head_mismatch",
            LogProblem::EntriesMismatch { .. } => "entries_mismatch",
            LogProblem::NotSealed => "not_sealed",
        }
    }
}

impl fmt::Display for LogProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogProblem::Empty => f.write_str("the log has no entries"),
            LogProblem::HeadMismatch { expected, found } => write!(
                f,
                "head hash is {}, expected {expected} (the tail was cut off or changed)",
                found.as_deref().unwrap_or("unknown (the last line is unreadable)")
            ),
            LogProblem::EntriesMismatch { expected, found } => write!(
                f,
                "the log holds {found} entries, expected {expected} (entries were removed or added)"
            ),
            LogProblem::NotSealed => f.write_str(
                "the log is not sealed (its last entry is not a seal): the tail may have been cut off",
            ),
        }
    }
}

/// Totals for a whole log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Physical lines read (blank lines included).
    pub lines: usize,
    /// Non-blank lines.
    pub entries: u64,
    /// Lines whose signature verified.
    pub verified: u64,
    /// Lines with no `signature` member.
    pub unsigned: u64,
    /// Lines with well-formed chain members.
    pub chained: u64,
    /// Lines with at least one problem.
    pub bad_lines: u64,
    /// Whether the last entry is a seal.
    pub sealed: bool,
    /// Hash of the last entry (`sha256:<hex>` of its canonical bytes).
    pub head_hash: Option<String>,
    /// `seq` of the last entry, when it is chained.
    pub head_seq: Option<u64>,
    /// Problems with the log as a whole.
    pub log_problems: Vec<LogProblem>,
}

impl Summary {
    /// True when no line is bad and the log as a whole passes.
    pub fn is_ok(&self) -> bool {
        self.bad_lines == 0 && self.log_problems.is_empty()
    }
}

/// The last accepted link of the chain.
#[derive(Clone, Debug)]
struct Link {
    seq: u64,
    hash: HashText,
    line: usize,
}

/// The previous non-blank line.
#[derive(Clone, Debug)]
enum Previous {
    None,
    Unreadable,
    Entry { hash: HashText, line: usize },
}

/// Where the signed payload (the entry minus `signature`) is.
#[derive(Clone, Debug)]
enum Payload {
    /// Two byte ranges of the line itself, concatenated.
    Slices(Range<usize>, Range<usize>),
    /// The verifier's payload buffer.
    Buffer,
}

/// What the checks read from a `signature` member.
#[derive(Debug)]
struct SignatureFacts<'a> {
    /// The shape checks' verdict, and the parts when it is well formed.
    view: Result<SignatureView<'a>, SignatureError>,
    /// The first member (in key order) other than `algorithm`, `value` and `key_id`.
    extra_member: Option<Cow<'a, str>>,
}

/// What the checks read from one line, borrowed from the line (fast path) or from its parsed
/// tree (general path). Chain members are `None` when absent; a present `seq` holds its
/// integer digits (`None`: not an integer) and a present `prev_hash` its string (`None`: not
/// a string).
#[derive(Debug)]
struct LineFacts<'a> {
    signature: Option<SignatureFacts<'a>>,
    seq: Option<Option<&'a str>>,
    prev_hash: Option<Option<Cow<'a, str>>>,
    is_seal: bool,
    /// A seal's `entries`, when it is an integer.
    seal_entries: Option<&'a str>,
    /// A seal's `head_hash`, when it is a string.
    seal_head_hash: Option<Cow<'a, str>>,
    /// `sha256:` of the canonical entry, signature included.
    hash: HashText,
    payload: Payload,
}

impl<'a> LineFacts<'a> {
    /// The fast path, for a line that is exactly canonical: one validating scan, the members
    /// the checks need read straight from their text, and the line's own bytes hashed and
    /// MACed. `None` when the line is not known to be canonical (or a value the checks read
    /// is one this path leaves to the parser): the caller takes the general path.
    fn from_canonical(text: &'a str) -> Option<LineFacts<'a>> {
        let mut signature = None;
        let (mut seq, mut prev, mut event) = (None, None, None);
        let (mut entries, mut head_hash) = (None, None);
        let mut first_key = None;
        scan_canonical_object(text, |m| {
            first_key.get_or_insert(m.key);
            // Most keys are none of these: the first byte says so without comparing strings.
            if !matches!(m.key.as_bytes().first(), Some(b's' | b'p' | b'e' | b'h')) {
                return;
            }
            let slot = match m.key {
                SIGNATURE_KEY => &mut signature,
                SEQ_KEY => &mut seq,
                PREV_HASH_KEY => &mut prev,
                "event" => &mut event,
                "entries" => &mut entries,
                "head_hash" => &mut head_hash,
                _ => return,
            };
            *slot = Some(m);
        })?;
        let is_seal = event.is_some_and(|m| m.value == SEAL_EVENT_TEXT);
        let payload = match signature {
            // The payload is the line without the member and the comma that joins it.
            Some(m) if first_key == Some(SIGNATURE_KEY) => {
                let rest = if text.as_bytes()[m.end] == b',' {
                    m.end + 1
                } else {
                    m.end
                };
                Payload::Slices(0..1, rest..text.len())
            }
            Some(m) => Payload::Slices(0..m.start - 1, m.end..text.len()),
            None => Payload::Slices(0..text.len(), 0..0),
        };
        let (seal_entries, seal_head_hash) = if is_seal {
            (
                entries.and_then(|m| canonical_int(m.value)),
                match head_hash {
                    Some(m) => canonical_str(m.value)?,
                    None => None,
                },
            )
        } else {
            (None, None)
        };
        Some(LineFacts {
            signature: match signature {
                Some(m) => Some(SignatureFacts::from_canonical(m.value)?),
                None => None,
            },
            seq: seq.map(|m| canonical_int(m.value)),
            prev_hash: match prev {
                Some(m) => Some(canonical_str(m.value)?),
                None => None,
            },
            is_seal,
            seal_entries,
            seal_head_hash,
            hash: HashText::of(text.as_bytes()),
            payload,
        })
    }

    /// The general path: the payload is re-canonicalised into `buffer`, and the hash covers
    /// it with the signature spliced back in.
    fn from_entry(entry: &'a Json, buffer: &mut String) -> LineFacts<'a> {
        buffer.clear();
        let slot = entry
            .write_canonical_without(SIGNATURE_KEY, buffer)
            .expect("callers pass objects");
        let hash = match entry.get(SIGNATURE_KEY) {
            Some(sig) => {
                let (head, member, tail) = splice_parts(buffer, slot, SIGNATURE_KEY, sig);
                HashText::of_pieces(&[head.as_bytes(), member.as_bytes(), tail.as_bytes()])
            }
            None => HashText::of(buffer.as_bytes()),
        };
        let is_seal = entry.get("event").and_then(Json::as_str) == Some(events::SEAL);
        debug_assert_eq!(SEAL_EVENT_TEXT, Json::str(events::SEAL).canonical());
        let int = |v: &'a Json| match v {
            Json::Int(digits) => Some(digits.as_str()),
            _ => None,
        };
        let string = |v: &'a Json| v.as_str().map(Cow::Borrowed);
        LineFacts {
            signature: entry.get(SIGNATURE_KEY).map(|sig| SignatureFacts {
                view: SignatureView::from_member(Some(sig)),
                extra_member: sig.as_object().and_then(|m| {
                    m.keys()
                        .find(|k| !SIGNATURE_MEMBERS.contains(&k.as_str()))
                        .map(|k| Cow::Borrowed(k.as_str()))
                }),
            }),
            seq: entry.get(SEQ_KEY).map(int),
            prev_hash: entry.get(PREV_HASH_KEY).map(string),
            is_seal,
            seal_entries: entry.get("entries").filter(|_| is_seal).and_then(int),
            seal_head_hash: entry.get("head_hash").filter(|_| is_seal).and_then(string),
            hash,
            payload: Payload::Buffer,
        }
    }
}

impl<'a> SignatureFacts<'a> {
    /// Reads a `signature` member from its canonical text, as [`SignatureView::from_member`]
    /// reads it from a tree. `None` leaves the member to the parser (escaped keys, or a
    /// string that does not parse).
    fn from_canonical(value: &'a str) -> Option<SignatureFacts<'a>> {
        if !value.starts_with('{') {
            return Some(SignatureFacts {
                view: SignatureView::from_member(Some(&Json::Null)),
                extra_member: None,
            });
        }
        let (mut algorithm, mut tag, mut key_id) = (None, None, None);
        let mut extra_member = None;
        scan_canonical_object(value, |m| {
            let slot = match m.key {
                "algorithm" => &mut algorithm,
                "value" => &mut tag,
                "key_id" => &mut key_id,
                other => {
                    extra_member.get_or_insert(other);
                    return;
                }
            };
            *slot = Some(m.value);
        })?;
        let string = |v: Option<&'a str>| match v {
            Some(text) => canonical_str(text),
            None => Some(None),
        };
        let (algorithm, tag, key_id) = (string(algorithm)?, string(tag)?, string(key_id)?);
        Some(SignatureFacts {
            view: SignatureView::from_strings(algorithm.as_deref(), tag.as_deref(), key_id),
            extra_member: extra_member.map(Cow::Borrowed),
        })
    }
}

/// The digits of an integer given as canonical text (`None`: not an integer). The canonical
/// scan has already refused leading zeros and `-0`, so the text is what [`Json::Int`] holds.
fn canonical_int(value: &str) -> Option<&str> {
    let digits = value.strip_prefix('-').unwrap_or(value);
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(value)
}

/// A string value given as canonical text: `Some(None)` when it is not a string, `None` when
/// it does not parse (which the canonical scan rules out). Strings without escapes are
/// borrowed as they are.
fn canonical_str(value: &str) -> Option<Option<Cow<'_, str>>> {
    let Some(inner) = value.strip_prefix('"') else {
        return Some(None);
    };
    match inner.strip_suffix('"') {
        Some(raw) if !raw.contains('\\') => Some(Some(Cow::Borrowed(raw))),
        _ => match Json::parse(value).ok()? {
            Json::Str(s) => Some(Some(Cow::Owned(s))),
            _ => None,
        },
    }
}

/// A streaming verifier: feed it lines in order, then [`finish`](Verifier::finish).
#[derive(Debug)]
pub struct Verifier {
    options: VerifyOptions,
    summary: Summary,
    previous: Previous,
    chain_start: Option<usize>,
    link: Option<Link>,
    resync: bool,
    seal_line: Option<usize>,
    last_is_seal: bool,
    /// Hash of the last line, kept inline; [`Summary::head_hash`] is filled in at the end.
    head_hash: Option<HashText>,
    payload: String,
}

impl Verifier {
    /// A verifier with `options`.
    pub fn new(options: VerifyOptions) -> Verifier {
        Verifier {
            options,
            summary: Summary::default(),
            previous: Previous::None,
            chain_start: None,
            link: None,
            resync: false,
            seal_line: None,
            last_is_seal: false,
            head_hash: None,
            payload: String::new(),
        }
    }

    /// Checks physical line `line` (1-based), given as raw bytes without its newline. Blank
    /// lines give `None`; every other line gives its report, good or bad.
    pub fn check_bytes(&mut self, line: usize, bytes: &[u8]) -> Option<LineReport> {
        match std::str::from_utf8(bytes) {
            Ok(text) => self.check_line(line, text),
            Err(_) => {
                self.summary.lines = self.summary.lines.max(line);
                self.summary.entries += 1;
                Some(self.unreadable(line, Problem::NotUtf8))
            }
        }
    }

    /// Checks physical line `line` (1-based) without its newline. Blank lines give `None`;
    /// every other line gives its report, good or bad.
    pub fn check_line(&mut self, line: usize, text: &str) -> Option<LineReport> {
        self.check_line_by(line, text, LineFacts::from_canonical)
    }

    /// [`check_line`](Self::check_line) with `fast_path` as the fast path (the tests pass one
    /// that always declines, to compare the two paths).
    fn check_line_by<'a>(
        &mut self,
        line: usize,
        text: &'a str,
        fast_path: impl FnOnce(&'a str) -> Option<LineFacts<'a>>,
    ) -> Option<LineReport> {
        self.summary.lines = self.summary.lines.max(line);
        if text.trim_ascii().is_empty() {
            return None;
        }
        self.summary.entries += 1;
        // Lines this crate wrote are canonical already: hash and MAC their own bytes. Anything
        // else (the reference's `", "` format, reordered keys, ...) is parsed and
        // re-canonicalised, exactly as the reference verifier does.
        let parsed;
        let facts = match fast_path(text) {
            Some(facts) => facts,
            None => {
                parsed = match Json::parse(text) {
                    Ok(entry @ Json::Object(_)) => entry,
                    Ok(_) => return Some(self.unreadable(line, Problem::NotAnObject)),
                    Err(e) => return Some(self.unreadable(line, Problem::InvalidJson(e))),
                };
                LineFacts::from_entry(&parsed, &mut self.payload)
            }
        };
        self.check_facts(line, text, facts)
    }

    /// The checks of [`check_line`](Self::check_line) on what was read from the line.
    fn check_facts(&mut self, line: usize, text: &str, facts: LineFacts<'_>) -> Option<LineReport> {
        let mut report = LineReport {
            line,
            seq: None,
            signed: facts.signature.is_some(),
            problems: Vec::new(),
        };
        let payload: [&[u8]; 2] = match &facts.payload {
            Payload::Slices(head, tail) => {
                [text[head.clone()].as_bytes(), text[tail.clone()].as_bytes()]
            }
            Payload::Buffer => [self.payload.as_bytes(), &[]],
        };
        check_signature(
            &self.options,
            &mut self.summary,
            facts.signature.as_ref(),
            &payload,
            &mut report,
        );
        self.check_chain(&facts, line, &mut report);
        if let Some(seal_line) = self.seal_line
            && seal_line != line
        {
            report.problems.push(Problem::AfterSeal { seal_line });
        }
        if facts.is_seal && report.seq.is_some() && self.seal_line.is_none() {
            self.seal_line = Some(line);
        }

        self.last_is_seal = facts.is_seal && report.seq.is_some();
        self.head_hash = Some(facts.hash);
        self.summary.head_seq = report.seq;
        self.previous = Previous::Entry {
            hash: facts.hash,
            line,
        };
        if !report.is_ok() {
            self.summary.bad_lines += 1;
        }
        Some(report)
    }

    fn unreadable(&mut self, line: usize, problem: Problem) -> LineReport {
        self.summary.bad_lines += 1;
        self.head_hash = None;
        self.summary.head_seq = None;
        self.last_is_seal = false;
        self.previous = Previous::Unreadable;
        if self.chain_start.is_some() {
            self.resync = true;
        }
        LineReport {
            line,
            seq: None,
            signed: false,
            problems: vec![problem],
        }
    }

    fn check_chain(&mut self, facts: &LineFacts<'_>, line: usize, report: &mut LineReport) {
        let is_seal = facts.is_seal;
        let (seq, prev_hash) =
            match read_chain_members(facts.seq, facts.prev_hash.as_ref().map(Option::as_deref)) {
                Ok(None) => {
                    if let Some(chain_start) = self.chain_start {
                        report
                            .problems
                            .push(Problem::UnchainedInChain { chain_start });
                    }
                    if is_seal {
                        report
                            .problems
                            .push(Problem::BadSeal("a seal outside a chain"));
                    }
                    return;
                }
                Err(why) => {
                    report.problems.push(Problem::ChainMalformed(why));
                    if self.chain_start.is_some() {
                        self.resync = true;
                    }
                    return;
                }
                Ok(Some(chained)) => chained,
            };
        report.seq = Some(seq);
        self.summary.chained += 1;

        let advance = match (&self.link, self.chain_start) {
            // The first chained entry: seq 1, linked to the entry before it or to genesis.
            (None, None) => {
                self.chain_start = Some(line);
                if seq != 1 {
                    report.problems.push(Problem::SeqMismatch {
                        found: seq,
                        expected: 1,
                    });
                }
                match &self.previous {
                    Previous::None if prev_hash != GENESIS_HASH => {
                        report
                            .problems
                            .push(Problem::PrevHashMismatch { linked_line: None });
                    }
                    Previous::Entry { hash, line } if !hash.is(prev_hash) => {
                        report.problems.push(Problem::PrevHashMismatch {
                            linked_line: Some(*line),
                        });
                    }
                    _ => {}
                }
                true
            }
            // Chain started but no link accepted yet (its first lines were malformed).
            (None, Some(_)) => true,
            // After an unreadable line the link cannot be checked, but going backwards
            // cannot be explained by the damage.
            (Some(link), _) if self.resync => {
                if seq <= link.seq {
                    report.problems.push(Problem::SeqMismatch {
                        found: seq,
                        expected: link.seq + 1,
                    });
                }
                seq > link.seq
            }
            (Some(link), _) => {
                let expected = link.seq + 1;
                if seq != expected {
                    report.problems.push(Problem::SeqMismatch {
                        found: seq,
                        expected,
                    });
                }
                if !link.hash.is(prev_hash) {
                    report.problems.push(Problem::PrevHashMismatch {
                        linked_line: Some(link.line),
                    });
                }
                seq > link.seq
            }
        };
        if is_seal {
            let entries = facts.seal_entries.and_then(|n| n.parse::<u64>().ok());
            if entries != Some(seq - 1) {
                report.problems.push(Problem::BadSeal(
                    "`entries` is not the number of chained entries before it",
                ));
            }
            if facts.seal_head_hash.as_deref() != Some(prev_hash) {
                report
                    .problems
                    .push(Problem::BadSeal("`head_hash` differs from `prev_hash`"));
            }
        }
        if advance {
            self.resync = false;
            self.link = Some(Link {
                seq,
                hash: facts.hash,
                line,
            });
        }
    }

    /// The totals, with the whole-log checks applied.
    pub fn finish(mut self) -> Summary {
        let s = &mut self.summary;
        s.sealed = self.last_is_seal;
        s.head_hash = self.head_hash.map(|h| h.as_str().to_owned());
        if s.entries == 0 {
            s.log_problems.push(LogProblem::Empty);
        }
        if let Some(expected) = &self.options.expect_head
            && s.head_hash.as_deref() != Some(expected.as_str())
        {
            s.log_problems.push(LogProblem::HeadMismatch {
                expected: expected.clone(),
                found: s.head_hash.clone(),
            });
        }
        if let Some(expected) = self.options.expect_entries
            && s.entries != expected
        {
            s.log_problems.push(LogProblem::EntriesMismatch {
                expected,
                found: s.entries,
            });
        }
        if self.options.require_seal && !s.sealed {
            s.log_problems.push(LogProblem::NotSealed);
        }
        self.summary
    }
}

/// The signature rules for one line (see the module doc).
fn check_signature(
    options: &VerifyOptions,
    summary: &mut Summary,
    signature: Option<&SignatureFacts<'_>>,
    payload: &[&[u8]],
    report: &mut LineReport,
) {
    let Some(signature) = signature else {
        summary.unsigned += 1;
        if !options.allow_unsigned {
            report.problems.push(Problem::Unsigned);
        }
        return;
    };
    let parts = match &signature.view {
        Ok(parts) => parts,
        Err(e) => {
            report.problems.push(Problem::Signature(e.clone()));
            return;
        }
    };
    if let Some(extra) = &signature.extra_member {
        report
            .problems
            .push(Problem::SignatureExtraMember(extra.clone().into_owned()));
    }
    let Some(key) = &options.key else {
        report.problems.push(Problem::NoKey);
        return;
    };
    if options.require_key_id
        && parts.key_id.is_none()
        && let Some(expected) = key.key_id()
    {
        report.problems.push(Problem::KeyIdMissing {
            expected: expected.to_owned(),
        });
    }
    match parts.verify_pieces(key, payload) {
        Ok(_) => {
            if report.problems.is_empty() {
                summary.verified += 1;
            }
        }
        Err(e) => report.problems.push(Problem::Signature(e)),
    }
}

/// Verifies a whole log held in memory: every non-blank line's report, and the summary.
/// Lines split on `\n`; a trailing `\r` is tolerated as whitespace.
pub fn verify_log(text: &str, options: VerifyOptions) -> (Vec<LineReport>, Summary) {
    let mut verifier = Verifier::new(options);
    let reports = text
        .split('\n')
        .enumerate()
        .filter_map(|(i, line)| verifier.check_line(i + 1, line))
        .collect();
    let mut summary = verifier.finish();
    // `split` yields one empty piece after a final newline; it is not a line.
    if text.ends_with('\n') {
        summary.lines = summary.lines.min(text.split('\n').count() - 1);
    }
    (reports, summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision_log::sign::Algorithm;
    use crate::decision_log::writer::DecisionLogWriter;
    use crate::domain::SimTime;

    fn key() -> SigningKey {
        SigningKey::new("verify-test-key", Some("ops".to_owned()))
    }

    fn options() -> VerifyOptions {
        VerifyOptions {
            key: Some(key()),
            ..VerifyOptions::default()
        }
    }

    fn entry(n: i64) -> Json {
        let mut e = Json::object();
        e.insert("event", Json::str("operator_action"))
            .insert("n", Json::int(n));
        e
    }

    fn chained_log(n: i64, seal: bool) -> Vec<String> {
        let mut w = DecisionLogWriter::new_chained(key(), Algorithm::HmacSha256);
        let mut lines: Vec<String> = (1..=n).map(|i| w.append(entry(i))).collect();
        if seal {
            lines.push(w.seal(SimTime::EPOCH).unwrap());
        }
        lines
    }

    fn bad(text: &str, options: VerifyOptions) -> Vec<(usize, String)> {
        let (reports, _) = verify_log(text, options);
        reports
            .iter()
            .filter(|r| !r.is_ok())
            .map(|r| (r.line, r.problems_text()))
            .collect()
    }

    #[test]
    fn a_good_chained_log_verifies_with_its_summary() {
        let lines = chained_log(3, true);
        let text = lines.join("\n") + "\n";
        let (reports, summary) = verify_log(&text, options());
        assert!(reports.iter().all(LineReport::is_ok), "{reports:?}");
        assert!(summary.is_ok(), "{summary:?}");
        assert_eq!(summary.entries, 4);
        assert_eq!(summary.lines, 4);
        assert_eq!(summary.verified, 4);
        assert_eq!(summary.chained, 4);
        assert_eq!(summary.head_seq, Some(4));
        assert!(summary.sealed);
        assert_eq!(
            summary.head_hash.as_deref(),
            Some(super::super::chain::entry_hash(&Json::parse(&lines[3]).unwrap()).as_str())
        );
    }

    #[test]
    fn every_problem_of_every_line_is_reported_with_physical_numbers() {
        let lines = chained_log(4, false);
        let text = format!(
            "\n{}\n\nnot json\n{}\n[1]\n{}\n{}\n",
            lines[0], lines[2], lines[1], lines[3]
        );
        // Physical lines: 1 blank, 2 = seq1, 3 blank, 4 garbage, 5 = seq3, 6 = array,
        // 7 = seq2 (moved after seq3), 8 = seq4 (which rightly links to seq3).
        let found = bad(&text, options());
        let lines_flagged: Vec<usize> = found.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines_flagged, [4, 6, 7], "{found:#?}");
        assert!(found[0].1.starts_with("not valid JSON"), "{found:?}");
        assert_eq!(found[1].1, "not a JSON object");
        assert!(found[2].1.contains("seq 2, expected 4"), "{found:?}");
    }

    #[test]
    fn chain_attribution_is_precise() {
        let l = chained_log(4, false);
        let cases: Vec<(&str, Vec<&String>, Vec<usize>)> = vec![
            ("deleted", vec![&l[0], &l[2], &l[3]], vec![2]),
            (
                "duplicated",
                vec![&l[0], &l[1], &l[1], &l[2], &l[3]],
                vec![3],
            ),
            ("swapped", vec![&l[0], &l[2], &l[1], &l[3]], vec![2, 3]),
            ("head cut", vec![&l[1], &l[2], &l[3]], vec![1]),
            ("replayed", vec![&l[0], &l[1], &l[2], &l[3], &l[0]], vec![5]),
        ];
        for (name, lines, expected) in cases {
            let text = lines
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n");
            let flagged: Vec<usize> = bad(&text, options()).iter().map(|(l, _)| *l).collect();
            assert_eq!(flagged, expected, "{name}");
        }
    }

    #[test]
    fn truncation_needs_a_seal_or_an_anchor() {
        let l = chained_log(3, true);
        let full = l.join("\n");
        let (_, summary) = verify_log(&full, options());
        let head = summary.head_hash.clone().unwrap();
        let cut = l[..3].join("\n");
        // Without an anchor, a cut-off tail is invisible...
        assert!(verify_log(&cut, options()).1.is_ok());
        // ...with one, it is not.
        for opts in [
            VerifyOptions {
                require_seal: true,
                ..options()
            },
            VerifyOptions {
                expect_head: Some(head.clone()),
                ..options()
            },
            VerifyOptions {
                expect_entries: Some(4),
                ..options()
            },
        ] {
            let (reports, summary) = verify_log(&cut, opts.clone());
            assert!(reports.iter().all(LineReport::is_ok));
            assert!(!summary.is_ok(), "{opts:?}");
            assert_eq!(summary.log_problems.len(), 1);
            assert!(verify_log(&full, opts).1.is_ok());
        }
        // An entry after a seal is refused.
        let mut w = DecisionLogWriter::resume(key(), Algorithm::HmacSha256, Some(&l[2])).unwrap();
        let after = w.append(entry(9));
        let text = format!("{full}\n{after}");
        let found = bad(&text, options());
        assert_eq!(found.len(), 1);
        assert!(
            found[0].1.contains("entry after the seal on line 4"),
            "{found:?}"
        );
    }

    #[test]
    fn signatures_keys_and_unsigned_lines() {
        let mut w = DecisionLogWriter::new(key(), Algorithm::HmacSha256);
        let signed = w.append(entry(1));
        let unsigned = entry(2).canonical();
        let text = format!("{signed}\n{unsigned}");
        assert_eq!(bad(&text, options()), [(2, Problem::Unsigned.to_string())]);
        let allow = VerifyOptions {
            allow_unsigned: true,
            ..options()
        };
        let (_, summary) = verify_log(&text, allow.clone());
        assert!(summary.is_ok());
        assert_eq!((summary.verified, summary.unsigned), (1, 1));
        // Signed lines still need a key when unsigned ones are allowed.
        let no_key = VerifyOptions { key: None, ..allow };
        assert_eq!(bad(&text, no_key), [(1, Problem::NoKey.to_string())]);
        // Wrong key, wrong id, missing id.
        let wrong = VerifyOptions {
            key: Some(SigningKey::new("other", None)),
            ..options()
        };
        assert!(bad(&signed, wrong)[0].1.contains("does not match"));
        let other_id = VerifyOptions {
            key: Some(SigningKey::new("verify-test-key", Some("x".to_owned()))),
            ..options()
        };
        assert!(bad(&signed, other_id)[0].1.contains("key id `ops`"));
        let mut anon = DecisionLogWriter::new(
            SigningKey::new("verify-test-key", None),
            Algorithm::HmacSha256,
        );
        let anon_line = anon.append(entry(1));
        assert!(bad(&anon_line, options()).is_empty());
        let strict = VerifyOptions {
            require_key_id: true,
            ..options()
        };
        assert_eq!(
            bad(&anon_line, strict),
            [(1, "signature has no `key_id` (expected `ops`)".to_owned())]
        );
    }

    #[test]
    fn unchained_lines_inside_a_chain_and_broken_seals_are_reported() {
        let l = chained_log(2, false);
        let mut w = DecisionLogWriter::new(key(), Algorithm::HmacSha256);
        let loose = w.append(entry(5));
        let text = format!("{}\n{loose}\n{}", l[0], l[1]);
        let found = bad(&text, options());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, 2);
        assert!(found[0].1.contains("chain starts on line 1"));

        // A seal forged with wrong counts (signed with the right key, so only the chain
        // rules can catch it).
        let mut w = DecisionLogWriter::resume(key(), Algorithm::HmacSha256, Some(&l[1])).unwrap();
        let mut fake = super::super::entry::seal_entry(SimTime::EPOCH, 7, GENESIS_HASH);
        fake.insert("note", Json::str("forged"));
        let fake = w.append(fake);
        let text = format!("{}\n{}\n{fake}", l[0], l[1]);
        let found = bad(&text, options());
        assert_eq!(found.len(), 1);
        assert!(found[0].1.contains("`entries` is not"), "{found:?}");
        assert!(found[0].1.contains("`head_hash` differs"), "{found:?}");
    }

    #[test]
    fn the_fast_path_and_the_general_path_agree() {
        // A leading space makes a line non-canonical, so it takes the parse-and-recanonicalise
        // path; hashes and verdicts must not change.
        let lines = chained_log(3, true);
        let fast = lines.join("\n");
        let slow = lines
            .iter()
            .map(|l| format!(" {l}"))
            .collect::<Vec<_>>()
            .join("\n");
        let (fast_reports, fast_summary) = verify_log(&fast, options());
        let (slow_reports, slow_summary) = verify_log(&slow, options());
        assert!(fast_summary.is_ok() && slow_summary.is_ok());
        assert_eq!(fast_summary, slow_summary);
        assert_eq!(fast_reports, slow_reports);
        let tampered = lines[1].replace("\"n\":2", "\"n\":3");
        for line in [tampered.clone(), format!(" {tampered}")] {
            let text = format!("{}\n{line}", lines[0]);
            assert_eq!(
                bad(&text, options()),
                [(2, Problem::Signature(SignatureError::Mismatch).to_string())]
            );
        }
    }

    #[test]
    fn nothing_may_hide_in_the_signature_object() {
        let mut w = DecisionLogWriter::new(key(), Algorithm::HmacSha256);
        let line = w.append(entry(1));
        let padded = line.replace("\"key_id\":", "\"note\":\"x\",\"key_id\":");
        let found = bad(&padded, options());
        assert_eq!(found.len(), 1);
        assert!(found[0].1.contains("unknown member `note`"), "{found:?}");
    }

    /// A log that exercises every member the fast path reads: realistic signal entries,
    /// strings with escapes, unchained prefix lines (one whose signature sorts first, with a
    /// key id that needs escaping), and a seal.
    fn varied_log() -> Vec<String> {
        use crate::decision_log::entry::SignalContext;
        use crate::domain::{SimDuration, Symbol};
        use crate::strategy::{Intent, Regime, Signal, SignalMetadata, SignalSide};

        let start = SimTime::from_unix_secs(1_800_000_000);
        let mut lines = Vec::new();
        let mut loose = DecisionLogWriter::new(
            SigningKey::new("verify-test-key", Some("o\"p\\s".to_owned())),
            Algorithm::HmacSha256,
        );
        lines.push(loose.append(entry(0)));
        let mut first = Json::object();
        first.insert("type", Json::str("x")).insert("z", Json::Null);
        lines.push(loose.append(first)); // unchained, so `signature` sorts first
        let mut w =
            DecisionLogWriter::resume(key(), Algorithm::HmacSha256, Some(&lines[1])).unwrap();
        w.start_chain();
        for i in 0..3_u32 {
            let ctx = SignalContext {
                at: start + SimDuration::from_secs(60 * u64::from(i)),
                environment: "binance_paper".to_owned(),
                portfolio: "core \"main\"\n".to_owned(),
                risk_profile: "balanced".to_owned(),
                schedule: "mean_reversion_intraday".to_owned(),
                strategy: "core_mean_reversion".to_owned(),
                primary_exchange: Some("binance".to_owned()),
                data_feed: "ohlcv_1m".to_owned(),
                latency_ms: 3.0 + f64::from(i) * 0.25,
                ..SignalContext::default()
            };
            let signal = Signal {
                symbol: Symbol::new("BTC_USDT").unwrap(),
                side: SignalSide::Buy,
                confidence: 0.5 + f64::from(i) / 100.0,
                quantity: Some(0.001),
                intent: Intent::Single,
                legs: vec![],
                metadata: SignalMetadata::default()
                    .with_zscore(-2.0 - f64::from(i) / 7.0)
                    .with_regime(Regime::LongEntry),
            };
            lines.push(w.append(crate::decision_log::strategy_signal(&ctx, &signal)));
        }
        let mut late = Json::object();
        late.insert("tag", Json::str("t\u{1}é"))
            .insert("zeta", Json::Float(1e-7))
            .insert("n", Json::int(-12));
        lines.push(w.append(late)); // `n` < `prev_hash` < `seq` < `signature` < `tag`
        lines.push(w.seal(start).unwrap());
        lines
    }

    /// The edits that make a line non-canonical, or canonical but different, around the
    /// members the fast path reads.
    const EDITS: [(&str, &str); 22] = [
        ("\"seq\":", "\"seq\": "),
        ("\"seq\":", "\"seq\":-"),
        ("\"seq\":", "\"seq\":0"),
        ("\"seq\":", "\"seq\":\"1\",\"seq\":"),
        ("\"seq\":2", "\"seq\":2.0"),
        ("\"seq\":2", "\"seq\":2e0"),
        ("\"seq\":2", "\"seq\":\"2\""),
        ("\"prev_hash\":\"sha256:", "\"prev_hash\":\"\\u0073ha256:"),
        ("\"prev_hash\":\"sha256:", "\"prev_hash\":\"sha256\\/"),
        ("\"prev_hash\":\"", "\"prev_hash\":[\""),
        (
            "\"algorithm\":\"HMAC-SHA256\"",
            "\"algorithm\":\"HMAC-SHA384\"",
        ),
        ("\"algorithm\":\"HMAC", "\"algorithm\":\"\\u0048MAC"),
        ("\"key_id\":\"", "\"kid\":\"x\",\"key_id\":\""),
        ("\"key_id\":\"", "\"key_id\":\"\\\""),
        ("\"key_id\":\"ops\",", ""),
        ("\"value\":\"", "\"value\":\"A"),
        ("\"value\":\"", "\"value\":1,\"vv\":\""),
        ("{\"algorithm\"", "{\"\\u0061lgorithm\""),
        ("\"signature\":{", "\"signature\":{\"a\":{\"b\":[]},"),
        ("\"event\":\"seal\"", "\"event\":\"se\\u0061l\""),
        ("\"entries\":", "\"entries\":1"),
        ("\"head_hash\":\"", "\"head_hash\":\"x"),
    ];

    /// Feeds `lines` to a verifier that takes the fast path where it can and to one that
    /// never does, and requires the same reports and summary. Returns how many lines the
    /// fast path took.
    fn paths_agree(lines: &[String], options: &VerifyOptions) -> usize {
        let mut fast = Verifier::new(options.clone());
        let mut general = Verifier::new(options.clone());
        let mut took_fast = 0;
        for (i, line) in lines.iter().enumerate() {
            took_fast += usize::from(LineFacts::from_canonical(line).is_some());
            let a = fast.check_line(i + 1, line);
            let b = general.check_line_by(i + 1, line, |_| None);
            assert_eq!(a, b, "line {}: {line}", i + 1);
        }
        assert_eq!(fast.finish(), general.finish(), "{lines:#?}");
        took_fast
    }

    fn option_sets() -> Vec<VerifyOptions> {
        vec![
            options(),
            VerifyOptions {
                allow_unsigned: true,
                require_key_id: true,
                require_seal: true,
                ..options()
            },
            VerifyOptions {
                key: Some(SigningKey::new("verify-test-key", None)),
                allow_unsigned: true,
                ..VerifyOptions::default()
            },
            VerifyOptions::default(),
        ]
    }

    #[test]
    fn the_fast_path_agrees_with_the_general_path_on_every_edit() {
        let lines = varied_log();
        let mut took_fast = 0;
        let mut edited = 0;
        for options in option_sets() {
            took_fast += paths_agree(&lines, &options);
            for at in 0..lines.len() {
                for (from, to) in EDITS {
                    for (pos, _) in lines[at].match_indices(from) {
                        let mut log = lines.clone();
                        log[at].replace_range(pos..pos + from.len(), to);
                        took_fast += paths_agree(&log, &options);
                        edited += 1;
                    }
                }
                // Reordered members and a member dropped.
                let mut log = lines.clone();
                let members = crate::decision_log::canonical::canonical_object_members(&lines[at])
                    .expect("written lines are canonical");
                let (a, b) = (members[0], members[members.len() - 1]);
                log[at] = format!(
                    "{{{},{}}}",
                    &lines[at][b.start..b.end],
                    &lines[at][a.start..members[members.len() - 2].end]
                );
                paths_agree(&log, &options);
                log[at] = format!("{{{}}}", &lines[at][members[1].start..b.end]);
                took_fast += paths_agree(&log, &options);
            }
        }
        assert!(edited > 200, "{edited}");
        // Both paths were really compared: most edited lines stay canonical.
        let total = (lines.len() * (edited + 2 * lines.len() + 1)) as f64;
        assert!(took_fast as f64 > 0.3 * total, "{took_fast} of {total}");
    }

    /// Bytes that matter to JSON syntax, numbers and escapes.
    const PROBES: &[u8] = b"\"\\,:{}[]0123456789-+.eEnu aAfs\x01\x7f";

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
        #[test]
        fn the_fast_path_agrees_with_the_general_path_on_mutated_lines(
            at in 0..8_usize,
            edits in proptest::collection::vec(
                (0..3_u8, proptest::num::usize::ANY, proptest::sample::select(PROBES)),
                1..4,
            ),
            options in 0..4_usize,
        ) {
            let mut lines = varied_log();
            let at = at % lines.len();
            let mut bytes = std::mem::take(&mut lines[at]).into_bytes();
            for (kind, pos, probe) in edits {
                let pos = pos % bytes.len();
                match kind {
                    0 => bytes[pos] = probe,
                    1 => bytes.insert(pos, probe),
                    _ => {
                        bytes.remove(pos);
                    }
                }
            }
            // Non-UTF-8 lines never reach either path.
            if let Ok(text) = String::from_utf8(bytes) {
                lines[at] = text;
                paths_agree(&lines, &option_sets()[options]);
            }
        }
    }

    #[test]
    fn empty_logs_fail() {
        let (reports, summary) = verify_log("\n\n", options());
        assert!(reports.is_empty());
        assert_eq!(summary.log_problems, [LogProblem::Empty]);
        assert_eq!(summary.lines, 2);
    }
}
