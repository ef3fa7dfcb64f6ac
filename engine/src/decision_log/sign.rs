//! HMAC signatures over canonical JSON, in the reference's `signature` object format:
//! `{"algorithm":"HMAC-SHA256","value":<base64 std, padded>,"key_id":<only when configured>}`.
//!
//! The signed payload is the whole entry **minus** its `signature` member, canonicalised
//! ([`Json::canonical`]). Verification re-canonicalises, so on-disk key order and whitespace do
//! not matter, but number re-rendering does, exactly as in the reference (ops.md §1).

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha384};

use super::canonical::{Json, write_json_string};

/// The member name signatures live under.
pub const SIGNATURE_KEY: &str = "signature";

/// Supported MAC algorithms. The reference verifier accepts only HMAC-SHA256; its signing
/// library also offers HMAC-SHA384, which we verify too (ops.md §10.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `HMAC-SHA256`, the default everywhere.
    HmacSha256,
    /// `HMAC-SHA384`.
    HmacSha384,
}

impl Algorithm {
    /// The name written in `signature.algorithm`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::HmacSha256 => "HMAC-SHA256",
            Algorithm::HmacSha384 => "HMAC-SHA384",
        }
    }

    /// Parses a name exactly as written (`HMAC-SHA256`); `None` for anything else.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        match name {
            "HMAC-SHA256" => Some(Algorithm::HmacSha256),
            "HMAC-SHA384" => Some(Algorithm::HmacSha384),
            _ => None,
        }
    }
}

/// A signing key. Its bytes are never printed: `Debug` shows only the length.
#[derive(Clone)]
pub struct SigningKey {
    bytes: Vec<u8>,
    key_id: Option<String>,
    // Keyed MAC states, computed once: every MAC then starts from a copy instead of
    // re-hashing the padded key.
    hmac256: Hmac<Sha256>,
    hmac384: Hmac<Sha384>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("len", &self.bytes.len())
            .field("key_id", &self.key_id)
            .finish()
    }
}

impl SigningKey {
    /// A key from raw bytes (the UTF-8 of a secret string, or a key file's stripped bytes),
    /// with an optional key id written into signatures.
    pub fn new(bytes: impl Into<Vec<u8>>, key_id: Option<String>) -> SigningKey {
        let bytes = bytes.into();
        SigningKey {
            hmac256: Hmac::<Sha256>::new_from_slice(&bytes)
                .expect("HMAC accepts keys of any length"),
            hmac384: Hmac::<Sha384>::new_from_slice(&bytes)
                .expect("HMAC accepts keys of any length"),
            bytes,
            key_id,
        }
    }

    /// The key id, if any.
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// Length of the key in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// True for an empty key (which callers must refuse).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Raw MAC of `message`.
    pub fn mac(&self, algorithm: Algorithm, message: &[u8]) -> Vec<u8> {
        self.with_mac(algorithm, message, <[u8]>::to_vec)
    }

    /// Hands the MAC of `message` to `use_tag` without putting it on the heap.
    fn with_mac<R>(
        &self,
        algorithm: Algorithm,
        message: &[u8],
        use_tag: impl FnOnce(&[u8]) -> R,
    ) -> R {
        match algorithm {
            Algorithm::HmacSha256 => {
                let mut mac = self.hmac256.clone();
                mac.update(message);
                use_tag(&mac.finalize().into_bytes())
            }
            Algorithm::HmacSha384 => {
                let mut mac = self.hmac384.clone();
                mac.update(message);
                use_tag(&mac.finalize().into_bytes())
            }
        }
    }

    /// Constant-time check of `tag` against the MAC of `message`.
    pub fn verify_mac(&self, algorithm: Algorithm, message: &[u8], tag: &[u8]) -> bool {
        self.verify_mac_pieces(algorithm, &[message], tag)
    }

