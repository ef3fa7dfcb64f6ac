//! The signals a completed run let through, grouped by the snapshot that produced them,
//! written once by the strategy and never copied.
//!
//! A run used to collect each snapshot's signals in a reused buffer and move the kept ones
//! into a vector of their own per batch. Here the strategy appends straight into the run's
//! one signal vector (the strategy contract is "append, never clear"), the top-k limit bounds
//! the part it just appended in place, and a batch is a range of that vector: no copy after
//! the strategy's own push, one allocation per run with signals. The first batch's snapshot
//! is held inline (in the load test nine runs with signals in ten have one batch), later ones
//! in a vector of their own. Serialised, [`SignalBatches`] is exactly the list of
//! [`SignalBatch`]es it replaces.

use std::num::NonZeroUsize;

use serde::Serialize;

use crate::domain::{SimTime, Symbol};
use crate::strategy::Signal;

/// The signals one snapshot produced after the top-k limit (the owned, one-vector-per-batch
/// form of a batch; see [`SignalBatches::to_batches`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SignalBatch {
    /// The snapshot's symbol.
    pub symbol: Symbol,
    /// The snapshot's time.
    pub snapshot_at: SimTime,
    /// The bounded signals, best first.
    pub signals: Vec<Signal>,
}

/// Where a batch's signals end in the run's signal vector, and the snapshot they answered.
#[derive(Clone, Copy, Debug, PartialEq)]
struct BatchHead {
    symbol: Symbol,
    snapshot_at: SimTime,
    /// One past the batch's last signal (a batch is never empty); the batch starts where
    /// the previous one ended.
    end: NonZeroUsize,
}

/// Every signal a completed run let through, batch by batch (batches in snapshot order, each
/// best first). Never holds an empty batch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SignalBatches {
    /// Every kept signal of the run, batch after batch.
    signals: Vec<Signal>,
    /// The first batch's head (`None`: no batch).
    first: Option<BatchHead>,
    /// The heads of the batches after the first.
    rest: Vec<BatchHead>,
}

impl SignalBatches {
    /// Every signal, in emission order.
    pub fn signals(&self) -> impl ExactSizeIterator<Item = &Signal> + '_ {
        self.signals.iter()
    }

    /// How many signals there are.
    pub fn len(&self) -> usize {
        self.signals.len()
    }

    /// True when the run kept no signal.
    pub fn is_empty(&self) -> bool {
        self.signals.is_empty()
    }

    /// The batches, in snapshot order.
    pub fn batches(&self) -> Batches<'_> {
        Batches {
            of: self,
            next: 0,
            start: 0,
        }
    }

    /// The batches as owned [`SignalBatch`]es (copies every signal).
    pub fn to_batches(&self) -> Vec<SignalBatch> {
        self.batches()
            .map(|b| SignalBatch {
                symbol: b.symbol,
                snapshot_at: b.snapshot_at,
                signals: b.signals.to_vec(),
            })
            .collect()
    }

    /// Where the strategy appends a snapshot's signals, after the batches so far; its length
    /// is where the next batch starts. Anything left past the last batch when the next batch
    /// is closed belongs to it.
    pub(crate) fn pending(&mut self) -> &mut Vec<Signal> {
        &mut self.signals
    }

    /// Closes the batch of `symbol` at `snapshot_at`: every signal past the previous batch
    /// (none: no batch). `pending` must not have lost signals of earlier batches.
    pub(crate) fn close_batch(&mut self, symbol: Symbol, snapshot_at: SimTime) {
        let previous_end = self.last_end();
        debug_assert!(
            self.signals.len() >= previous_end,
            "earlier batches lost signals"
        );
        let Some(end) = NonZeroUsize::new(self.signals.len()).filter(|e| e.get() > previous_end)
        else {
            return;
        };
        let head = BatchHead {
            symbol,
            snapshot_at,
            end,
        };
        if self.first.is_none() {
            self.first = Some(head);
        } else {
            self.rest.push(head);
        }
    }

    /// Where the last batch ends (0 before the first).
    pub(crate) fn last_end(&self) -> usize {
        self.rest
            .last()
            .or(self.first.as_ref())
            .map_or(0, |h| h.end.get())
    }
}

/// One batch of a [`SignalBatches`]: the signals of one snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename = "SignalBatch")]
pub struct BatchView<'a> {
    /// The snapshot's symbol.
    pub symbol: Symbol,
    /// The snapshot's time.
    pub snapshot_at: SimTime,
    /// The bounded signals, best first (never empty).
    pub signals: &'a [Signal],
}

impl<'a> IntoIterator for &'a SignalBatches {
    type Item = BatchView<'a>;
    type IntoIter = Batches<'a>;

