//! Identifiers. Names (venues, symbols, assets, strategies) are short ASCII strings stored
//! inline, so they are `Copy`, cheap to compare and ordered like the strings they hold;
//! numeric ids are plain newtypes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest name an inline id can hold.
pub const MAX_NAME_LEN: usize = 31;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} `{value}`: {reason}")]
pub struct IdError {
    /// Which kind of id (`venue`, `symbol`, ...).
    pub kind: &'static str,
    /// The text given.
    pub value: String,
    /// What the id must look like.
    pub reason: &'static str,
}

/// Inline ASCII storage. The zero padding makes the derived byte-wise order equal the
/// string order, which keeps `BTreeMap<Symbol, _>` iteration alphabetical.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct InlineName {
    bytes: [u8; MAX_NAME_LEN],
    len: u8,
}

impl InlineName {
    fn new(
        kind: &'static str,
        value: &str,
        allowed: fn(u8) -> bool,
        rule: &'static str,
    ) -> Result<InlineName, IdError> {
        let err = |reason| IdError {
            kind,
            value: value.to_owned(),
            reason,
        };
        if value.is_empty() {
            return Err(err("it is empty"));
        }
        if value.len() > MAX_NAME_LEN {
            return Err(err("it is longer than 31 characters"));
        }
        if !value.bytes().all(allowed) {
            return Err(err(rule));
        }
        let mut bytes = [0u8; MAX_NAME_LEN];
        bytes[..value.len()].copy_from_slice(value.as_bytes());
        Ok(InlineName {
            bytes,
            len: value.len() as u8,
        })
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)])
            .expect("constructor admits ASCII only")
    }
}

macro_rules! name_id {
    ($(#[$doc:meta])* $ty:ident, $kind:literal, $allowed:expr, $rule:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $ty(InlineName);

        impl $ty {
            /// Validates and stores `value`.
            pub fn new(value: &str) -> Result<$ty, IdError> {
                InlineName::new($kind, value, $allowed, $rule).map($ty)
            }
            /// The name as text.
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }
            /// The name's ASCII bytes (no UTF-8 check: for hashing on hot paths).
            #[inline]
            pub fn as_bytes(&self) -> &[u8] {
                &self.0.bytes[..usize::from(self.0.len)]
            }
            /// The name's bytes, zero-padded to [`MAX_NAME_LEN`]: a fixed-size copy for hot-path
            /// encoders, which then keep the first `as_bytes().len()` bytes.
            #[inline]
            pub fn padded_bytes(&self) -> &[u8; MAX_NAME_LEN] {
                &self.0.bytes
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($ty), self.as_str())
            }
        }
        impl FromStr for $ty {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                $ty::new(s)
            }
        }
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $ty::new(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

name_id!(
    /// A trading venue, lower case: `binance`, `kraken`, `binance_spot`.
    VenueId,
    "venue",
    |b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-',
    "use lower-case letters, digits, `_` or `-`"
);
name_id!(
    /// An instrument, upper case: `BTC_USDT` (the reference also writes `BTCUSDT`).
    Symbol,
    "symbol",
    |b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_',
    "use upper-case letters, digits or `_`"
);
name_id!(
    /// An asset: `BTC`, `USDT`.
    Asset,
    "asset",
    |b| b.is_ascii_uppercase() || b.is_ascii_digit(),
    "use upper-case letters or digits"
);
name_id!(
    /// A strategy instance or schedule name: `mean_reversion_intraday`, `core_cross_exchange`.
    StrategyId,
    "strategy",
    |b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'),
    "use letters, digits, `_`, `-`, `.` or `:`"
);

impl Symbol {
    /// Splits into (base, quote) using the reference's rule: strip one of the known quote
    /// assets, tried in the order USDT, USDC, USD, EUR, BTC, ETH, PLN, GBP, CHF, from the end;
    /// separators `_-/` are removed from the base. `None` when no known quote matches.
    pub fn split_assets(&self) -> Option<(Asset, Asset)> {
        const QUOTES: [&str; 9] = [
            "USDT", "USDC", "USD", "EUR", "BTC", "ETH", "PLN", "GBP", "CHF",
        ];
        let text = self.as_str();
        QUOTES.iter().find_map(|quote| {
            let base = text.strip_suffix(quote)?;
            let base: String = base
                .chars()
                .filter(|c| !matches!(c, '_' | '-' | '/'))
                .collect();
            Some((Asset::new(&base).ok()?, Asset::new(quote).ok()?))
        })
    }
}

macro_rules! numeric_id {
    ($(#[$doc:meta])* $ty:ident, $inner:ty) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $ty(pub $inner);

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

numeric_id!(
    /// Venue-assigned order id, unique per venue.
    OrderId,
    u64
);
numeric_id!(
    /// Engine-assigned order id, unique per engine run; the key the engine tracks orders by.
    ClientOrderId,
    u64
);
numeric_id!(
    /// A trading account (a balance sheet) on a venue.
    AccountId,
    u32
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_validate_and_order_like_strings() {
        let mut v: Vec<Symbol> = ["ETH_USDT", "BTC_USDT", "BTC_USD", "B"]
            .iter()
            .map(|s| Symbol::new(s).unwrap())
            .collect();
        v.sort();
        let names: Vec<&str> = v.iter().map(Symbol::as_str).collect();
        assert_eq!(names, ["B", "BTC_USD", "BTC_USDT", "ETH_USDT"]);

        assert!(VenueId::new("Binance").is_err());
        assert!(Symbol::new("btc_usdt").is_err());
        assert!(Symbol::new("").is_err());
        assert!(StrategyId::new(&"x".repeat(32)).is_err());
        assert!(StrategyId::new("mean_reversion_intraday").is_ok());
    }

    #[test]
    fn padded_bytes_are_the_name_then_zeros() {
        for name in ["B", "BTC_USDT", &"X".repeat(MAX_NAME_LEN)] {
            let s = Symbol::new(name).unwrap();
            let padded = s.padded_bytes();
            assert_eq!(&padded[..name.len()], name.as_bytes());
            assert!(padded[name.len()..].iter().all(|&b| b == 0), "{name}");
        }
    }

    #[test]
    fn ids_serialise_as_strings() {
        let s = Symbol::new("BTC_USDT").unwrap();
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"BTC_USDT\"");
        let back: Symbol = serde_json::from_str("\"BTC_USDT\"").unwrap();
        assert_eq!(back, s);
        let err = serde_json::from_str::<Symbol>("\"btc\"").unwrap_err();
        assert!(err.to_string().contains("invalid symbol"), "{err}");
    }

    #[test]
    fn symbols_split_into_assets_like_the_reference() {
        for (sym, base, quote) in [
            ("BTC_USDT", "BTC", "USDT"),
            ("BTCUSDT", "BTC", "USDT"),
            ("ETH_BTC", "ETH", "BTC"),
            ("SOL_USD", "SOL", "USD"),
        ] {
            let (b, q) = Symbol::new(sym).unwrap().split_assets().unwrap();
            assert_eq!((b.as_str(), q.as_str()), (base, quote), "{sym}");
        }
        assert!(
            Symbol::new("BTC_USDT_CROSS")
                .unwrap()
                .split_assets()
                .is_none()
        );
    }
}