    /// Constant-time check of `tag` against the MAC of the concatenation of `pieces`.
    pub fn verify_mac_pieces(&self, algorithm: Algorithm, pieces: &[&[u8]], tag: &[u8]) -> bool {
        match algorithm {
            Algorithm::HmacSha256 => {
                let mut mac = self.hmac256.clone();
                for piece in pieces {
                    mac.update(piece);
                }
                mac.verify_slice(tag).is_ok()
            }
            Algorithm::HmacSha384 => {
                let mut mac = self.hmac384.clone();
                for piece in pieces {
                    mac.update(piece);
                }
                mac.verify_slice(tag).is_ok()
            }
        }
    }

    /// The `signature` object for `payload` (which must not contain a `signature` member).
    pub fn signature(&self, algorithm: Algorithm, payload: &Json) -> Json {
        self.signature_of_canonical(algorithm, payload.canonical().as_bytes())
    }

    /// The `signature` object for payload bytes already in canonical form.
    pub fn signature_of_canonical(&self, algorithm: Algorithm, canonical: &[u8]) -> Json {
        let tag = self.mac(algorithm, canonical);
        let mut sig = Json::object();
        sig.insert("algorithm", Json::str(algorithm.as_str()));
        sig.insert("value", Json::Str(B64.encode(tag)));
        if let Some(id) = &self.key_id {
            sig.insert("key_id", Json::str(id.as_str()));
        }
        sig
    }

    /// Appends the canonical text of the `signature` object for payload bytes already in
    /// canonical form to `out`: the same bytes as `signature_of_canonical(..).canonical()`,
    /// written without building a tree (the writer's hot path).
    pub fn write_signature(&self, algorithm: Algorithm, canonical: &[u8], out: &mut String) {
        // Members in canonical (sorted) order: algorithm, key_id, value.
        out.push_str("{\"algorithm\":\"");
        out.push_str(algorithm.as_str());
        out.push_str("\",");
        if let Some(id) = &self.key_id {
            out.push_str("\"key_id\":");
            write_json_string(id, out);
            out.push(',');
        }
        out.push_str("\"value\":\"");
        self.with_mac(algorithm, canonical, |tag| B64.encode_string(tag, out));
        out.push_str("\"}");
    }

    /// Signs an object in place: removes any old `signature`, then adds a fresh one.
    /// Panics when `entry` is not an object.
    pub fn sign_entry(&self, algorithm: Algorithm, entry: &mut Json) {
        let map = entry.as_object_mut().expect("only objects are signed");
        map.remove(SIGNATURE_KEY);
        let sig = self.signature(algorithm, entry);
        entry.insert(SIGNATURE_KEY, sig);
    }
}

/// Why a signed object did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The object has no `signature` member.
    #[error("entry is not signed")]
    Missing,
    /// `signature` is not an object with string `algorithm` and `value`.
    #[error("signature is malformed: {0}")]
    Malformed(&'static str),
    /// The algorithm is not one we support.
    #[error("unsupported signature algorithm `{0}`")]
    UnsupportedAlgorithm(String),
    /// `value` is not standard padded base64.
    #[error("signature value is not valid base64")]
    BadBase64,
    /// The entry names a different key id than the key supplied.
    #[error("signed with key id `{found}`, expected `{expected}`")]
    KeyIdMismatch {
        /// Key id in the entry.
        found: String,
        /// Key id of the verifying key.
        expected: String,
    },
    /// The MAC does not match: the entry was changed or signed with another key.
    #[error("signature does not match the entry (altered, or signed with another key)")]
    Mismatch,
}

/// The parts of an entry's `signature` object, checked for shape but not yet for the MAC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureParts {
    /// The algorithm named in the signature.
    pub algorithm: Algorithm,
    /// The decoded MAC.
    pub tag: Vec<u8>,
    /// The key id named in the signature, if any.
    pub key_id: Option<String>,
}

impl SignatureParts {
    /// Reads and checks the shape of `entry`'s `signature` member.
    pub fn of(entry: &Json) -> Result<SignatureParts, SignatureError> {
        let map = entry
            .as_object()
            .ok_or(SignatureError::Malformed("the entry is not an object"))?;
        SignatureParts::from_member(map.get(SIGNATURE_KEY))
    }

