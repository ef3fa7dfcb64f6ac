//! Simulated time: integer nanoseconds since the Unix epoch.
//!
//! Nothing here reads the wall clock. A [`SimTime`] only moves when a driver (the simulator's
//! event loop, the scenario runner, a test) says so, which is what makes runs reproducible.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const NANOS_PER_MICRO: u64 = 1_000;
const NANOS_PER_MILLI: u64 = 1_000_000;
const NANOS_PER_SEC: u64 = 1_000_000_000;
const NANOS_PER_MIN: u64 = 60 * NANOS_PER_SEC;
const NANOS_PER_HOUR: u64 = 60 * NANOS_PER_MIN;
const NANOS_PER_DAY: u64 = 24 * NANOS_PER_HOUR;
const NANOS_PER_WEEK: u64 = 7 * NANOS_PER_DAY;

/// An instant of simulated time: nanoseconds since 1970-01-01T00:00:00Z.
///
/// Serialises as an RFC 3339 string (see [`SimTime::to_rfc3339`]) so artefacts are readable.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimTime(u64);

/// A span of simulated time in nanoseconds. Never negative.
///
/// Serialises in the compact human form of [`SimDuration::parse`] (`90s`, `1h30m`, `250ms`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimDuration(u64);

/// Why a time or duration could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeParseError {
    /// Not an RFC 3339 timestamp such as `2026-11-28T09:00:00Z`.
    #[error("`{0}` is not an RFC 3339 time (expected e.g. 2026-11-28T09:00:00Z)")]
    BadTimestamp(String),
    /// Before 1970 or too far in the future for a `u64` of nanoseconds.
    #[error("`{0}` is outside the supported range (1970-01-01 .. 2554-07-21)")]
    OutOfRange(String),
    /// Not a duration such as `90s`, `15m`, `1h30m`.
    #[error("`{value}` is not a duration: {reason} (expected e.g. 250ms, 90s, 15m, 2h, 1d, 1h30m)")]
    BadDuration {
        /// The text that was given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl SimTime {
    /// The Unix epoch.
    pub const EPOCH: SimTime = SimTime(0);
    /// The latest representable instant.
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// From nanoseconds since the epoch.
    pub const fn from_nanos(nanos: u64) -> Self {
        SimTime(nanos)
    }

    /// From whole seconds since the epoch. Panics on overflow (year 2554).
    pub const fn from_unix_secs(secs: u64) -> Self {
        match secs.checked_mul(NANOS_PER_SEC) {
            Some(n) => SimTime(n),
            None => panic!("SimTime::from_unix_secs overflow"),
        }
    }

    /// Nanoseconds since the epoch.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Whole seconds since the epoch (truncated).
    pub const fn unix_secs(self) -> u64 {
        self.0 / NANOS_PER_SEC
    }

    /// Seconds since the epoch as `f64` (for strategy math and rendering only).
    pub fn unix_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }

    /// `self + d`, or `None` on overflow.
    pub const fn checked_add(self, d: SimDuration) -> Option<SimTime> {
        match self.0.checked_add(d.0) {
            Some(n) => Some(SimTime(n)),
            None => None,
        }
    }

    /// `self - d`, or `None` before the epoch.
    pub const fn checked_sub(self, d: SimDuration) -> Option<SimTime> {
        match self.0.checked_sub(d.0) {
            Some(n) => Some(SimTime(n)),
            None => None,
        }
    }

    /// Time elapsed since `earlier`, or `None` if `earlier` is later than `self`.
    pub const fn duration_since(self, earlier: SimTime) -> Option<SimDuration> {
        match self.0.checked_sub(earlier.0) {
            Some(n) => Some(SimDuration(n)),
            None => None,
        }
    }

    /// Time elapsed since `earlier`, zero if `earlier` is later.
    pub const fn saturating_since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }

    /// The start of the UTC day containing `self`.
    pub const fn start_of_day(self) -> SimTime {
        SimTime(self.0 - self.0 % NANOS_PER_DAY)
    }

    /// Rounds down to a multiple of `step` since the epoch (bar boundaries). `step` must be non-zero.
    pub const fn floor_to(self, step: SimDuration) -> SimTime {
        SimTime(self.0 - self.0 % step.0)
    }

    /// Parses an RFC 3339 timestamp (`2026-11-28T09:00:00Z`, offsets allowed, converted to UTC).
    pub fn parse_rfc3339(text: &str) -> Result<SimTime, TimeParseError> {
        let parsed = OffsetDateTime::parse(text.trim(), &Rfc3339)
            .map_err(|_| TimeParseError::BadTimestamp(text.to_owned()))?;
        let nanos = parsed.unix_timestamp_nanos();
        u64::try_from(nanos)
            .map(SimTime)
            .map_err(|_| TimeParseError::OutOfRange(text.to_owned()))
    }

    /// The UTC calendar view of this instant (for day/week boundaries and rendering).
    pub fn to_utc(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0))
            .expect("every u64 of nanoseconds is a valid OffsetDateTime")
    }

    /// RFC 3339 in UTC with a `Z` suffix. The fraction is omitted when zero and otherwise
    /// printed with 3, 6 or 9 digits, whichever is exact: `2026-11-28T09:00:00Z`,
    /// `2026-11-28T09:00:00.250Z`.
    pub fn to_rfc3339(self) -> String {
        let mut out = String::with_capacity(30);
        self.write_rfc3339(&mut out);
        out
    }

    /// Appends [`SimTime::to_rfc3339`] to `out` without building intermediate strings (the
    /// decision log writes a timestamp into every entry).
    pub fn write_rfc3339(self, out: &mut String) {
        /// Writes `value` as `buf.len()` zero-padded decimal digits.
        fn digits(buf: &mut [u8], mut value: u64) {
            for b in buf.iter_mut().rev() {
                *b = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        let dt = self.to_utc();
        let mut text = *b"0000-00-00T00:00:00.000000000";
        // Years of a u64 of nanoseconds since 1970 have four digits.
        digits(&mut text[0..4], u64::try_from(dt.year()).unwrap_or(0));
        digits(&mut text[5..7], u64::from(u8::from(dt.month())));
        digits(&mut text[8..10], u64::from(dt.day()));
        digits(&mut text[11..13], u64::from(dt.hour()));
        digits(&mut text[14..16], u64::from(dt.minute()));
        digits(&mut text[17..19], u64::from(dt.second()));
        let frac = self.0 % NANOS_PER_SEC;
        digits(&mut text[20..29], frac);
        let len = if frac == 0 {
            19
        } else if frac.is_multiple_of(NANOS_PER_MILLI) {
            23
        } else if frac.is_multiple_of(NANOS_PER_MICRO) {
            26
        } else {
            29
        };
        out.push_str(std::str::from_utf8(&text[..len]).expect("ASCII digits"));
        out.push('Z');
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl fmt::Debug for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SimTime({})", self.to_rfc3339())
    }
}

impl FromStr for SimTime {
    type Err = TimeParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SimTime::parse_rfc3339(s)
    }
}

