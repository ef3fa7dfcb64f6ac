//! Faults on the timeline: each is a window `[start, end)` on one venue with one effect.
//!
//! The set is closed (scenario files select a `kind`); windows may overlap, and their effects
//! combine (two outages keep the venue down until both end; latency spikes multiply and add).
//!
//! | kind | effect while active |
//! |---|---|
//! | `latency_spike` | the chosen operation's latency becomes `latency × factor + extra` |
//! | `outage` | venue down: `Status{Down}` published at start and `Status{Up}` at end; no quotes or bars; orders and cancels rejected `venue_down`; resting orders stay but do not fill |
//! | `stale_feed` | quotes keep arriving but repeat the last book published before the fault (same prices, same `at`); bars are flat at the last close with zero volume. The venue's real book keeps moving: orders trade at prices the engine cannot see |
//! | `gapped_feed` | each quote or bar of the venue is dropped with `probability` (default 1: all), from stream `faults/<venue>/gap` |
//! | `reject_storm` | each order reaching the venue is rejected `venue_error` with `probability`, from stream `faults/<venue>/reject_storm` |
//! | `clock_skew` | the venue's timestamps (`Quote::at`, `Bar::open_at`, `ExecReport::at`, status `at`) are shifted by `offset_ms` (may be negative); delivery times are not |
//! | `feed_delay` | the venue's market data is delivered `delay` late (the secondary-venue delay the arbitrage `secondary_delay_ms` metric measures: `Quote::at` trails delivery time) |
//!
//! Fault windows open and close in the [`crate::queue::Priority::VenueControl`] class, so an
//! order arriving at the instant an outage starts is already rejected.

use serde::{Deserialize, Serialize};
use stage4_engine::domain::{SimDuration, SimTime, VenueId};

use crate::error::ConfigError;

/// One scheduled fault. In a file it is one flat table:
/// `{ venue = "kraken", start = "…", end = "…", kind = "feed_delay", delay = "600ms" }`;
/// a field that does not belong to the kind is an error, not silently ignored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawFault", into = "RawFault")]
pub struct Fault {
    /// The venue it hits.
    pub venue: VenueId,
    /// When it starts (inclusive).
    pub start: SimTime,
    /// When it ends (exclusive).
    pub end: SimTime,
    /// What it does.
    pub kind: FaultKind,
}

/// The flat file form of a [`Fault`] (serde cannot refuse unknown fields of a flattened
/// tagged enum, so the kind's parameters are checked here by hand).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFault {
    venue: Option<VenueId>,
    start: Option<SimTime>,
    end: Option<SimTime>,
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    operation: Option<Operation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    factor: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    extra: Option<SimDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    probability: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    offset_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delay: Option<SimDuration>,
}

impl TryFrom<RawFault> for Fault {
    type Error = String;

    fn try_from(raw: RawFault) -> Result<Fault, String> {
        let kind_name = raw.kind.clone();
        let allowed: &[&str] = match kind_name.as_str() {
            "latency_spike" => &["operation", "factor", "extra"],
            "outage" | "stale_feed" => &[],
            "gapped_feed" | "reject_storm" => &["probability"],
            "clock_skew" => &["offset_ms"],
            "feed_delay" => &["delay"],
            other => {
                return Err(format!(
                    "unknown fault kind `{other}` (expected latency_spike, outage, stale_feed, gapped_feed, reject_storm, clock_skew or feed_delay)"
                ));
            }
        };
        let given = [
            ("operation", raw.operation.is_some()),
            ("factor", raw.factor.is_some()),
            ("extra", raw.extra.is_some()),
            ("probability", raw.probability.is_some()),
            ("offset_ms", raw.offset_ms.is_some()),
            ("delay", raw.delay.is_some()),
        ];
        if let Some((field, _)) = given.iter().find(|(f, set)| *set && !allowed.contains(f)) {
            return Err(format!(
                "`{field}` does not apply to a `{kind_name}` fault (it takes: {})",
                if allowed.is_empty() {
                    "no parameters".to_owned()
                } else {
                    allowed.join(", ")
                }
            ));
        }
        let need = |what: &str| format!("a `{kind_name}` fault needs `{what}`");
        let kind = match kind_name.as_str() {
            "latency_spike" => FaultKind::LatencySpike {
                operation: raw.operation.ok_or_else(|| need("operation"))?,
                factor: raw.factor.unwrap_or(1),
                extra: raw.extra.unwrap_or(SimDuration::ZERO),
            },
            "outage" => FaultKind::Outage,
            "stale_feed" => FaultKind::StaleFeed,
            "gapped_feed" => FaultKind::GappedFeed {
                probability: raw.probability.unwrap_or(1.0),
            },
            "reject_storm" => FaultKind::RejectStorm {
                probability: raw.probability.ok_or_else(|| need("probability"))?,
            },
            "clock_skew" => FaultKind::ClockSkew {
                offset_ms: raw.offset_ms.ok_or_else(|| need("offset_ms"))?,
            },
            _ => FaultKind::FeedDelay {
                delay: raw.delay.ok_or_else(|| need("delay"))?,
            },
        };
        Ok(Fault {
            venue: raw.venue.ok_or_else(|| need("venue"))?,
            start: raw.start.ok_or_else(|| need("start"))?,
            end: raw.end.ok_or_else(|| need("end"))?,
            kind,
        })
    }
}