    /// Reads and checks the shape of a `signature` member's value (`None`: no member).
    pub fn from_member(sig: Option<&Json>) -> Result<SignatureParts, SignatureError> {
        SignatureView::from_member(sig).map(|view| SignatureParts {
            algorithm: view.algorithm,
            tag: view.tag.as_slice().to_vec(),
            key_id: view.key_id.map(Cow::into_owned),
        })
    }

    /// Checks the key id rule and the MAC over `payload` (the entry's canonical bytes without
    /// `signature`). A key id on only one side is accepted, as in the reference; different
    /// ids on both sides are refused before any MAC is computed.
    pub fn verify(&self, key: &SigningKey, payload: &[u8]) -> Result<Algorithm, SignatureError> {
        self.verify_pieces(key, &[payload])
    }

    /// [`verify`](Self::verify) over a payload given in pieces (concatenated in order).
    pub fn verify_pieces(
        &self,
        key: &SigningKey,
        payload: &[&[u8]],
    ) -> Result<Algorithm, SignatureError> {
        check_signature_pieces(
            self.algorithm,
            &self.tag,
            self.key_id.as_deref(),
            key,
            payload,
        )
    }
}

/// [`SignatureParts`] borrowed from where the signature was read, with the tag decoded onto
/// the stack: what the verifier checks each line with, without allocating.
#[derive(Debug)]
pub(crate) struct SignatureView<'a> {
    /// The algorithm named in the signature.
    pub(crate) algorithm: Algorithm,
    /// The decoded MAC.
    pub(crate) tag: Tag,
    /// The key id named in the signature, if any (owned only when it had to be unescaped).
    pub(crate) key_id: Option<Cow<'a, str>>,
}

impl<'a> SignatureView<'a> {
    /// [`SignatureParts::from_member`], borrowing.
    pub(crate) fn from_member(sig: Option<&'a Json>) -> Result<SignatureView<'a>, SignatureError> {
        let sig = sig.ok_or(SignatureError::Missing)?;
        let sig = sig
            .as_object()
            .ok_or(SignatureError::Malformed("`signature` is not an object"))?;
        // A `key_id` that is not a string is ignored, as if absent.
        let key_id = match sig.get("key_id") {
            Some(Json::Str(id)) => Some(Cow::Borrowed(id.as_str())),
            _ => None,
        };
        SignatureView::from_strings(
            sig.get("algorithm").and_then(Json::as_str),
            sig.get("value").and_then(Json::as_str),
            key_id,
        )
    }

    /// The shape rules applied to the string values of a signature object's `algorithm`,
    /// `value` and `key_id` members (`None`: missing, or, for `algorithm` and `value`, not a
    /// string).
    pub(crate) fn from_strings(
        algorithm: Option<&str>,
        value: Option<&str>,
        key_id: Option<Cow<'a, str>>,
    ) -> Result<SignatureView<'a>, SignatureError> {
        let name = algorithm.ok_or(SignatureError::Malformed(
            "`algorithm` is missing or not a string",
        ))?;
        let algorithm = Algorithm::from_name(name)
            .ok_or_else(|| SignatureError::UnsupportedAlgorithm(name.to_owned()))?;
        let value = value.ok_or(SignatureError::Malformed(
            "`value` is missing or not a string",
        ))?;
        let tag = Tag::decode(value).map_err(|_| SignatureError::BadBase64)?;
        Ok(SignatureView {
            algorithm,
            tag,
            key_id,
        })
    }

    /// [`SignatureParts::verify_pieces`].
    pub(crate) fn verify_pieces(
        &self,
        key: &SigningKey,
        payload: &[&[u8]],
    ) -> Result<Algorithm, SignatureError> {
        check_signature_pieces(
            self.algorithm,
            self.tag.as_slice(),
            self.key_id.as_deref(),
            key,
            payload,
        )
    }
}

