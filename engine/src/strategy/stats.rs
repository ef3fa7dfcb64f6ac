//! Rolling windows and sample statistics shared by the strategies, computed in the reference's
//! operation order so results match it bit for bit.
//!
//! The reference sums with Python's `sum()` (a plain left-to-right addition on Python 3.11, the
//! version it was measured on; 3.12 switched to compensated summation, which can differ in the
//! last bits), divides by `max(n − 1, 1)` and compares with Python's `max`/`min`, which keep the
//! first argument unless the second is strictly greater/smaller. The helpers here reproduce
//! exactly that, including for signed zeros.

use crate::domain::{SimTime, Symbol};
use crate::strategy::StrategyError;

/// A bounded FIFO of the most recent values (the reference's `deque(maxlen=…)`).
///
/// The values live contiguously (`buf[start..]`), so every tail is a plain slice the
/// statistics loop over without ring-buffer wrap checks. The buffer holds up to twice the
/// capacity; when it is full the live values move back to the front, one copy every
/// `capacity` pushes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RollingWindow {
    buf: Vec<f64>,
    start: usize,
    capacity: usize,
}

impl RollingWindow {
    /// An empty window keeping at most `capacity` values (at least one).
    pub(crate) fn new(capacity: usize) -> RollingWindow {
        let capacity = capacity.max(1);
        RollingWindow {
            buf: Vec::with_capacity(2 * capacity),
            start: 0,
            capacity,
        }
    }

