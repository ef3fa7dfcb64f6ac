//! How many signals a schedule may emit per snapshot (engine.md §3.4), and operator overrides
//! of that limit per (strategy, risk profile) with lazy expiry.

use std::collections::BTreeMap;

use serde::Serialize;

use super::suspensions::Expiry;
use crate::domain::SimTime;

/// Inputs of the limit formula for one schedule run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LimitInputs {
    /// The schedule's base limit (`max_signals`, at least 1).
    pub base: u32,
    /// Portfolio-governor factor (1 without a governor).
    pub governor_factor: f64,
    /// Capital-allocator factor: the schedule's normalised weight.
    pub allocator_factor: f64,
    /// Minimum limit while the governor factor is positive (1 without a governor).
    pub floor: u32,
    /// An active operator override, if any.
    pub override_limit: Option<u32>,
}

/// The reference formula, including Python's banker's rounding (`round()` is half-to-even):
///
/// ```text
/// if a <= 0:          computed = 0
/// else:
///     computed = round_half_even(base * g)
///     if base > 0:    computed = max(floor if g > 0 else 0, computed)
///     if a > 1 and computed > 0: computed = round_half_even(computed * a)
/// if override:        computed = min(computed, override)
/// ```
///
/// Because allocator weights are normalised to sum to 1, `a` only ever silences a schedule
/// (weight 0); it does not scale the limit (engine.md §13.9). We keep that behaviour: the
/// weight scales order size instead (see the execution router).
pub fn active_max_signals(inputs: LimitInputs) -> u32 {
    let g = inputs.governor_factor.max(0.0);
    let a = inputs.allocator_factor.max(0.0);
    let mut computed: f64 = if a <= 0.0 || a.is_nan() {
        0.0
    } else {
        let mut c = (f64::from(inputs.base) * g).round_ties_even();
        if inputs.base > 0 {
            let floor = if g > 0.0 {
                f64::from(inputs.floor)
            } else {
                0.0
            };
            c = c.max(floor);
        }
        if a > 1.0 && c > 0.0 {
            c = (c * a).round_ties_even();
        }
        c
    };
    if let Some(limit) = inputs.override_limit {
        computed = computed.min(f64::from(limit));
    }
    if computed.is_nan() || computed <= 0.0 {
        0
    } else if computed >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        computed as u32
    }
}

/// Keeps the first `k` signals by confidence, descending, with ties in their original order
/// (a stable sort, as the reference's `sorted(..., key=confidence, reverse=True)`). `k == 0`
/// keeps nothing; `len ≤ k` keeps everything in the original order.
pub fn top_k<T>(items: &mut Vec<T>, k: usize, confidence: impl Fn(&T) -> f64) {
    if k == 0 {
        items.clear();
        return;
    }
    if items.len() <= k {
        return;
    }
    // sort_by is stable; NaN confidences sort last.
    items.sort_by(|a, b| {
        let (ca, cb) = (confidence(a), confidence(b));
        cb.partial_cmp(&ca)
            .unwrap_or_else(|| ca.is_nan().cmp(&cb.is_nan()))
    });
    items.truncate(k);
}

/// An operator's cap on a strategy's signals under one risk profile.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SignalLimitOverride {
    /// The cap (signals per snapshot).
    pub limit: u32,
    /// Why it was set.
    pub reason: Option<String>,
    /// When it was set.
    pub created_at: SimTime,
    /// When it stops applying (`None`: until cleared).
    pub expires_at: Option<SimTime>,
}

impl SignalLimitOverride {
    /// True while the override applies (`now < expires_at`).
    pub fn is_active(&self, now: SimTime) -> bool {
        self.expires_at.is_none_or(|t| now < t)
    }
}

/// A request to cap a strategy's signals under one risk profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitRequest {
    /// Strategy name.
    pub strategy: String,
    /// Risk profile.
    pub profile: String,
    /// The cap (signals per snapshot).
    pub limit: u32,
    /// Why (blank means none).
    pub reason: Option<String>,
    /// When it stops applying.
    pub expiry: Expiry,
}

/// Overrides keyed by (strategy name, risk profile), purged lazily when they expire.
#[derive(Clone, Debug, Default)]
pub struct SignalLimitOverrides {
    entries: BTreeMap<(String, String), SignalLimitOverride>,
}

/// One entry of [`SignalLimitOverrides::snapshot`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OverrideView {
    /// Strategy name.
    pub strategy: String,
    /// Risk profile.
    pub profile: String,
    /// The override.
    #[serde(flatten)]
    pub entry: SignalLimitOverride,
    /// Seconds until expiry, if it expires.
    pub remaining_seconds: Option<f64>,
    /// Whether it applies now.
    pub active: bool,
}

impl SignalLimitOverrides {
    /// True when no override is held (the usual case: the scheduler checks this before every
    /// run and skips the purge).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sets (or replaces) an override and returns it.
    pub fn set(&mut self, now: SimTime, request: &LimitRequest) -> SignalLimitOverride {
        let entry = SignalLimitOverride {
            limit: request.limit,
            reason: request.reason.clone().filter(|r| !r.trim().is_empty()),
            created_at: now,
            expires_at: request.expiry.resolve(now),
        };
        self.entries.insert(
            (request.strategy.clone(), request.profile.clone()),
            entry.clone(),
        );
        entry
    }

    /// Removes an override; returns whether one existed.
    pub fn clear(&mut self, strategy: &str, profile: &str) -> bool {
        self.entries
            .remove(&(strategy.to_owned(), profile.to_owned()))
            .is_some()
    }