impl Serialize for SimTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for SimTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        SimTime::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    /// Panics on overflow: simulated time past the year 2554 is a bug.
    fn add(self, rhs: SimDuration) -> SimTime {
        self.checked_add(rhs).expect("SimTime overflow")
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, rhs: SimDuration) {
        *self = *self + rhs;
    }
}

impl Sub<SimDuration> for SimTime {
    type Output = SimTime;
    /// Panics before the epoch: that is a bug.
    fn sub(self, rhs: SimDuration) -> SimTime {
        self.checked_sub(rhs).expect("SimTime before the epoch")
    }
}

impl SimDuration {
    /// Zero length.
    pub const ZERO: SimDuration = SimDuration(0);
    /// The longest representable span.
    pub const MAX: SimDuration = SimDuration(u64::MAX);

    /// From nanoseconds.
    pub const fn from_nanos(n: u64) -> Self {
        SimDuration(n)
    }
    /// From microseconds (saturating).
    pub const fn from_micros(n: u64) -> Self {
        SimDuration(n.saturating_mul(NANOS_PER_MICRO))
    }
    /// From milliseconds (saturating).
    pub const fn from_millis(n: u64) -> Self {
        SimDuration(n.saturating_mul(NANOS_PER_MILLI))
    }
    /// From seconds (saturating).
    pub const fn from_secs(n: u64) -> Self {
        SimDuration(n.saturating_mul(NANOS_PER_SEC))
    }
    /// From minutes (saturating).
    pub const fn from_mins(n: u64) -> Self {
        SimDuration(n.saturating_mul(NANOS_PER_MIN))
    }
    /// From hours (saturating).
    pub const fn from_hours(n: u64) -> Self {
        SimDuration(n.saturating_mul(NANOS_PER_HOUR))
    }
    /// From days (saturating).
    pub const fn from_days(n: u64) -> Self {
        SimDuration(n.saturating_mul(NANOS_PER_DAY))
    }
    /// From fractional seconds, rounded to the nearest nanosecond; negative or NaN gives zero.
    pub fn from_secs_f64(secs: f64) -> Self {
        if secs.is_nan() || secs <= 0.0 {
            SimDuration::ZERO
        } else {
            let n = (secs * NANOS_PER_SEC as f64).round();
            if n >= u64::MAX as f64 {
                SimDuration::MAX
            } else {
                SimDuration(n as u64)
            }
        }
    }
    /// From fractional milliseconds, rounded to the nearest nanosecond; negative or NaN gives zero.
    pub fn from_millis_f64(ms: f64) -> Self {
        SimDuration::from_secs_f64(ms / 1_000.0)
    }