/// The key id rule, then the MAC.
fn check_signature_pieces(
    algorithm: Algorithm,
    tag: &[u8],
    key_id: Option<&str>,
    key: &SigningKey,
    payload: &[&[u8]],
) -> Result<Algorithm, SignatureError> {
    if let (Some(found), Some(expected)) = (key_id, key.key_id())
        && found != expected
    {
        return Err(SignatureError::KeyIdMismatch {
            found: found.to_owned(),
            expected: expected.to_owned(),
        });
    }
    if key.verify_mac_pieces(algorithm, payload, tag) {
        Ok(algorithm)
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// A decoded signature value: on the stack when it fits (every real tag does), on the heap
/// otherwise (a forged, oversized value must still decode exactly as `B64.decode` would).
#[derive(Debug)]
pub(crate) enum Tag {
    /// The first `len` bytes of the buffer.
    Inline([u8; TAG_INLINE], usize),
    /// A value too long for the buffer.
    Heap(Vec<u8>),
}

/// Room for any HMAC-SHA384 tag (48 bytes) and then some.
const TAG_INLINE: usize = 96;

impl Tag {
    /// Decodes standard padded base64 with the same result as `B64.decode`.
    fn decode(value: &str) -> Result<Tag, base64::DecodeError> {
        let mut buffer = [0u8; TAG_INLINE];
        match B64.decode_slice(value, &mut buffer) {
            Ok(len) => Ok(Tag::Inline(buffer, len)),
            Err(base64::DecodeSliceError::DecodeError(e)) => Err(e),
            // The buffer decides nothing about validity: let the allocating decoder answer.
            Err(base64::DecodeSliceError::OutputSliceTooSmall) => B64.decode(value).map(Tag::Heap),
        }
    }

    /// The decoded bytes.
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            Tag::Inline(buffer, len) => &buffer[..*len],
            Tag::Heap(bytes) => bytes,
        }
    }
}