    /// Appends `value`, dropping the oldest one when full.
    pub(crate) fn push(&mut self, value: f64) {
        if self.buf.len() - self.start == self.capacity {
            self.start += 1;
        }
        if self.buf.len() == 2 * self.capacity {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.push(value);
    }

    /// How many values are held.
    pub(crate) fn len(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The most recent value.
    pub(crate) fn last(&self) -> Option<f64> {
        self.buf[self.start..].last().copied()
    }

    /// The last `n` values, oldest first (all of them when fewer are held).
    pub(crate) fn tail(&self, n: usize) -> &[f64] {
        let live = &self.buf[self.start..];
        &live[live.len().saturating_sub(n)..]
    }
}

/// Per-symbol state of a strategy: a handful of symbols, looked up on every bar.
///
/// A linear scan comparing symbols for equality beats a `BTreeMap`'s ordered (`memcmp`)
/// search at this size; nothing iterates the books, so their order does not matter.
#[derive(Clone, Debug)]
pub(crate) struct SymbolBooks<T> {
    entries: Vec<(Symbol, T)>,
}

impl<T> Default for SymbolBooks<T> {
    fn default() -> Self {
        SymbolBooks {
            entries: Vec::new(),
        }
    }
}

impl<T> SymbolBooks<T> {
    /// `symbol`'s book, if it has one.
    pub(crate) fn get(&self, symbol: &Symbol) -> Option<&T> {
        self.entries
            .iter()
            .find(|(s, _)| s == symbol)
            .map(|(_, book)| book)
    }

    /// `symbol`'s book, created by `new` on first use.
    /// (`symbol` by reference: compared where it lies rather than copied out and read back,
    /// which stalls on store forwarding.)
    pub(crate) fn get_or_insert_with(
        &mut self,
        symbol: &Symbol,
        new: impl FnOnce() -> T,
    ) -> &mut T {
        let idx = match self.entries.iter().position(|(s, _)| s == symbol) {
            Some(idx) => idx,
            None => {
                self.entries.push((*symbol, new()));
                self.entries.len() - 1
            }
        };
        &mut self.entries[idx].1
    }

    /// True when no symbol has a book yet.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A series' mean and sample variance.
pub(crate) type Moments = (f64, f64);

/// Mean and sample variance (divisor `max(n − 1, 1)`) of `values`, summed left to right.
/// `None` when `values` is empty.
pub(crate) fn mean_and_sample_variance(values: &[f64]) -> Option<Moments> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mean = values.iter().fold(0.0, |sum, v| sum + v) / n as f64;
    let squares = values.iter().fold(0.0, |sum, v| {
        let d = v - mean;
        sum + d * d
    });
    Some((mean, squares / n.saturating_sub(1).max(1) as f64))
}

/// [`mean_and_sample_variance`] of `a` and of `b` at once.
///
/// Each result is computed with exactly the operations, in exactly the order, of the
/// one-series function; when the series are as long as each other the two left-to-right
/// sums advance in one loop, so the CPU overlaps their addition latencies instead of waiting
/// out one chain after the other.
pub(crate) fn mean_and_sample_variance_pair(
    a: &[f64],
    b: &[f64],
) -> (Option<Moments>, Option<Moments>) {
    let n = a.len();
    if n == 0 || n != b.len() {
        return (mean_and_sample_variance(a), mean_and_sample_variance(b));
    }
    let (mut sum_a, mut sum_b) = (0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sum_a += x;
        sum_b += y;
    }
    let (mean_a, mean_b) = (sum_a / n as f64, sum_b / n as f64);
    let (mut sq_a, mut sq_b) = (0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (da, db) = (x - mean_a, y - mean_b);
        sq_a += da * da;
        sq_b += db * db;
    }
    let divisor = n.saturating_sub(1).max(1) as f64;
    (
        Some((mean_a, sq_a / divisor)),
        Some((mean_b, sq_b / divisor)),
    )
}

/// Sample standard deviation from a sample variance (0 when there was no sample).
pub(crate) fn std_of(moments: Option<Moments>) -> f64 {
    match moments {
        Some((_, variance)) => py_max(variance, 0.0).sqrt(),
        None => 0.0,
    }
}

/// Sample standard deviation of `values` (0 when empty): the reference's `realized_volatility`.
pub(crate) fn sample_std(values: &[f64]) -> f64 {
    std_of(mean_and_sample_variance(values))
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
#[inline]
pub(crate) fn require_finite(
    symbol: Symbol,
    at: SimTime,
    field: &str,
    value: f64,
) -> Result<(), StrategyError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(not_finite(symbol, at, field, value))
    }
}

/// The error of [`require_finite`], kept out of line: every bar passes the check.
#[cold]
#[inline(never)]
fn not_finite(symbol: Symbol, at: SimTime, field: &str, value: f64) -> StrategyError {
    StrategyError(format!(
        "{symbol} bar at {}: `{field}` is {value}; expected a finite number",
        at.to_rfc3339()
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use proptest::prelude::*;

    use super::*;

    /// The statistics as they were computed before the windows became contiguous: left-to-right
    /// folds over a `VecDeque` range, one series at a time.
    fn deque_moments(values: &VecDeque<f64>, n: usize) -> Option<(f64, f64)> {
        let tail = values.range(values.len().saturating_sub(n)..);
        let len = tail.len();
        if len == 0 {
            return None;
        }
        let mean = tail.clone().fold(0.0, |sum, v| sum + v) / len as f64;
        let squares = tail.fold(0.0, |sum, v| {
            let d = v - mean;
            sum + d * d
        });
        Some((mean, squares / len.saturating_sub(1).max(1) as f64))
    }

    fn bits(m: Option<(f64, f64)>) -> Option<(u64, u64)> {
        m.map(|(a, b)| (a.to_bits(), b.to_bits()))
    }

    proptest! {
        /// The contiguous window holds exactly what a bounded deque holds, and the paired
        /// statistics are bit-identical to the deque's one-series folds.
        #[test]
        fn windows_and_paired_moments_match_the_deque_reference(
            capacity in 1usize..12,
            closes in proptest::collection::vec(-1e6f64..1e6, 0..80),
            returns_skip in 0usize..3,
            n in 0usize..14,
        ) {
            let mut a = RollingWindow::new(capacity);
            let mut b = RollingWindow::new(capacity);
            let mut da = VecDeque::new();
            let mut db = VecDeque::new();
            for (i, v) in closes.iter().enumerate() {
                a.push(*v);
                if da.len() == capacity { da.pop_front(); }
                da.push_back(*v);
                // The second series lags, as returns lag closes.
                if i >= returns_skip {
                    let r = v * 1e-3 - 0.5;
                    b.push(r);
                    if db.len() == capacity { db.pop_front(); }
                    db.push_back(r);
                }
                prop_assert_eq!(a.len(), da.len());
                prop_assert_eq!(a.last(), da.back().copied());
                prop_assert_eq!(a.tail(n).to_vec(), da.range(da.len().saturating_sub(n)..).copied().collect::<Vec<_>>());
                let (pa, pb) = mean_and_sample_variance_pair(a.tail(n), b.tail(n));
                prop_assert_eq!(bits(pa), bits(deque_moments(&da, n)));
                prop_assert_eq!(bits(pb), bits(deque_moments(&db, n)));
                prop_assert_eq!(bits(mean_and_sample_variance(b.tail(n))), bits(deque_moments(&db, n)));
            }
        }
    }

    #[test]
    fn symbol_books_create_once_and_find_by_symbol() {
        let btc = Symbol::new("BTC_USDT").unwrap();
        let eth = Symbol::new("ETH_USDT").unwrap();
        let mut books: SymbolBooks<u32> = SymbolBooks::default();
        assert!(books.is_empty());
        assert_eq!(books.get(&btc), None);
        *books.get_or_insert_with(&btc, || 1) += 10;
        *books.get_or_insert_with(&eth, || 2) += 20;
        *books.get_or_insert_with(&btc, || 100) += 1;
        assert_eq!(books.get(&btc), Some(&12));
        assert_eq!(books.get(&eth), Some(&22));
    }

    #[test]
    fn window_keeps_the_most_recent_values() {
        let mut w = RollingWindow::new(3);
        for v in [1.0, 2.0, 3.0, 4.0] {
            w.push(v);
        }
        assert_eq!(w.len(), 3);
        assert_eq!(w.last(), Some(4.0));
        assert_eq!(w.tail(2), [3.0, 4.0]);
        assert_eq!(w.tail(10), [2.0, 3.0, 4.0]);
    }

    #[test]
    fn sample_statistics_match_hand_computation() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squared deviations sum to 32, 32 / 7.
        let values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let (mean, var) = mean_and_sample_variance(&values).unwrap();
        assert_eq!(mean, 5.0);
        assert_eq!(var, 32.0 / 7.0);
        // One value: divisor max(0, 1) = 1, variance 0.
        assert_eq!(mean_and_sample_variance(&[3.0]), Some((3.0, 0.0)));
        assert_eq!(mean_and_sample_variance(&[]), None);
        assert_eq!(sample_std(&[]), 0.0);
        assert_eq!(sample_std(&[1.0, 3.0]), 2.0f64.sqrt());
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
