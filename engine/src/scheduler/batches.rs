//! The signals a completed run let through, grouped by the snapshot that produced them, in
//! one allocation per scheduler call.
//!
//! A run used to move each snapshot's kept signals into a vector of their own: an
//! allocation per batch. The records of a cycle are dropped together, so those allocations
//! overflowed the allocator's per-size caches and each new one took its slow path. Here the
//! kept signals of every run of one `run_once` / `run_due` call are appended to the
//! scheduler's one vector, and when the call ends that vector is shared (`Arc`) by its
//! records: a run's signals are a range of it, a batch a sub-range. The first batch's
//! snapshot is held inline (in the load test nine runs with signals in ten have one batch),
//! later ones in a vector of their own. Serialised, [`SignalBatches`] is exactly the list of
//! [`SignalBatch`]es it replaces.

use std::fmt;
use std::num::NonZeroUsize;
use std::sync::Arc;

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
#[derive(Clone, Default)]
pub struct SignalBatches {
    /// The signals of every run of the scheduler call this run was part of (`None` until the
    /// call ends, and for a run without signals).
    all: Option<Arc<Vec<Signal>>>,
    /// This run's signals are `all[start..end]`.
    start: usize,
    end: usize,
    /// The first batch's head (`None`: no batch); ends are positions in `all`.
    first: Option<BatchHead>,
    /// The heads of the batches after the first.
    rest: Vec<BatchHead>,
}

impl SignalBatches {
    /// Every signal, in emission order.
    pub fn signals(&self) -> impl ExactSizeIterator<Item = &Signal> + '_ {
        self.as_slice().iter()
    }

    /// How many signals there are.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// True when the run kept no signal.
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }

    /// The batches, in snapshot order.
    pub fn batches(&self) -> Batches<'_> {
        Batches {
            of: self,
            next: 0,
            start: self.start,
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

    fn as_slice(&self) -> &[Signal] {
        self.all
            .as_deref()
            .map_or(&[], |all| &all[self.start..self.end])
    }

    /// A run's batches, to be filled from `pending.len()` on: each snapshot's kept signals
    /// are appended to `pending` (the scheduler call's signal vector), then
    /// [`SignalBatches::close_batch`] closes the snapshot's batch.
    pub(crate) fn open(pending: &[Signal]) -> SignalBatches {
        SignalBatches {
            all: None,
            start: pending.len(),
            end: pending.len(),
            first: None,
            rest: Vec::new(),
        }
    }

    /// Closes the batch of `symbol` at `snapshot_at`: the signals of `pending` past the
    /// previous batch (none: no batch). `pending` must not have lost signals of earlier
    /// batches.
    pub(crate) fn close_batch(&mut self, pending: &[Signal], symbol: Symbol, snapshot_at: SimTime) {
        // `end` is where the last batch ends (the run's start before the first one).
        let previous_end = self.end;
        debug_assert!(
            pending.len() >= previous_end,
            "earlier batches lost signals"
        );
        let Some(end) = NonZeroUsize::new(pending.len()).filter(|e| e.get() > previous_end) else {
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
        self.end = end.get();
    }

    /// Gives a run with signals the scheduler call's signals, once the call has ended.
    pub(crate) fn share(&mut self, all: &Arc<Vec<Signal>>) {
        if !self.is_empty() {
            debug_assert!(self.end <= all.len(), "signals of another call");
            self.all = Some(Arc::clone(all));
        }
    }
}

impl PartialEq for SignalBatches {
    /// Equal batches (wherever the signals are stored).
    fn eq(&self, other: &SignalBatches) -> bool {
        self.batches().eq(other.batches())
    }
}

impl fmt::Debug for SignalBatches {
    /// The batches (not the other runs' signals the storage holds).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.batches()).finish()
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
        let signals = &self.of.all.as_deref()?[self.start..end];
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

    /// Builds as the scheduler does (after another run's signals: append, close, share)
    /// and, the old way, as one vector per non-empty batch.
    fn both(snapshots: &[(&str, u64, Vec<f64>)]) -> (SignalBatches, Vec<SignalBatch>) {
        // Signals of an earlier run of the same call come first.
        let mut pending = vec![signal("XRP_USDT", 0.1)];
        let mut batches = SignalBatches::open(&pending);
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
            assert_eq!(batches.end, pending.len());
            pending.extend(raw);
            batches.close_batch(&pending, sym, at);
        }
        // And of a later one.
        pending.push(signal("SOL_USDT", 0.2));
        batches.share(&Arc::new(pending));
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
    fn a_run_without_signals_shares_nothing_and_one_batch_allocates_nothing() {
        let (empty, _) = both(&[("BTC_USDT", 60, vec![]), ("ETH_USDT", 60, vec![])]);
        assert!(empty.all.is_none());
        assert_eq!(empty.batches().count(), 0);
        assert_eq!(empty, SignalBatches::default());
        let (one, _) = both(&[("BTC_USDT", 60, vec![0.5, 0.4]), ("ETH_USDT", 60, vec![])]);
        assert_eq!(one.rest.capacity(), 0, "the first batch is held inline");
        assert_eq!(format!("{one:?}").matches("XRP_USDT").count(), 0, "{one:?}");
        let (three, _) = both(&[
            ("BTC_USDT", 60, vec![0.5]),
            ("ETH_USDT", 60, vec![0.4]),
            ("SOL_USDT", 60, vec![0.3]),
        ]);
        assert_eq!(three.rest.len(), 2);
    }
}
