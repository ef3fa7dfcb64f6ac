//! What a schedule is: its cadence, limits, profile, tags, priority, trading windows and
//! fallbacks (engine.md §2.2), validated once.

use std::fmt;

use serde::Serialize;

use crate::domain::{SimDuration, SimTime, Symbol, VenueId};

/// A trading window in minutes of the UTC day: `start == end` is always open, `start < end`
/// is `[start, end)`, `start > end` wraps midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TradingWindow {
    /// Opening minute of the day (0..1440).
    pub start: u16,
    /// Closing minute of the day (0..1440).
    pub end: u16,
}

impl TradingWindow {
    /// Parses `HH:MM-HH:MM`; hours are clamped to 0..=23 and minutes to 0..=59 as in the
    /// reference.
    pub fn parse(text: &str) -> Result<TradingWindow, ScheduleError> {
        let bad = || ScheduleError::BadWindow(text.to_owned());
        let (a, b) = text.trim().split_once('-').ok_or_else(bad)?;
        let minute = |hm: &str| -> Result<u16, ScheduleError> {
            let (h, m) = hm.trim().split_once(':').ok_or_else(bad)?;
            let h: u16 = h.trim().parse().map_err(|_| bad())?;
            let m: u16 = m.trim().parse().map_err(|_| bad())?;
            Ok(h.min(23) * 60 + m.min(59))
        };
        Ok(TradingWindow {
            start: minute(a)?,
            end: minute(b)?,
        })
    }

    /// Whether minute-of-day `m` is inside the window.
    pub fn contains(&self, m: u16) -> bool {
        use std::cmp::Ordering::*;
        match self.start.cmp(&self.end) {
            Equal => true,
            Less => self.start <= m && m < self.end,
            Greater => m >= self.start || m < self.end,
        }
    }
}

impl fmt::Display for TradingWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }
}

/// Whether `now` falls in any of `windows` (an empty list is always open).
pub fn window_open(windows: &[TradingWindow], now: SimTime) -> bool {
    if windows.is_empty() {
        return true;
    }
    let dt = now.to_utc();
    let m = u16::from(dt.hour()) * 60 + u16::from(dt.minute());
    windows.iter().any(|w| w.contains(m))
}

/// Where a schedule's market data and orders go.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScheduleMarket {
    /// Venue the schedule trades on (for arbitrage: the primary venue).
    pub venue: VenueId,
    /// Second venue of a cross-exchange schedule.
    pub secondary_venue: Option<VenueId>,
    /// Symbols the schedule trades, in order.
    pub symbols: Vec<Symbol>,
    /// Bar interval the strategy consumes (a multiple of the market's bar size).
    pub interval: SimDuration,
}

/// One schedule, as configured. Defaults are the reference loader's (engine.md §2.2).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScheduleSpec {
    /// Unique schedule name (the `schedule` telemetry label).
    pub name: String,
    /// Strategy instance name (default: the schedule name).
    pub strategy_name: String,
    /// Time between runs (≥ 1 s; default 300 s).
    pub cadence: SimDuration,
    /// Allowed lateness of a run against its due time (default 30 s).
    pub max_drift: SimDuration,
    /// Bars of history fed to the strategy before its first run (default 0).
    pub warmup_bars: u32,
    /// Risk profile (default `balanced`).
    pub risk_profile: String,
    /// Base signals per snapshot (≥ 1; default 10).
    pub max_signals: u32,
    /// Tags (used by tag suspensions and the `tag_quota` family of policies).
    pub tags: Vec<String>,
    /// Primary tag (default: the first tag).
    pub primary_tag: Option<String>,
    /// Higher runs first within one timestamp (default 0).
    pub priority: i32,
    /// Trading windows (empty: always open).
    pub windows: Vec<TradingWindow>,
    /// Schedules to fail over to, in order.
    pub fallbacks: Vec<String>,
    /// Market data and order routing.
    pub market: ScheduleMarket,
}

/// A schedule configuration the scheduler refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// Cadence under one second.
    #[error("schedule `{0}`: cadence must be at least 1s")]
    CadenceTooShort(String),
    /// `max_signals` is zero.
    #[error("schedule `{0}`: max_signals must be at least 1")]
    ZeroSignals(String),
    /// Two schedules share a name.
    #[error("schedule `{0}` is defined twice")]
    Duplicate(String),
    /// A fallback names no schedule.
    #[error("schedule `{schedule}`: fallback `{fallback}` is not a schedule")]
    UnknownFallback {
        /// The schedule.
        schedule: String,
        /// The missing fallback.
        fallback: String,
    },
    /// A window is not `HH:MM-HH:MM`.
    #[error("trading window `{0}` is not HH:MM-HH:MM")]
    BadWindow(String),
    /// The schedule trades no symbol.
    #[error("schedule `{0}`: no symbols")]
    NoSymbols(String),
    /// The name is empty.
    #[error("a schedule needs a name")]
    EmptyName,
    /// The portfolio governor configuration is invalid (the governor's error text).
    #[error("{0}")]
    Governor(String),
}

impl ScheduleSpec {
    /// A schedule with the reference defaults for everything but its name and market.
    pub fn new(name: &str, market: ScheduleMarket) -> ScheduleSpec {
        ScheduleSpec {
            name: name.to_owned(),
            strategy_name: name.to_owned(),
            cadence: SimDuration::from_secs(300),
            max_drift: SimDuration::from_secs(30),
            warmup_bars: 0,
            risk_profile: "balanced".to_owned(),
            max_signals: 10,
            tags: Vec::new(),
            primary_tag: None,
            priority: 0,
            windows: Vec::new(),
            fallbacks: Vec::new(),
            market,
        }
    }

    /// The primary tag: explicit, else the first tag.
    pub fn effective_primary_tag(&self) -> Option<&str> {
        self.primary_tag
            .as_deref()
            .or(self.tags.first().map(String::as_str))
    }

    /// Checks this schedule on its own.
    pub fn validate(&self) -> Result<(), ScheduleError> {
        if self.name.trim().is_empty() {
            return Err(ScheduleError::EmptyName);
        }
        if self.cadence < SimDuration::from_secs(1) {
            return Err(ScheduleError::CadenceTooShort(self.name.clone()));
        }
        if self.max_signals == 0 {
            return Err(ScheduleError::ZeroSignals(self.name.clone()));
        }
        if self.market.symbols.is_empty() {
            return Err(ScheduleError::NoSymbols(self.name.clone()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_clamp_and_wrap() {
        let w = TradingWindow::parse("22:00-02:30").unwrap();
        assert!(w.contains(23 * 60) && w.contains(60) && !w.contains(12 * 60));
        let day = TradingWindow::parse("09:00-17:00").unwrap();
        assert!(day.contains(9 * 60) && !day.contains(17 * 60));
        assert!(TradingWindow::parse("10:00-10:00").unwrap().contains(0));
        assert_eq!(
            TradingWindow::parse("25:99-01:00").unwrap().to_string(),
            "23:59-01:00"
        );
        assert!(TradingWindow::parse("9-17").is_err());
        let noon = SimTime::parse_rfc3339("2026-11-28T12:00:00Z").unwrap();
        assert!(window_open(&[day], noon));
        assert!(!window_open(&[w], noon));
        assert!(window_open(&[], noon));
    }
}
