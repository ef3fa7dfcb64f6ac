//! The event queue: every pending thing in the world, ordered by `(time, priority class,
//! sequence)`.
//!
//! # Priority classes (same-nanosecond ties)
//! When two events carry the same time, the lower class runs first:
//!
//! | class | what | why it goes here |
//! |---|---|---|
//! | 0 [`Priority::VenueControl`] | fault windows opening/closing, venue up/down | a state change at `t` governs everything else that happens at `t`: an order arriving at the instant an outage starts is rejected |
//! | 1 [`Priority::OrderEntry`] | orders and cancels reaching a matching engine | they meet the book as it stood *before* the refresh at `t`, so an order can never trade on a book state published at the same instant (no look-ahead) |
//! | 2 [`Priority::MarketUpdate`] | the venue's book refresh from the feed (crossing resting orders) and the publication of quotes/bars | after order entry (above), before anything reaches the engine |
//! | 3 [`Priority::ReportDelivery`] | execution reports reaching the engine | the engine learns about its fills before it reacts to a quote landing at the same instant, so it never decides on a stale position |
//! | 4 [`Priority::MarketDelivery`] | market data reaching the engine | |
//! | 5 [`Priority::EngineTimer`] | timers the driver set on the sim | a timer sees every delivery of its instant |
//!
//! Within a class the sequence number (assigned at push, strictly increasing) keeps emission
//! order, so the order is total and never depends on heap internals.
//!
//! Each heap entry is the 16-byte key and the payload itself: the sim's payloads are small
//! (which pipe to pop, which fault edge), so they ride in the heap rather than in a slab
//! beside it, and the heap's buffer is reused: no allocation per event once warm.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use serde::{Deserialize, Serialize};
use stage4_engine::domain::SimTime;

/// Tie-break class of an event at the same nanosecond; lower runs first (see module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum Priority {
    /// Fault windows and venue status.
    VenueControl = 0,
    /// Orders and cancels reaching a matching engine.
    OrderEntry = 1,
    /// Book refresh and data publication at the venue.
    MarketUpdate = 2,
    /// Execution reports reaching the engine.
    ReportDelivery = 3,
    /// Market data reaching the engine.
    MarketDelivery = 4,
    /// Driver timers.
    EngineTimer = 5,
}

/// Bits of the key left for the sequence number.
const SEQ_BITS: u32 = 61;

/// A min-queue of `T` keyed by `(time, priority, sequence)`.
#[derive(Debug)]
pub struct EventQueue<T> {
    heap: BinaryHeap<Pending<T>>,
    next_seq: u64,
}

/// One queued item under its packed key (time, class, sequence: unique per queue), ordered
/// by the key alone and reversed, so the max-heap pops the earliest.
#[derive(Debug)]
struct Pending<T> {
    key: u128,
    item: T,
}

impl<T> PartialEq for Pending<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl<T> Eq for Pending<T> {}

impl<T> PartialOrd for Pending<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Pending<T> {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        other.key.cmp(&self.key)
    }
}

impl<T> Default for EventQueue<T> {
    fn default() -> Self {
        EventQueue::new()
    }
}

impl<T> EventQueue<T> {
    /// An empty queue.
    pub fn new() -> EventQueue<T> {
        EventQueue {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }

    /// Schedules `item` at `at` in class `priority`; returns its sequence number.
    #[inline]
    pub fn push(&mut self, at: SimTime, priority: Priority, item: T) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        assert!(seq < 1 << SEQ_BITS, "event sequence exhausted");
        let key = (u128::from(at.as_nanos()) << 64)
            | (u128::from(priority as u8) << SEQ_BITS)
            | u128::from(seq);
        self.heap.push(Pending { key, item });
        seq
    }

    /// Removes and returns the earliest event with its time and class.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, Priority, T)> {
        let Pending { key, item } = self.heap.pop()?;
        Some((key_time(key), key_priority(key), item))
    }

    /// Time of the earliest event.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|p| key_time(p.key))
    }

    /// Time and class of the earliest event.
    pub fn peek(&self) -> Option<(SimTime, Priority)> {
        self.heap
            .peek()
            .map(|p| (key_time(p.key), key_priority(p.key)))
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

fn key_time(key: u128) -> SimTime {
    SimTime::from_nanos((key >> 64) as u64)
}

fn key_priority(key: u128) -> Priority {
    match ((key >> SEQ_BITS) & 0b111) as u8 {
        0 => Priority::VenueControl,
        1 => Priority::OrderEntry,
        2 => Priority::MarketUpdate,
        3 => Priority::ReportDelivery,
        4 => Priority::MarketDelivery,
        5 => Priority::EngineTimer,
        other => unreachable!("priority class {other} is never pushed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_time_then_class_then_emission() {
        let t = |s| SimTime::from_unix_secs(s);
        let mut q = EventQueue::new();
        q.push(t(2), Priority::VenueControl, "late control");
        q.push(t(1), Priority::MarketDelivery, "md first");
        q.push(t(1), Priority::ReportDelivery, "report");
        q.push(t(1), Priority::MarketDelivery, "md second");
        q.push(t(1), Priority::VenueControl, "control");
        q.push(t(1), Priority::EngineTimer, "timer");
        q.push(t(1), Priority::OrderEntry, "order");
        assert_eq!(q.peek(), Some((t(1), Priority::VenueControl)));
        let order: Vec<&str> = std::iter::from_fn(|| q.pop().map(|(_, _, x)| x)).collect();
        assert_eq!(
            order,
            [
                "control",
                "order",
                "report",
                "md first",
                "md second",
                "timer",
                "late control"
            ]
        );
        assert!(q.is_empty());
    }

    proptest::proptest! {
        /// Pops in exactly the order of sorting every push by (time, class, push order).
        #[test]
        fn pops_in_time_class_emission_order(
            script in proptest::collection::vec((0..20u64, 0..6u8, proptest::bool::ANY), 1..200)
        ) {
            let class = |c: u8| [
                Priority::VenueControl,
                Priority::OrderEntry,
                Priority::MarketUpdate,
                Priority::ReportDelivery,
                Priority::MarketDelivery,
                Priority::EngineTimer,
            ][usize::from(c)];
            let mut q = EventQueue::new();
            let mut expected = Vec::new();
            let mut popped = Vec::new();
            for (n, &(at, c, pop_after)) in script.iter().enumerate() {
                let at = SimTime::from_nanos(at);
                let seq = q.push(at, class(c), n);
                expected.push((at, class(c), seq, n));
                if pop_after {
                    popped.push(q.pop().unwrap());
                }
            }
            while let Some(p) = q.pop() {
                popped.push(p);
            }
            // Interleaved pops see only what was pushed before them; replay them on a sorted
            // model to get the order a (time, class, sequence) queue must produce.
            let mut model: Vec<(SimTime, Priority, u64, usize)> = Vec::new();
            let mut want = Vec::new();
            let mut pushes = expected.iter();
            for &(_, _, pop_after) in &script {
                model.push(*pushes.next().unwrap());
                if pop_after {
                    model.sort();
                    let (at, class, _, n) = model.remove(0);
                    want.push((at, class, n));
                }
            }
            model.sort();
            want.extend(model.into_iter().map(|(at, class, _, n)| (at, class, n)));
            proptest::prop_assert_eq!(popped, want);
        }
    }
}