    /// Drops expired overrides and returns their keys (for logging and recomputing limits).
    pub fn purge_expired(&mut self, now: SimTime) -> Vec<(String, String)> {
        if self.is_empty() {
            return Vec::new();
        }
        let expired: Vec<(String, String)> = self
            .entries
            .iter()
            .filter(|(_, o)| !o.is_active(now))
            .map(|(k, _)| k.clone())
            .collect();
        for key in &expired {
            self.entries.remove(key);
        }
        expired
    }

    /// The active override for (strategy, profile), if any. Call [`Self::purge_expired`] first
    /// to log expiries; this lookup ignores expired entries either way.
    pub fn active(
        &self,
        now: SimTime,
        strategy: &str,
        profile: &str,
    ) -> Option<&SignalLimitOverride> {
        // Asked on every run; the key is only built when there is something to look up.
        if self.is_empty() {
            return None;
        }
        self.entries
            .get(&(strategy.to_owned(), profile.to_owned()))
            .filter(|o| o.is_active(now))
    }

    /// All overrides, sorted by (strategy, profile).
    pub fn snapshot(&self, now: SimTime) -> Vec<OverrideView> {
        self.entries
            .iter()
            .map(|((strategy, profile), entry)| OverrideView {
                strategy: strategy.clone(),
                profile: profile.clone(),
                entry: entry.clone(),
                remaining_seconds: entry
                    .expires_at
                    .map(|t| t.saturating_since(now).as_secs_f64()),
                active: entry.is_active(now),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SimDuration;

    fn inputs(base: u32, g: f64, a: f64) -> LimitInputs {
        LimitInputs {
            base,
            governor_factor: g,
            allocator_factor: a,
            floor: 1,
            override_limit: None,
        }
    }

    #[test]
    fn the_reference_formula_table() {
        struct Case {
            name: &'static str,
            inputs: LimitInputs,
            expected: u32,
        }
        let cases = [
            Case {
                name: "plain",
                inputs: inputs(4, 1.0, 0.33),
                expected: 4,
            },
            Case {
                name: "allocator weight zero silences",
                inputs: inputs(4, 1.0, 0.0),
                expected: 0,
            },
            Case {
                name: "banker's rounding 2.5 -> 2",
                inputs: inputs(5, 0.5, 0.5),
                expected: 2,
            },
            Case {
                name: "banker's rounding 3.5 -> 4",
                inputs: inputs(7, 0.5, 0.5),
                expected: 4,
            },
            Case {
                name: "floor lifts a tiny factor",
                inputs: inputs(4, 0.01, 0.5),
                expected: 1,
            },
            Case {
                name: "governor zero means no floor",
                inputs: inputs(4, 0.0, 0.5),
                expected: 0,
            },
            Case {
                name: "allocator above one scales",
                inputs: inputs(4, 1.0, 1.5),
                expected: 6,
            },
            Case {
                name: "override caps",
                inputs: LimitInputs {
                    override_limit: Some(2),
                    ..inputs(4, 1.0, 0.5)
                },
                expected: 2,
            },
            Case {
                name: "override never raises",
                inputs: LimitInputs {
                    override_limit: Some(9),
                    ..inputs(4, 1.0, 0.5)
                },
                expected: 4,
            },
            Case {
                name: "NaN allocator silences",
                inputs: inputs(4, 1.0, f64::NAN),
                expected: 0,
            },
        ];
        for case in cases {
            assert_eq!(
                active_max_signals(case.inputs),
                case.expected,
                "{}",
                case.name
            );
        }
    }

    #[test]
    fn top_k_is_stable_by_confidence() {
        let mut v = vec![("a", 0.5), ("b", 0.9), ("c", 0.5), ("d", 0.9), ("e", 0.1)];
        top_k(&mut v, 3, |x| x.1);
        assert_eq!(v, [("b", 0.9), ("d", 0.9), ("a", 0.5)]);
        let mut short = vec![("x", 0.1), ("y", 0.9)];
        top_k(&mut short, 5, |x| x.1);
        assert_eq!(
            short,
            [("x", 0.1), ("y", 0.9)],
            "len <= k keeps original order"
        );
        top_k(&mut short, 0, |x| x.1);
        assert!(short.is_empty());
    }

    #[test]
    fn overrides_expire_lazily() {
        let t0 = SimTime::from_unix_secs(1_000);
        let mut o = SignalLimitOverrides::default();
        let req = |strategy: &str, limit, reason: Option<&str>, expiry| LimitRequest {
            strategy: strategy.to_owned(),
            profile: "balanced".to_owned(),
            limit,
            reason: reason.map(str::to_owned),
            expiry,
        };
        o.set(
            t0,
            &req(
                "mr",
                1,
                Some("incident"),
                Expiry::After(SimDuration::from_mins(5)),
            ),
        );
        o.set(t0, &req("vt", 0, None, Expiry::Never));
        assert_eq!(o.active(t0, "mr", "balanced").map(|x| x.limit), Some(1));
        let later = t0 + SimDuration::from_mins(5);
        assert!(
            o.active(later, "mr", "balanced").is_none(),
            "expired at now >= expires_at"
        );
        assert_eq!(
            o.purge_expired(later),
            vec![("mr".to_owned(), "balanced".to_owned())]
        );
        assert_eq!(o.snapshot(later).len(), 1);
        assert!(o.clear("vt", "balanced"));
        assert!(!o.clear("vt", "balanced"));
    }
}
