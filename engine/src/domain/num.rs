//! Money and quantities as integers: prices in ticks, quantities in lots, balances in atoms.
//!
//! Exchange arithmetic never touches `f64`. An [`InstrumentSpec`] fixes how ticks and lots map
//! onto **atoms**, the smallest accounting unit of an asset (10⁻⁸ of a unit, as satoshis are
//! of a bitcoin), so that `price × qty` is an exact integer number of quote atoms and balances
//! can be conserved to the last atom. Strategies work in `f64` and cross into integers only
//! through the rounding helpers here.

use std::fmt;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

use serde::{Deserialize, Serialize};

use super::ids::{Asset, Symbol};

/// Atoms per whole unit of any asset (10⁸).
pub const ATOMS_PER_UNIT: i64 = 100_000_000;

/// A price in ticks of its instrument. Only meaningful together with an [`InstrumentSpec`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Price(pub i64);

/// A quantity in lots of its instrument. Only meaningful together with an [`InstrumentSpec`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Qty(pub i64);

/// An amount of one asset in atoms (10⁻⁸ units). Signed: balances of the outside world and
/// PnL can be negative.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Amount(pub i128);

macro_rules! integer_newtype_ops {
    ($ty:ident, $inner:ty) => {
        impl $ty {
            /// Zero.
            pub const ZERO: $ty = $ty(0);
            /// `self + rhs`, or `None` on overflow.
            pub const fn checked_add(self, rhs: $ty) -> Option<$ty> {
                match self.0.checked_add(rhs.0) {
                    Some(v) => Some($ty(v)),
                    None => None,
                }
            }
            /// `self - rhs`, or `None` on overflow.
            pub const fn checked_sub(self, rhs: $ty) -> Option<$ty> {
                match self.0.checked_sub(rhs.0) {
                    Some(v) => Some($ty(v)),
                    None => None,
                }
            }
            /// True when zero.
            pub const fn is_zero(self) -> bool {
                self.0 == 0
            }
            /// True when strictly positive.
            pub const fn is_positive(self) -> bool {
                self.0 > 0
            }
            /// The raw integer.
            pub const fn get(self) -> $inner {
                self.0
            }
        }
        impl Add for $ty {
            type Output = $ty;
            /// Panics on overflow, which is a bug at these magnitudes.
            fn add(self, rhs: $ty) -> $ty {
                self.checked_add(rhs).expect(concat!(stringify!($ty), " overflow"))
            }
        }
        impl Sub for $ty {
            type Output = $ty;
            /// Panics on overflow, which is a bug at these magnitudes.
            fn sub(self, rhs: $ty) -> $ty {
                self.checked_sub(rhs).expect(concat!(stringify!($ty), " overflow"))
            }
        }
        impl AddAssign for $ty {
            fn add_assign(&mut self, rhs: $ty) {
                *self = *self + rhs;
            }
        }
        impl SubAssign for $ty {
            fn sub_assign(&mut self, rhs: $ty) {
                *self = *self - rhs;
            }
        }
        impl Neg for $ty {
            type Output = $ty;
            fn neg(self) -> $ty {
                $ty(-self.0)
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

integer_newtype_ops!(Price, i64);
integer_newtype_ops!(Qty, i64);
integer_newtype_ops!(Amount, i128);

impl Qty {
    /// The smaller of two quantities.
    pub fn min(self, other: Qty) -> Qty {
        Qty(self.0.min(other.0))
    }
}

impl Amount {
    /// From whole units (e.g. `Amount::from_units(100_000)` is 100 000 USDT).
    pub const fn from_units(units: i64) -> Amount {
        Amount(units as i128 * ATOMS_PER_UNIT as i128)
    }

    /// Units as `f64`, for reports and strategy math only.
    pub fn to_units_f64(self) -> f64 {
        self.0 as f64 / ATOMS_PER_UNIT as f64
    }

    /// From `f64` units, rounded to the nearest atom; `None` when not finite or out of range.
    pub fn from_units_f64(units: f64) -> Option<Amount> {
        let atoms = (units * ATOMS_PER_UNIT as f64).round();
        if atoms.is_finite() && atoms.abs() < 1e36 {
            Some(Amount(atoms as i128))
        } else {
            None
        }
    }

    /// `self × bps / 10 000`, rounded up in magnitude (a venue never undercharges a fee).
    pub fn bps_ceil(self, bps: u32) -> Amount {
        let num = self.0 * i128::from(bps);
        let q = num / 10_000;
        let r = num % 10_000;
        Amount(if r != 0 { q + num.signum() } else { q })
    }

    /// Parses a decimal such as `0.01`, `100000` or `-2.5` into atoms, exactly.
    pub fn parse_units(text: &str) -> Result<Amount, NumError> {
        parse_decimal_atoms(text).map(Amount)
    }
}

/// Errors from integer money arithmetic and instrument specs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumError {
    /// Text is not a plain decimal with at most 8 fractional digits.
    #[error("`{0}` is not a decimal with at most 8 fractional digits")]
    BadDecimal(String),
    /// The tick or lot size is zero or negative.
    #[error("{what} must be positive, got {value} atoms")]
    NotPositive {
        /// Which field.
        what: &'static str,
        /// The atoms given.
        value: i64,
    },
    /// `tick × lot` is not a whole number of quote atoms, so notionals would be inexact.
    #[error(
        "tick size × lot size must be a whole number of quote atoms (10⁻⁸); {tick_atoms} × {lot_atoms} is not"
    )]
    InexactNotional {
        /// Tick size in quote atoms.
        tick_atoms: i64,
        /// Lot size in base atoms.
        lot_atoms: i64,
    },
}

fn parse_decimal_atoms(text: &str) -> Result<i128, NumError> {
    let bad = || NumError::BadDecimal(text.to_owned());
    let s = text.trim();
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 8
    {
        return Err(bad());
    }
    let whole: i128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let mut frac_atoms: i128 = 0;
    for (i, b) in frac.bytes().enumerate() {
        frac_atoms += i128::from(b - b'0') * 10i128.pow(7 - i as u32);
    }
    let atoms = whole
        .checked_mul(i128::from(ATOMS_PER_UNIT))
        .and_then(|w| w.checked_add(frac_atoms))
        .ok_or_else(bad)?;
    Ok(if negative { -atoms } else { atoms })
}

/// Static facts about one tradable instrument on one venue.
///
/// Invariant (checked by [`InstrumentSpec::new`]): `tick_atoms × lot_atoms` is a multiple of
/// [`ATOMS_PER_UNIT`], so the notional of any `(Price, Qty)` is an exact [`Amount`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstrumentSpec {
    /// The instrument, e.g. `BTC_USDT`.
    pub symbol: Symbol,
    /// The asset bought and sold, e.g. `BTC`.
    pub base: Asset,
    /// The asset prices are quoted in, e.g. `USDT`.
    pub quote: Asset,
    /// Tick size in quote atoms per whole base unit (0.01 USDT → 1 000 000).
    pub tick_atoms: i64,
    /// Lot size in base atoms (0.0001 BTC → 10 000).
    pub lot_atoms: i64,
    /// Smallest accepted order quantity.
    pub min_qty: Qty,
    /// Smallest accepted order notional, in quote atoms.
    pub min_notional: Amount,
}

