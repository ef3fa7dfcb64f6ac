//! The signals a completed run let through, grouped by the snapshot that produced them, held
//! in one allocation per run.
//!
//! A run used to hold a vector of batches, each with its own vector of signals: one
//! allocation per batch plus one for the list. In the load test nearly every batch holds a
//! single signal, and the records of a cycle are dropped together, so those small allocations
//! overflowed the allocator's per-size caches and each new one took its slow path. Here every
//! kept signal sits in one vector next to the snapshot it answered; a batch is a run of
//! consecutive entries from the same snapshot. Serialised, [`SignalBatches`] is exactly the
//! list of [`SignalBatch`]es it replaces.

use serde::Serialize;
use serde::ser::SerializeStruct;

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

/// One kept signal and the snapshot (the run's `batch`-th with signals) it answered.
#[derive(Clone, Debug, PartialEq)]
struct KeptSignal {
    batch: u32,
    symbol: Symbol,
    snapshot_at: SimTime,
    signal: Signal,
}

/// Every signal a completed run let through, batch by batch (batches in snapshot order, each
/// best first). Never holds an empty batch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SignalBatches {
    kept: Vec<KeptSignal>,
}

impl SignalBatches {
    /// Every signal, in emission order.
    pub fn signals(&self) -> impl ExactSizeIterator<Item = &Signal> + '_ {
        self.kept.iter().map(|k| &k.signal)
    }

    /// How many signals there are.
    pub fn len(&self) -> usize {
        self.kept.len()
    }

    /// True when the run kept no signal.
    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// The batches, in snapshot order.
    pub fn batches(&self) -> impl Iterator<Item = BatchView<'_>> + '_ {
        self.kept
            .chunk_by(|a, b| a.batch == b.batch)
            .map(|entries| BatchView { entries })
    }

    /// The batches as owned [`SignalBatch`]es (copies every signal).
    pub fn to_batches(&self) -> Vec<SignalBatch> {
        self.batches()
            .map(|b| SignalBatch {
                symbol: b.symbol(),
                snapshot_at: b.snapshot_at(),
                signals: b.signals().cloned().collect(),
            })
            .collect()
    }
}

/// One batch of a [`SignalBatches`]: the signals of one snapshot.
#[derive(Clone, Copy, Debug)]
pub struct BatchView<'a> {
    /// Never empty: `chunk_by` yields no empty chunk.
    entries: &'a [KeptSignal],
}

impl<'a> BatchView<'a> {
    /// The snapshot's symbol.
    pub fn symbol(&self) -> Symbol {
        self.entries[0].symbol
    }

    /// The snapshot's time.
    pub fn snapshot_at(&self) -> SimTime {
        self.entries[0].snapshot_at
    }

    /// The bounded signals, best first.
    pub fn signals(&self) -> impl ExactSizeIterator<Item = &'a Signal> + 'a {
        self.entries.iter().map(|k| &k.signal)
    }
}

impl Serialize for SignalBatches {
    /// As the `Vec<SignalBatch>` it replaces.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.batches())
    }
}

impl Serialize for BatchView<'_> {
    /// As a [`SignalBatch`].
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// The signals of a batch as a sequence.
        struct Signals<'b>(&'b [KeptSignal]);
        impl Serialize for Signals<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.iter().map(|k| &k.signal))
            }
        }
        let mut s = serializer.serialize_struct("SignalBatch", 3)?;
        s.serialize_field("symbol", &self.symbol())?;
        s.serialize_field("snapshot_at", &self.snapshot_at())?;
        s.serialize_field("signals", &Signals(self.entries))?;
        s.end()
    }
}

/// Collects a run's batches: the scheduler keeps one across runs, so the signals of a run
/// are gathered in reused memory and moved out in one exact-size allocation.
#[derive(Debug, Default)]
pub(crate) struct BatchBuilder {
    kept: Vec<KeptSignal>,
    batches: u32,
}

impl BatchBuilder {
    /// Starts a run (drops whatever an unfinished run left).
    pub(crate) fn begin(&mut self) {
        self.kept.clear();
        self.batches = 0;
    }

    /// Adds the bounded signals of one snapshot, draining `signals`; nothing when it is
    /// empty (a batch is never empty).
    pub(crate) fn push_batch(
        &mut self,
        symbol: Symbol,
        snapshot_at: SimTime,
        signals: &mut Vec<Signal>,
    ) {
        if signals.is_empty() {
            return;
        }
        let batch = self.batches;
        self.batches += 1;
        self.kept.extend(signals.drain(..).map(|signal| KeptSignal {
            batch,
            symbol,
            snapshot_at,
            signal,
        }));
    }

    /// Signals so far this run.
    pub(crate) fn len(&self) -> usize {
        self.kept.len()
    }

    /// The run's batches, in an allocation of exactly their size (none when empty); the
    /// builder keeps its memory for the next run.
    pub(crate) fn finish(&mut self) -> SignalBatches {
        let mut kept = Vec::with_capacity(self.kept.len());
        kept.append(&mut self.kept);
        self.batches = 0;
        SignalBatches { kept }
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

    /// Builds through the builder and, the old way, as one vector per non-empty batch.
    fn both(snapshots: &[(&str, u64, Vec<f64>)]) -> (SignalBatches, Vec<SignalBatch>) {
        let mut builder = BatchBuilder::default();
        builder.begin();
        let mut old = Vec::new();
        for (symbol, secs, confidences) in snapshots {
            let sym = Symbol::new(symbol).unwrap();
            let at = SimTime::EPOCH + crate::domain::SimDuration::from_secs(*secs);
            let mut raw: Vec<Signal> = confidences.iter().map(|c| signal(symbol, *c)).collect();
            if !raw.is_empty() {
                old.push(SignalBatch {
                    symbol: sym,
                    snapshot_at: at,
                    signals: raw.clone(),
                });
            }
            builder.push_batch(sym, at, &mut raw);
            assert!(raw.is_empty(), "the builder drains what it is given");
        }
        (builder.finish(), old)
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
    fn the_builder_starts_every_run_empty_and_keeps_no_spare_room_in_the_result() {
        let mut builder = BatchBuilder::default();
        builder.begin();
        let mut raw = vec![signal("BTC_USDT", 0.5), signal("BTC_USDT", 0.4)];
        builder.push_batch(Symbol::new("BTC_USDT").unwrap(), SimTime::EPOCH, &mut raw);
        assert_eq!(builder.len(), 2);
        let first = builder.finish();
        assert_eq!(first.len(), 2);
        assert_eq!(first.kept.capacity(), 2);
        builder.begin();
        let empty = builder.finish();
        assert!(empty.is_empty());
        assert_eq!(
            empty.kept.capacity(),
            0,
            "no allocation for a run without signals"
        );
        assert_eq!(empty.batches().count(), 0);
    }
}