impl From<Fault> for RawFault {
    fn from(f: Fault) -> RawFault {
        let mut raw = RawFault {
            venue: Some(f.venue),
            start: Some(f.start),
            end: Some(f.end),
            kind: f.kind.name().to_owned(),
            ..RawFault::default()
        };
        match f.kind {
            FaultKind::LatencySpike {
                operation,
                factor,
                extra,
            } => {
                raw.operation = Some(operation);
                raw.factor = Some(factor);
                raw.extra = Some(extra);
            }
            FaultKind::Outage | FaultKind::StaleFeed => {}
            FaultKind::GappedFeed { probability } | FaultKind::RejectStorm { probability } => {
                raw.probability = Some(probability)
            }
            FaultKind::ClockSkew { offset_ms } => raw.offset_ms = Some(offset_ms),
            FaultKind::FeedDelay { delay } => raw.delay = Some(delay),
        }
        raw
    }
}

/// Which operation a latency spike slows down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Engine → matching engine.
    OrderEntry,
    /// Matching engine → engine.
    Reports,
    /// Venue → engine market data.
    MarketData,
}

impl Operation {
    /// Name used in stream labels and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::OrderEntry => "order_entry",
            Operation::Reports => "reports",
            Operation::MarketData => "market_data",
        }
    }
}

/// The effect of a fault (see the module table).
#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// Latency of one operation becomes `latency × factor + extra`.
    LatencySpike {
        /// Which operation.
        operation: Operation,
        /// Multiplier (≥ 1). Default 1 in files.
        factor: u32,
        /// Added latency. Default 0 in files.
        extra: SimDuration,
    },
    /// The venue is down.
    Outage,
    /// Published data stops updating.
    StaleFeed,
    /// Published data goes missing.
    GappedFeed {
        /// Chance each quote or bar is dropped. Default 1 in files.
        probability: f64,
    },
    /// Orders are rejected `venue_error` at random.
    RejectStorm {
        /// Chance each order is rejected.
        probability: f64,
    },
    /// Venue timestamps are off.
    ClockSkew {
        /// Offset added to venue timestamps, in milliseconds (negative: behind).
        offset_ms: i64,
    },
    /// The venue's feed arrives late.
    FeedDelay {
        /// Extra delivery delay.
        delay: SimDuration,
    },
}

impl FaultKind {
    /// Snake-case name of the kind.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::LatencySpike { .. } => "latency_spike",
            FaultKind::Outage => "outage",
            FaultKind::StaleFeed => "stale_feed",
            FaultKind::GappedFeed { .. } => "gapped_feed",
            FaultKind::RejectStorm { .. } => "reject_storm",
            FaultKind::ClockSkew { .. } => "clock_skew",
            FaultKind::FeedDelay { .. } => "feed_delay",
        }
    }
}