    fn into_iter(self) -> Batches<'a> {
        self.batches()
    }
}

/// The batches of a [`SignalBatches`], in snapshot order.
#[derive(Clone, Debug)]
pub struct Batches<'a> {
    of: &'a SignalBatches,
    /// The next batch's index.
    next: usize,
    /// Where the next batch's signals start.
    start: usize,
}

impl<'a> Iterator for Batches<'a> {
    type Item = BatchView<'a>;

    fn next(&mut self) -> Option<BatchView<'a>> {
        let head = match self.next {
            0 => self.of.first?,
            n => *self.of.rest.get(n - 1)?,
        };
        let end = head.end.get();
        let signals = &self.of.signals[self.start..end];
        self.next += 1;
        self.start = end;
        Some(BatchView {
            symbol: head.symbol,
            snapshot_at: head.snapshot_at,
            signals,
        })
    }
}

impl Serialize for SignalBatches {
    /// As the `Vec<SignalBatch>` it replaces.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.batches())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::{Intent, SignalMetadata, SignalSide};

    fn signal(symbol: &str, confidence: f64) -> Signal {
        Signal {
            symbol: Symbol::new(symbol).unwrap(),
            side: SignalSide::Buy,
            confidence,
            quantity: None,
            intent: Intent::Single,
            legs: Vec::new(),
            metadata: SignalMetadata::default().with_zscore(-confidence),
        }
    }

    /// Builds as the scheduler does (append, bound nothing, close) and, the old way, as one
    /// vector per non-empty batch.
    fn both(snapshots: &[(&str, u64, Vec<f64>)]) -> (SignalBatches, Vec<SignalBatch>) {
        let mut batches = SignalBatches::default();
        let mut old = Vec::new();
        for (symbol, secs, confidences) in snapshots {
            let sym = Symbol::new(symbol).unwrap();
            let at = SimTime::EPOCH + crate::domain::SimDuration::from_secs(*secs);
            let raw: Vec<Signal> = confidences.iter().map(|c| signal(symbol, *c)).collect();
            if !raw.is_empty() {
                old.push(SignalBatch {
                    symbol: sym,
                    snapshot_at: at,
                    signals: raw.clone(),
                });
            }
            assert_eq!(batches.last_end(), batches.len());
            batches.pending().extend(raw);
            batches.close_batch(sym, at);
        }
        (batches, old)
    }

    #[test]
    fn batches_read_and_serialise_like_one_vector_per_batch() {
        let cases: Vec<Vec<(&str, u64, Vec<f64>)>> = vec![
            vec![],
            vec![("BTC_USDT", 60, vec![])],
            vec![("BTC_USDT", 60, vec![0.5])],
            vec![
                ("BTC_USDT", 60, vec![0.9, 0.5]),
                ("ETH_USDT", 60, vec![0.7]),
            ],
            vec![
                ("BTC_USDT", 60, vec![0.9]),
                ("BTC_USDT", 120, vec![]),
                ("BTC_USDT", 180, vec![0.3, 0.2, 0.1]),
                ("ETH_USDT", 60, vec![0.4]),
            ],
            // Two snapshots with the same symbol and time stay two batches.
            vec![("BTC_USDT", 60, vec![0.9]), ("BTC_USDT", 60, vec![0.8])],
        ];
        for case in cases {
            let (batches, old) = both(&case);
            assert_eq!(batches.to_batches(), old, "{case:?}");
            assert_eq!(
                serde_json::to_string(&batches).unwrap(),
                serde_json::to_string(&old).unwrap(),
                "{case:?}"
            );
            let flat: Vec<&Signal> = old.iter().flat_map(|b| b.signals.iter()).collect();
            assert_eq!(batches.signals().collect::<Vec<_>>(), flat);
            assert_eq!(batches.len(), flat.len());
            assert_eq!(batches.is_empty(), flat.is_empty());
            assert_eq!(batches.batches().count(), old.len());
        }
    }

    #[test]
    fn a_run_without_signals_allocates_nothing_and_one_batch_nothing_more() {
        let (empty, _) = both(&[("BTC_USDT", 60, vec![]), ("ETH_USDT", 60, vec![])]);
        assert_eq!(empty.signals.capacity(), 0);
        assert_eq!(empty.batches().count(), 0);
        let (one, _) = both(&[("BTC_USDT", 60, vec![0.5, 0.4]), ("ETH_USDT", 60, vec![])]);
        assert_eq!(one.rest.capacity(), 0, "the first batch is held inline");
        let (three, _) = both(&[
            ("BTC_USDT", 60, vec![0.5]),
            ("ETH_USDT", 60, vec![0.4]),
            ("SOL_USDT", 60, vec![0.3]),
        ]);
        assert_eq!(three.rest.len(), 2);
    }
}