impl InstrumentSpec {
    /// Builds and validates a spec. Tick and lot sizes are decimals (`"0.01"`, `"0.0001"`).
    pub fn new(
        symbol: Symbol,
        base: Asset,
        quote: Asset,
        tick_size: &str,
        lot_size: &str,
        min_qty: Qty,
        min_notional: Amount,
    ) -> Result<InstrumentSpec, NumError> {
        let tick_atoms = i64::try_from(parse_decimal_atoms(tick_size)?)
            .map_err(|_| NumError::BadDecimal(tick_size.to_owned()))?;
        let lot_atoms = i64::try_from(parse_decimal_atoms(lot_size)?)
            .map_err(|_| NumError::BadDecimal(lot_size.to_owned()))?;
        if tick_atoms <= 0 {
            return Err(NumError::NotPositive {
                what: "tick size",
                value: tick_atoms,
            });
        }
        if lot_atoms <= 0 {
            return Err(NumError::NotPositive {
                what: "lot size",
                value: lot_atoms,
            });
        }
        if (i128::from(tick_atoms) * i128::from(lot_atoms)) % i128::from(ATOMS_PER_UNIT) != 0 {
            return Err(NumError::InexactNotional {
                tick_atoms,
                lot_atoms,
            });
        }
        Ok(InstrumentSpec {
            symbol,
            base,
            quote,
            tick_atoms,
            lot_atoms,
            min_qty,
            min_notional,
        })
    }

    /// Quote atoms per (1 tick × 1 lot).
    pub fn atoms_per_tick_lot(&self) -> i128 {
        i128::from(self.tick_atoms) * i128::from(self.lot_atoms) / i128::from(ATOMS_PER_UNIT)
    }

    /// Exact notional of `qty` at `price`, in quote atoms.
    pub fn notional(&self, price: Price, qty: Qty) -> Amount {
        Amount(i128::from(price.0) * i128::from(qty.0) * self.atoms_per_tick_lot())
    }