impl Fault {
    /// Checks the window and parameters; `field` names the fault in errors.
    pub fn validate(&self, field: &str) -> Result<(), ConfigError> {
        if self.start >= self.end {
            return Err(ConfigError::invalid(
                field,
                format!("start {} must be before end {}", self.start, self.end),
            ));
        }
        let probability = |p: f64| {
            if (0.0..=1.0).contains(&p) {
                Ok(())
            } else {
                Err(ConfigError::invalid(
                    format!("{field}.probability"),
                    format!("must be between 0 and 1, got {p}"),
                ))
            }
        };
        match &self.kind {
            FaultKind::LatencySpike { factor: 0, .. } => Err(ConfigError::invalid(
                format!("{field}.factor"),
                "must be at least 1",
            )),
            FaultKind::GappedFeed { probability: p }
            | FaultKind::RejectStorm { probability: p } => probability(*p),
            _ => Ok(()),
        }
    }
}

/// The combined effect of every active fault on one venue.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VenueFaults {
    /// Active outages.
    pub outages: u32,
    /// Active stale-feed windows.
    pub stale: u32,
    /// Active gapped-feed windows and their drop probabilities.
    pub gaps: Vec<(usize, f64)>,
    /// Active reject storms and their probabilities.
    pub storms: Vec<(usize, f64)>,
    /// Active clock skews (fault index, offset ns).
    pub skews: Vec<(usize, i64)>,
    /// Active latency spikes (fault index, operation, factor, extra).
    pub spikes: Vec<(usize, Operation, u32, SimDuration)>,
    /// Active feed delays (fault index, delay).
    pub feed_delays: Vec<(usize, SimDuration)>,
}

impl VenueFaults {
    /// True while any outage is active.
    pub fn is_down(&self) -> bool {
        self.outages > 0
    }

    /// Probability that a published item is dropped (independent windows combined).
    pub fn gap_probability(&self) -> f64 {
        1.0 - self.gaps.iter().map(|(_, p)| 1.0 - p).product::<f64>()
    }

    /// Probability that an order is rejected by a storm.
    pub fn storm_probability(&self) -> f64 {
        1.0 - self.storms.iter().map(|(_, p)| 1.0 - p).product::<f64>()
    }

    /// Total clock skew in nanoseconds.
    pub fn skew_ns(&self) -> i64 {
        self.skews.iter().map(|(_, s)| s).sum()
    }

    /// Applies spikes on `operation` (and feed delays, for market data) to a base latency.
    pub fn adjust(&self, operation: Operation, base: SimDuration) -> SimDuration {
        let mut latency = base;
        for &(_, op, factor, extra) in &self.spikes {
            if op == operation {
                latency =
                    SimDuration::from_nanos(latency.as_nanos().saturating_mul(u64::from(factor)))
                        .checked_add(extra)
                        .unwrap_or(SimDuration::MAX);
            }
        }
        if operation == Operation::MarketData {
            for &(_, delay) in &self.feed_delays {
                latency = latency.checked_add(delay).unwrap_or(SimDuration::MAX);
            }
        }
        latency
    }

    /// True when nothing is active (the fast path skips all fault logic).
    pub fn is_clear(&self) -> bool {
        self.outages == 0
            && self.stale == 0
            && self.gaps.is_empty()
            && self.storms.is_empty()
            && self.skews.is_empty()
            && self.spikes.is_empty()
            && self.feed_delays.is_empty()
    }

    /// Starts fault `index`.
    pub fn open(&mut self, index: usize, kind: &FaultKind) {
        match *kind {
            FaultKind::LatencySpike {
                operation,
                factor,
                extra,
            } => self.spikes.push((index, operation, factor, extra)),
            FaultKind::Outage => self.outages += 1,
            FaultKind::StaleFeed => self.stale += 1,
            FaultKind::GappedFeed { probability } => self.gaps.push((index, probability)),
            FaultKind::RejectStorm { probability } => self.storms.push((index, probability)),
            FaultKind::ClockSkew { offset_ms } => self
                .skews
                .push((index, offset_ms.saturating_mul(1_000_000))),
            FaultKind::FeedDelay { delay } => self.feed_delays.push((index, delay)),
        }
    }

    /// Ends fault `index`.
    pub fn close(&mut self, index: usize, kind: &FaultKind) {
        match kind {
            FaultKind::LatencySpike { .. } => self.spikes.retain(|s| s.0 != index),
            FaultKind::Outage => self.outages -= 1,
            FaultKind::StaleFeed => self.stale -= 1,
            FaultKind::GappedFeed { .. } => self.gaps.retain(|s| s.0 != index),
            FaultKind::RejectStorm { .. } => self.storms.retain(|s| s.0 != index),
            FaultKind::ClockSkew { .. } => self.skews.retain(|s| s.0 != index),
            FaultKind::FeedDelay { .. } => self.feed_delays.retain(|s| s.0 != index),
        }
    }
}