    /// Nanoseconds.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    /// Whole seconds (truncated).
    pub const fn as_secs(self) -> u64 {
        self.0 / NANOS_PER_SEC
    }
    /// Seconds as `f64`.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }
    /// Milliseconds as `f64`.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_MILLI as f64
    }
    /// True for a zero-length span.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
    /// `self + rhs`, or `None` on overflow.
    pub const fn checked_add(self, rhs: SimDuration) -> Option<SimDuration> {
        match self.0.checked_add(rhs.0) {
            Some(n) => Some(SimDuration(n)),
            None => None,
        }
    }
    /// `self * k`, or `None` on overflow.
    pub const fn checked_mul(self, k: u64) -> Option<SimDuration> {
        match self.0.checked_mul(k) {
            Some(n) => Some(SimDuration(n)),
            None => None,
        }
    }
    /// `self - rhs`, zero if `rhs` is longer.
    pub const fn saturating_sub(self, rhs: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_sub(rhs.0))
    }

    /// Parses a duration made of one or more `<integer><unit>` parts, e.g. `250ms`, `90s`,
    /// `15m`, `2h`, `1d`, `1w`, `1h30m`. Units: `ns`, `us`, `ms`, `s`, `m`, `h`, `d`, `w`.
    /// A bare number is refused: the unit is the part people get wrong.
    pub fn parse(text: &str) -> Result<SimDuration, TimeParseError> {
        let bad = |reason| TimeParseError::BadDuration {
            value: text.to_owned(),
            reason,
        };
        let s = text.trim();
        if s.is_empty() {
            return Err(bad("it is empty"));
        }
        let bytes = s.as_bytes();
        let mut i = 0;
        let mut total: u64 = 0;
        while i < bytes.len() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if start == i {
                return Err(bad("each part must start with a whole number"));
            }
            if bytes.get(i) == Some(&b'.') {
                return Err(bad(
                    "use a whole number of a smaller unit (1500ms, not 1.5s)",
                ));
            }
            let number: u64 = s[start..i]
                .parse()
                .map_err(|_| bad("the number is too large"))?;
            let unit_start = i;
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            let per_unit = match &s[unit_start..i] {
                "ns" => 1,
                "us" | "µs" => NANOS_PER_MICRO,
                "ms" => NANOS_PER_MILLI,
                "s" => NANOS_PER_SEC,
                "m" => NANOS_PER_MIN,
                "h" => NANOS_PER_HOUR,
                "d" => NANOS_PER_DAY,
                "w" => NANOS_PER_WEEK,
                "" => return Err(bad("a unit is missing")),
                _ => return Err(bad("unknown unit")),
            };
            let part = number
                .checked_mul(per_unit)
                .ok_or_else(|| bad("the duration is too long"))?;
            total = total
                .checked_add(part)
                .ok_or_else(|| bad("the duration is too long"))?;
        }
        Ok(SimDuration(total))
    }
}

impl fmt::Display for SimDuration {
    /// The canonical compact form accepted back by [`SimDuration::parse`]: `1d2h`, `90s` is `1m30s`,
    /// `250ms`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.0;
        for (unit, size) in [
            ("d", NANOS_PER_DAY),
            ("h", NANOS_PER_HOUR),
            ("m", NANOS_PER_MIN),
            ("s", NANOS_PER_SEC),
            ("ms", NANOS_PER_MILLI),
            ("us", NANOS_PER_MICRO),
            ("ns", 1),
        ] {
            if rest >= size {
                write!(f, "{}{unit}", rest / size)?;
                rest %= size;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SimDuration({self})")
    }
}

impl FromStr for SimDuration {
    type Err = TimeParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SimDuration::parse(s)
    }
}

impl Serialize for SimDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SimDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        SimDuration::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, rhs: SimDuration) -> SimDuration {
        self.checked_add(rhs).expect("SimDuration overflow")
    }
}

