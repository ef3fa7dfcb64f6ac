//! Role-based access to the scheduler's control API (engine.md §2.4).
//!
//! The reference only checks tokens in its audit tools; the scheduler itself accepts any
//! caller. Ours refuses: reading schedules, suspensions and limits needs
//! `runtime.schedule.read`; changing anything needs `runtime.schedule.write`. Tokens are
//! configured as (token id, secret or its SHA-256, scopes); callers present the secret.
//!
//! Matching rules (deliberate, documented because the reference tools disagree, audit.md §4):
//! scopes match exactly (after trimming), so `Runtime.Schedule.Write` is not
//! `runtime.schedule.write`; a token with no scopes grants nothing.

use std::collections::BTreeSet;
use std::fmt;

use sha2::{Digest, Sha256};

/// Scope needed to read the scheduler's state.
pub const SCOPE_READ: &str = "runtime.schedule.read";
/// Scope needed to change the scheduler's state.
pub const SCOPE_WRITE: &str = "runtime.schedule.write";

/// One configured token. The secret is kept only as its SHA-256.
#[derive(Clone)]
pub struct AccessToken {
    token_id: String,
    secret_sha256: [u8; 32],
    scopes: BTreeSet<String>,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token_id", &self.token_id)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl AccessToken {
    /// A token from its plain secret (e.g. the value of `CORE_SCHEDULER_TOKEN`).
    pub fn from_secret(token_id: &str, secret: &str, scopes: &[&str]) -> AccessToken {
        AccessToken {
            token_id: token_id.to_owned(),
            secret_sha256: Sha256::digest(secret.as_bytes()).into(),
            scopes: scopes.iter().map(|s| s.trim().to_owned()).collect(),
        }
    }

    /// A token from a configured hex SHA-256 of its secret (`token_hash: sha256:<hex>` or bare
    /// hex). `None` when the text is not 64 hex digits with an optional `sha256:` prefix.
    pub fn from_sha256_hex(token_id: &str, hash: &str, scopes: &[&str]) -> Option<AccessToken> {
        let hex = hash.trim().strip_prefix("sha256:").unwrap_or(hash.trim());
        if hex.len() != 64 {
            return None;
        }
        let mut digest = [0u8; 32];
        for (i, byte) in digest.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(AccessToken {
            token_id: token_id.to_owned(),
            secret_sha256: digest,
            scopes: scopes.iter().map(|s| s.trim().to_owned()).collect(),
        })
    }

    /// The token's id.
    pub fn token_id(&self) -> &str {
        &self.token_id
    }

    /// Whether it grants `scope`.
    pub fn grants(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
    }
}

/// A refused control call. Never carries the presented secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessDenied {
    /// No configured token has this secret.
    #[error("access denied: unknown token")]
    UnknownToken,
    /// The token is valid but lacks the scope the call needs.
    #[error("access denied: token `{token_id}` lacks scope `{required}`")]
    MissingScope {
        /// The caller's token id.
        token_id: String,
        /// The scope the call needs.
        required: &'static str,
    },
}

/// The configured tokens.
#[derive(Clone, Debug, Default)]
pub struct Rbac {
    tokens: Vec<AccessToken>,
}

impl Rbac {
    /// Access control over `tokens`.
    pub fn new(tokens: Vec<AccessToken>) -> Rbac {
        Rbac { tokens }
    }

    /// Checks that `presented` is a configured token granting `scope`; returns its id.
    /// Every token's digest is compared in constant time, so timing does not reveal which
    /// token (or how much of one) matched.
    pub fn authorize(&self, presented: &str, scope: &'static str) -> Result<&str, AccessDenied> {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found: Option<&AccessToken> = None;
        for token in &self.tokens {
            let diff = token
                .secret_sha256
                .iter()
                .zip(digest.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b));
            if diff == 0 && found.is_none() {
                found = Some(token);
            }
        }
        let token = found.ok_or(AccessDenied::UnknownToken)?;
        if token.grants(scope) {
            Ok(&token.token_id)
        } else {
            Err(AccessDenied::MissingScope {
                token_id: token.token_id.clone(),
                required: scope,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_enforced_exactly() {
        let rbac = Rbac::new(vec![
            AccessToken::from_secret("reader", "r-secret", &[SCOPE_READ]),
            AccessToken::from_secret("ops", "w-secret", &[SCOPE_READ, SCOPE_WRITE]),
            AccessToken::from_secret("shouty", "s-secret", &["Runtime.Schedule.Write"]),
            AccessToken::from_secret("empty", "e-secret", &[]),
        ]);
        assert_eq!(rbac.authorize("r-secret", SCOPE_READ), Ok("reader"));
        assert_eq!(
            rbac.authorize("r-secret", SCOPE_WRITE),
            Err(AccessDenied::MissingScope {
                token_id: "reader".into(),
                required: SCOPE_WRITE
            })
        );
        assert_eq!(rbac.authorize("w-secret", SCOPE_WRITE), Ok("ops"));
        assert!(
            rbac.authorize("s-secret", SCOPE_WRITE).is_err(),
            "scopes are case-sensitive"
        );
        assert!(
            rbac.authorize("e-secret", SCOPE_READ).is_err(),
            "no scopes grants nothing"
        );
        assert_eq!(
            rbac.authorize("guess", SCOPE_READ),
            Err(AccessDenied::UnknownToken)
        );
    }

    #[test]
    fn hashed_tokens_and_no_secret_in_debug() {
        let hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"; // sha256("test")
        let t = AccessToken::from_sha256_hex("h", &format!("sha256:{hex}"), &[SCOPE_READ]).unwrap();
        let rbac = Rbac::new(vec![t.clone()]);
        assert_eq!(rbac.authorize("test", SCOPE_READ), Ok("h"));
        assert!(AccessToken::from_sha256_hex("h", "abc", &[]).is_none());
        let shown = format!("{t:?}");
        assert!(!shown.contains("9f86"), "{shown}");
    }
}