    /// Base atoms in `qty`.
    pub fn base_amount(&self, qty: Qty) -> Amount {
        Amount(i128::from(qty.0) * i128::from(self.lot_atoms))
    }

    /// Price as `f64` quote units per base unit.
    pub fn price_to_f64(&self, price: Price) -> f64 {
        price.0 as f64 * self.tick_atoms as f64 / ATOMS_PER_UNIT as f64
    }

    /// Nearest tick to an `f64` price; `None` when not finite or not positive.
    pub fn price_from_f64(&self, price: f64) -> Option<Price> {
        let ticks = (price * ATOMS_PER_UNIT as f64 / self.tick_atoms as f64).round();
        (ticks.is_finite() && ticks >= 1.0 && ticks < i64::MAX as f64).then_some(Price(ticks as i64))
    }

    /// Quantity as `f64` base units.
    pub fn qty_to_f64(&self, qty: Qty) -> f64 {
        qty.0 as f64 * self.lot_atoms as f64 / ATOMS_PER_UNIT as f64
    }

    /// Whole lots in an `f64` base quantity, rounded down (never more than asked for);
    /// zero when not finite or not positive.
    pub fn qty_floor_from_f64(&self, qty: f64) -> Qty {
        // A tiny epsilon so that 0.3 / 0.1 style representation error does not lose a lot.
        let lots = (qty * ATOMS_PER_UNIT as f64 / self.lot_atoms as f64 + 1e-9).floor();
        if lots.is_finite() && lots >= 1.0 && lots < i64::MAX as f64 {
            Qty(lots as i64)
        } else {
            Qty::ZERO
        }
    }
}

impl std::ops::Div<i128> for Amount {
    type Output = Amount;
    /// Integer division, truncating toward zero.
    fn div(self, rhs: i128) -> Amount {
        Amount(self.0 / rhs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn btc() -> InstrumentSpec {
        InstrumentSpec::new(
            Symbol::new("BTC_USDT").unwrap(),
            Asset::new("BTC").unwrap(),
            Asset::new("USDT").unwrap(),
            "0.01",
            "0.0001",
            Qty(1),
            Amount::from_units(10),
        )
        .unwrap()
    }

    #[test]
    fn decimals_parse_exactly() {
        for (text, atoms) in [
            ("0.01", 1_000_000),
            ("100000", 10_000_000_000_000),
            ("-2.5", -250_000_000),
            ("0.00000001", 1),
            (".5", 50_000_000),
        ] {
            assert_eq!(Amount::parse_units(text).unwrap(), Amount(atoms), "{text}");
        }
        for text in ["", "1e5", "0.000000001", "abc", "1.2.3", "-"] {
            assert!(Amount::parse_units(text).is_err(), "{text}");
        }
    }

    #[test]
    fn notional_is_exact() {
        let spec = btc();
        // 60 000.00 USDT × 0.5 BTC = 30 000 USDT.
        let price = spec.price_from_f64(60_000.0).unwrap();
        let qty = spec.qty_floor_from_f64(0.5);
        assert_eq!(price, Price(6_000_000));
        assert_eq!(qty, Qty(5_000));
        assert_eq!(spec.notional(price, qty), Amount::from_units(30_000));
        assert_eq!(spec.base_amount(qty), Amount::from_units(1) / 2);
    }

    #[test]
    fn inexact_specs_are_refused() {
        let err = InstrumentSpec::new(
            Symbol::new("X_USDT").unwrap(),
            Asset::new("X").unwrap(),
            Asset::new("USDT").unwrap(),
            "0.00000001",
            "0.00000001",
            Qty(1),
            Amount::ZERO,
        )
        .unwrap_err();
        assert!(matches!(err, NumError::InexactNotional { .. }));
    }

    #[test]
    fn fees_round_up() {
        assert_eq!(Amount(10_000).bps_ceil(6), Amount(6));
        assert_eq!(Amount(10_001).bps_ceil(6), Amount(7));
        assert_eq!(Amount(-10_001).bps_ceil(6), Amount(-7));
        assert_eq!(Amount(0).bps_ceil(6), Amount(0));
    }

    #[test]
    fn lot_floor_never_exceeds_request() {
        let spec = btc();
        assert_eq!(spec.qty_floor_from_f64(0.00019), Qty(1));
        assert_eq!(spec.qty_floor_from_f64(0.3), Qty(3_000));
        assert_eq!(spec.qty_floor_from_f64(-1.0), Qty::ZERO);
        assert_eq!(spec.qty_floor_from_f64(f64::NAN), Qty::ZERO);
    }
}
