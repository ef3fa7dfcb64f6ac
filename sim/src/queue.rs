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
//! Payloads live in a slab beside a heap of 16-byte keys, so pushing and popping moves
//! small values and the slab's slots are reused: no allocation per event once warm.

use std::cmp::Reverse;
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
    heap: BinaryHeap<Reverse<(u128, u32)>>,
    slots: Vec<Option<T>>,
    free: Vec<u32>,
    next_seq: u64,
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
            slots: Vec::new(),
            free: Vec::new(),
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
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(item);
                s
            }
            None => {
                self.slots.push(Some(item));
                u32::try_from(self.slots.len() - 1).expect("fewer than 2³² pending events")
            }
        };
        self.heap.push(Reverse((key, slot)));
        seq
    }

    /// Removes and returns the earliest event with its time and class.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, Priority, T)> {
        let Reverse((key, slot)) = self.heap.pop()?;
        let item = self.slots[slot as usize]
            .take()
            .expect("queued slot holds an item");
        self.free.push(slot);
        Some((key_time(key), key_priority(key), item))
    }

    /// Time of the earliest event.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|Reverse((key, _))| key_time(*key))
    }

    /// Time and class of the earliest event.
    pub fn peek(&self) -> Option<(SimTime, Priority)> {
        self.heap
            .peek()
            .map(|Reverse((key, _))| (key_time(*key), key_priority(*key)))
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

    #[test]
    fn slots_are_reused() {
        let mut q = EventQueue::new();
        for i in 0..1000u64 {
            q.push(SimTime::from_nanos(i), Priority::MarketUpdate, i);
            assert_eq!(q.pop().map(|(_, _, x)| x), Some(i));
        }
        assert_eq!(q.slots.len(), 1);
    }
}