/// Shifts a venue timestamp by a skew, saturating at the epoch and at the far end.
pub fn skewed(at: SimTime, skew_ns: i64) -> SimTime {
    if skew_ns >= 0 {
        at.checked_add(SimDuration::from_nanos(skew_ns as u64))
            .unwrap_or(SimTime::MAX)
    } else {
        at.checked_sub(SimDuration::from_nanos(skew_ns.unsigned_abs()))
            .unwrap_or(SimTime::EPOCH)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_windows_combine_and_unwind() {
        let mut f = VenueFaults::default();
        let spike = FaultKind::LatencySpike {
            operation: Operation::OrderEntry,
            factor: 3,
            extra: SimDuration::from_millis(5),
        };
        f.open(0, &FaultKind::Outage);
        f.open(1, &FaultKind::Outage);
        f.open(2, &spike);
        f.open(3, &FaultKind::GappedFeed { probability: 0.5 });
        f.open(4, &FaultKind::GappedFeed { probability: 0.5 });
        assert!(f.is_down());
        assert_eq!(f.gap_probability(), 0.75);
        let ten = SimDuration::from_millis(10);
        assert_eq!(
            f.adjust(Operation::OrderEntry, ten),
            SimDuration::from_millis(35)
        );
        assert_eq!(f.adjust(Operation::Reports, ten), ten);
        f.close(0, &FaultKind::Outage);
        assert!(f.is_down());
        f.close(1, &FaultKind::Outage);
        f.close(2, &spike);
        f.close(3, &FaultKind::GappedFeed { probability: 0.5 });
        f.close(4, &FaultKind::GappedFeed { probability: 0.5 });
        assert!(f.is_clear());
    }

    #[test]
    fn fault_tables_refuse_typos_and_misplaced_parameters() {
        let parse = |text: &str| toml::from_str::<Fault>(text).map_err(|e| e.to_string());
        let ok = parse(
            r#"venue = "kraken"
            start = "2026-01-01T00:10:00Z"
            end = "2026-01-01T00:20:00Z"
            kind = "feed_delay"
            delay = "600ms""#,
        )
        .unwrap();
        assert_eq!(
            ok.kind,
            FaultKind::FeedDelay {
                delay: SimDuration::from_millis(600)
            }
        );
        let back = toml::to_string(&ok).unwrap();
        assert_eq!(toml::from_str::<Fault>(&back).unwrap(), ok);
        let head = "venue = \"kraken\"\nstart = \"2026-01-01T00:10:00Z\"\nend = \"2026-01-01T00:20:00Z\"\n";
        for (body, expected) in [
            (
                "kind = \"feed_delay\"\ndelya = \"1s\"",
                "unknown field `delya`",
            ),
            (
                "kind = \"outage\"\nprobability = 0.5",
                "`probability` does not apply to a `outage` fault",
            ),
            ("kind = \"reject_storm\"", "needs `probability`"),
            ("kind = \"meltdown\"", "unknown fault kind `meltdown`"),
            ("kind = \"latency_spike\"\nfactor = 3", "needs `operation`"),
        ] {
            let err = parse(&format!("{head}{body}")).unwrap_err();
            assert!(err.contains(expected), "{body}: {err}");
        }
    }

    #[test]
    fn bad_windows_and_probabilities_name_the_field() {
        let t = SimTime::from_unix_secs(100);
        let venue = VenueId::new("kraken").unwrap();
        let backwards = Fault {
            venue,
            start: t,
            end: t,
            kind: FaultKind::Outage,
        };
        assert!(
            backwards
                .validate("faults[0]")
                .unwrap_err()
                .to_string()
                .contains("faults[0]")
        );
        let storm = Fault {
            venue,
            start: t,
            end: t + SimDuration::from_secs(1),
            kind: FaultKind::RejectStorm { probability: 1.5 },
        };
        assert!(
            storm
                .validate("faults[1]")
                .unwrap_err()
                .to_string()
                .contains("faults[1].probability")
        );
        assert_eq!(skewed(SimTime::from_nanos(5), -10), SimTime::EPOCH);
    }
}