impl Sub<SimTime> for SimTime {
    type Output = SimDuration;
    /// Panics if `rhs` is later than `self`; use [`SimTime::saturating_since`] when that can happen.
    fn sub(self, rhs: SimTime) -> SimDuration {
        self.duration_since(rhs)
            .expect("SimTime subtraction went negative")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print_canonically() {
        let cases = [
            ("250ms", 250 * NANOS_PER_MILLI, "250ms"),
            ("90s", 90 * NANOS_PER_SEC, "1m30s"),
            ("1h30m", 90 * NANOS_PER_MIN, "1h30m"),
            ("1d", NANOS_PER_DAY, "1d"),
            ("1w", 7 * NANOS_PER_DAY, "7d"),
            ("0s", 0, "0s"),
            ("15m", 15 * NANOS_PER_MIN, "15m"),
        ];
        for (text, nanos, shown) in cases {
            let d = SimDuration::parse(text).unwrap();
            assert_eq!(d.as_nanos(), nanos, "{text}");
            assert_eq!(d.to_string(), shown, "{text}");
            assert_eq!(SimDuration::parse(shown).unwrap(), d, "{text} round trip");
        }
    }

    #[test]
    fn bad_durations_say_what_is_wrong() {
        for (text, reason) in [
            ("", "it is empty"),
            ("15", "a unit is missing"),
            ("15x", "unknown unit"),
            ("m", "each part must start with a whole number"),
            (
                "1.5s",
                "use a whole number of a smaller unit (1500ms, not 1.5s)",
            ),
            ("99999999999999999999s", "the number is too large"),
            ("999999999d", "the duration is too long"),
        ] {
            match SimDuration::parse(text) {
                Err(TimeParseError::BadDuration { reason: r, .. }) => {
                    assert_eq!(r, reason, "{text}")
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    /// The first implementation of `to_rfc3339`, kept as the oracle for the writer.
    fn rfc3339_reference(t: SimTime) -> String {
        let dt = t.to_utc();
        let frac = t.0 % NANOS_PER_SEC;
        let base = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            dt.year(),
            u8::from(dt.month()),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second()
        );
        if frac == 0 {
            format!("{base}Z")
        } else if frac.is_multiple_of(NANOS_PER_MILLI) {
            format!("{base}.{:03}Z", frac / NANOS_PER_MILLI)
        } else if frac.is_multiple_of(NANOS_PER_MICRO) {
            format!("{base}.{:06}Z", frac / NANOS_PER_MICRO)
        } else {
            format!("{base}.{frac:09}Z")
        }
    }

    proptest::proptest! {
        /// The digit writer prints every instant exactly as the `format!` version did.
        #[test]
        fn rfc3339_writer_matches_the_reference(
            nanos in proptest::num::u64::ANY,
            secs in 0u64..4_000_000_000,
            millis in 0u64..1_000,
        ) {
            for t in [
                SimTime(nanos),
                SimTime::from_unix_secs(secs),
                SimTime(secs * NANOS_PER_SEC + millis * NANOS_PER_MILLI),
                SimTime(secs * NANOS_PER_SEC + millis * NANOS_PER_MICRO),
            ] {
                proptest::prop_assert_eq!(t.to_rfc3339(), rfc3339_reference(t));
            }
        }
    }

    #[test]
    fn rfc3339_round_trips_with_minimal_fraction() {
        for text in [
            "2026-11-28T09:00:00Z",
            "2026-11-28T09:00:00.250Z",
            "2026-11-28T09:00:00.000001Z",
            "2026-11-28T09:00:00.000000001Z",
        ] {
            let t = SimTime::parse_rfc3339(text).unwrap();
            assert_eq!(t.to_rfc3339(), text);
        }
        let with_offset = SimTime::parse_rfc3339("2026-11-28T11:00:00+02:00").unwrap();
        assert_eq!(with_offset.to_rfc3339(), "2026-11-28T09:00:00Z");
        assert!(SimTime::parse_rfc3339("1969-12-31T23:59:59Z").is_err());
        assert!(SimTime::parse_rfc3339("yesterday").is_err());
    }

    #[test]
    fn day_and_bar_boundaries() {
        let t = SimTime::parse_rfc3339("2026-11-28T09:07:31Z").unwrap();
        assert_eq!(t.start_of_day().to_rfc3339(), "2026-11-28T00:00:00Z");
        assert_eq!(
            t.floor_to(SimDuration::from_mins(5)).to_rfc3339(),
            "2026-11-28T09:05:00Z"
        );
    }
}
