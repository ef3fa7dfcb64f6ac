//! Rolling windows and sample statistics shared by the strategies, computed in the reference's
//! operation order so results match it bit for bit.
//!
//! The reference sums with Python's `sum()` (a plain left-to-right addition on Python 3.11, the
//! version it was measured on; 3.12 switched to compensated summation, which can differ in the
//! last bits), divides by `max(n − 1, 1)` and compares with Python's `max`/`min`, which keep the
//! first argument unless the second is strictly greater/smaller. The helpers here reproduce
//! exactly that, including for signed zeros.

use std::collections::VecDeque;

use crate::domain::{SimTime, Symbol};
use crate::strategy::StrategyError;

/// A bounded FIFO of the most recent values (the reference's `deque(maxlen=…)`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RollingWindow {
    values: VecDeque<f64>,
    capacity: usize,
}

impl RollingWindow {
    /// An empty window keeping at most `capacity` values (at least one).
    pub(crate) fn new(capacity: usize) -> RollingWindow {
        let capacity = capacity.max(1);
        RollingWindow {
            values: VecDeque::with_capacity(capacity),
            capacity,
        }
    }

    /// Appends `value`, dropping the oldest one when full.
    pub(crate) fn push(&mut self, value: f64) {
        if self.values.len() == self.capacity {
            self.values.pop_front();
        }
        self.values.push_back(value);
    }

    /// How many values are held.
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// The most recent value.
    pub(crate) fn last(&self) -> Option<f64> {
        self.values.back().copied()
    }

    /// The last `n` values, oldest first (all of them when fewer are held).
    pub(crate) fn tail(&self, n: usize) -> std::collections::vec_deque::Iter<'_, f64> {
        let skip = self.values.len().saturating_sub(n);
        self.values.range(skip..)
    }
}

/// Mean and sample variance (divisor `max(n − 1, 1)`) of `values`, summed left to right.
/// `None` when `values` is empty.
pub(crate) fn mean_and_sample_variance<'a, I>(values: I) -> Option<(f64, f64)>
where
    I: ExactSizeIterator<Item = &'a f64> + Clone,
{
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mean = values.clone().fold(0.0, |sum, v| sum + v) / n as f64;
    let squares = values.fold(0.0, |sum, v| {
        let d = v - mean;
        sum + d * d
    });
    Some((mean, squares / n.saturating_sub(1).max(1) as f64))
}

/// Sample standard deviation of `values` (0 when empty): the reference's `realized_volatility`.
pub(crate) fn sample_std<'a, I>(values: I) -> f64
where
    I: ExactSizeIterator<Item = &'a f64> + Clone,
{
    match mean_and_sample_variance(values) {
        Some((_, variance)) => py_max(variance, 0.0).sqrt(),
        None => 0.0,
    }
}

/// Python's `max(a, b)`: `a` unless `b > a`.
pub(crate) fn py_max(a: f64, b: f64) -> f64 {
    if b > a { b } else { a }
}

/// Python's `min(a, b)`: `a` unless `b < a`.
pub(crate) fn py_min(a: f64, b: f64) -> f64 {
    if b < a { b } else { a }
}

/// Refuses a non-finite input value. The reference would carry a NaN through its ring buffers
/// for `lookback` bars and trade on garbage; we fail the run instead (a `strategy` failure for
/// the scheduler), naming the bar and the field.
pub(crate) fn require_finite(
    symbol: Symbol,
    at: SimTime,
    field: &str,
    value: f64,
) -> Result<(), StrategyError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(StrategyError(format!(
            "{symbol} bar at {}: `{field}` is {value}; expected a finite number",
            at.to_rfc3339()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_keeps_the_most_recent_values() {
        let mut w = RollingWindow::new(3);
        for v in [1.0, 2.0, 3.0, 4.0] {
            w.push(v);
        }
        assert_eq!(w.len(), 3);
        assert_eq!(w.last(), Some(4.0));
        assert_eq!(w.tail(2).copied().collect::<Vec<_>>(), [3.0, 4.0]);
        assert_eq!(w.tail(10).copied().collect::<Vec<_>>(), [2.0, 3.0, 4.0]);
    }

    #[test]
    fn sample_statistics_match_hand_computation() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squared deviations sum to 32, 32 / 7.
        let values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let (mean, var) = mean_and_sample_variance(values.iter()).unwrap();
        assert_eq!(mean, 5.0);
        assert_eq!(var, 32.0 / 7.0);
        // One value: divisor max(0, 1) = 1, variance 0.
        assert_eq!(mean_and_sample_variance([3.0].iter()), Some((3.0, 0.0)));
        assert_eq!(mean_and_sample_variance([].iter()), None);
        assert_eq!(sample_std([].iter()), 0.0);
        assert_eq!(sample_std([1.0, 3.0].iter()), 2.0f64.sqrt());
    }

    #[test]
    fn python_max_and_min_keep_the_first_argument_on_ties_and_nan() {
        for (a, b, max, min) in [
            (1.0, 2.0, 2.0, 1.0),
            (2.0, 1.0, 2.0, 1.0),
            (f64::NAN, 1.0, f64::NAN, f64::NAN),
            (1.0, f64::NAN, 1.0, 1.0),
        ] {
            assert_eq!(py_max(a, b).to_bits(), f64::to_bits(max), "max({a}, {b})");
            assert_eq!(py_min(a, b).to_bits(), f64::to_bits(min), "min({a}, {b})");
        }
        assert!(py_max(0.0, -0.0).is_sign_positive());
        assert!(py_max(-0.0, 0.0).is_sign_negative());
    }

    #[test]
    fn non_finite_inputs_are_named() {
        let sym = Symbol::new("BTC_USDT").unwrap();
        let at = SimTime::from_unix_secs(60);
        assert!(require_finite(sym, at, "close", 1.0).is_ok());
        let err = require_finite(sym, at, "close", f64::NAN).unwrap_err();
        assert_eq!(
            err.0,
            "BTC_USDT bar at 1970-01-01T00:01:00Z: `close` is NaN; expected a finite number"
        );
    }
}