/// Verifies `entry`'s `signature` with `key`. A key id on only one side is accepted, as in the
/// reference; different ids on both sides are refused before any MAC is computed.
pub fn verify_entry(key: &SigningKey, entry: &Json) -> Result<Algorithm, SignatureError> {
    let parts = SignatureParts::of(entry)?;
    let mut payload = String::new();
    entry
        .write_canonical_without(SIGNATURE_KEY, &mut payload)
        .expect("SignatureParts::of checked that the entry is an object");
    parts.verify(key, payload.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR_A: &str = r#"{"kind":"snapshot","timestamp":"2024-02-01T00:00:01+00:00","source":"grpc","event":"reduce_motion","severity":"warning","fps":45.0,"screen":{"name":"Main"},"notes":{"severity":"warning","txt":"Zażółć \"q\"\n\u0001"}}"#;

    #[test]
    fn golden_vector_a_macs() {
        let entry = Json::parse(VECTOR_A).unwrap();
        let key = SigningKey::new("secret", None);
        let sig = key.signature(Algorithm::HmacSha256, &entry);
        assert_eq!(
            sig.get("value").and_then(Json::as_str),
            Some("4QT0AR8oVlh/STyXLHuN6GupK0tlMhxwZCnmJ4jeKLQ=")
        );
        let sig384 = key.signature(Algorithm::HmacSha384, &entry);
        assert_eq!(
            sig384.get("value").and_then(Json::as_str),
            Some("eDqNYVvixF9j6ageSAsSYzanmb+5sfJ2Q/LX6R+oF4mV/5qZimiv/l7hAtbIIZfA")
        );
    }

    #[test]
    fn golden_vector_b_verifies_as_printed_by_the_reference() {
        let line = r#"{"artefacts": {"config_sha384": "sha384:deadbeef"}, "kind": "snapshot", "runtime_flags": {"verify_decision_log.summary": true}, "signature": {"algorithm": "HMAC-SHA256", "key_id": "demo-key", "value": "/HwilSsCyDsga1yFDx8nK5t7bsoCDpJJMZYaoZbTdik="}, "signatures": {"decision_log.entry": "hmac:pending"}, "stage": "demo", "status": "demo_ready", "timestamp": "2025-01-01T00:00:00+00:00"}"#;
        let entry = Json::parse(line).unwrap();
        let key = SigningKey::new("verysecret", Some("demo-key".to_owned()));
        assert_eq!(verify_entry(&key, &entry), Ok(Algorithm::HmacSha256));
        let other_id = SigningKey::new("verysecret", Some("other".to_owned()));
        assert!(matches!(
            verify_entry(&other_id, &entry),
            Err(SignatureError::KeyIdMismatch { .. })
        ));
        let wrong_key = SigningKey::new("verysecreT", None);
        assert_eq!(
            verify_entry(&wrong_key, &entry),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn golden_vector_c_float_and_unicode_formatting() {
        // Vector B plus metadata ratio=0.1, big=1e16, small=1e-7, name=Zażółć, no key id.
        let mut entry = Json::parse(
            r#"{"artefacts": {"config_sha384": "sha384:deadbeef"}, "kind": "snapshot", "runtime_flags": {"verify_decision_log.summary": true}, "signatures": {"decision_log.entry": "hmac:pending"}, "stage": "demo", "status": "demo_ready", "timestamp": "2025-01-01T00:00:00+00:00"}"#,
        )
        .unwrap();
        let mut metadata = Json::object();
        metadata
            .insert("ratio", Json::Float(0.1))
            .insert("big", Json::Float(1e16))
            .insert("small", Json::Float(1e-7))
            .insert("name", Json::str("Zażółć"));
        entry.insert("metadata", metadata);
        assert!(
            entry
                .canonical()
                .contains(r#""metadata":{"big":1e+16,"name":"Zażółć","ratio":0.1,"small":1e-07}"#)
        );
        let key = SigningKey::new("verysecret", None);
        key.sign_entry(Algorithm::HmacSha256, &mut entry);
        assert_eq!(
            entry
                .get("signature")
                .and_then(|s| s.get("value"))
                .and_then(Json::as_str),
            Some("+YcrUjPlwMliIo56HfC+eLe39BwfuvItvXEMvNRRHaA=")
        );
        assert_eq!(verify_entry(&key, &entry), Ok(Algorithm::HmacSha256));
    }

    #[test]
    fn malformed_signatures_are_typed() {
        let key = SigningKey::new("k", None);
        for (line, expected) in [
            (r#"{"a":1}"#, SignatureError::Missing),
            (
                r#"{"a":1,"signature":"x"}"#,
                SignatureError::Malformed("`signature` is not an object"),
            ),
            (
                r#"{"a":1,"signature":{"algorithm":"HMAC-MD5","value":"AA=="}}"#,
                SignatureError::UnsupportedAlgorithm("HMAC-MD5".to_owned()),
            ),
            (
                r#"{"a":1,"signature":{"algorithm":"HMAC-SHA256","value":"***"}}"#,
                SignatureError::BadBase64,
            ),
        ] {
            assert_eq!(
                verify_entry(&key, &Json::parse(line).unwrap()),
                Err(expected),
                "{line}"
            );
        }
    }

    #[test]
    fn written_signatures_equal_built_ones() {
        for key_id in [
            None,
            Some("ops".to_owned()),
            Some("a\"b\\c\u{1}é".to_owned()),
        ] {
            let key = SigningKey::new("k", key_id);
            for algorithm in [Algorithm::HmacSha256, Algorithm::HmacSha384] {
                let mut text = String::new();
                key.write_signature(algorithm, b"{\"a\":1}", &mut text);
                assert_eq!(
                    text,
                    key.signature_of_canonical(algorithm, b"{\"a\":1}")
                        .canonical()
                );
            }
        }
    }

    #[test]
    fn keys_never_print() {
        let key = SigningKey::new("hunter2-very-secret", Some("k1".to_owned()));
        let shown = format!("{key:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
