//! From signals to orders: how much to trade, and keeping multi-leg trades hedged.
//!
//! The reference's signal path ends in an in-memory sink: no order is ever placed (engine.md
//! §8.4). Here every signal becomes zero or more orders:
//!
//! | signal | order(s) |
//! |---|---|
//! | `buy` / `sell` with a mean-reversion regime | entries open `position_size × schedule capital` of notional; exits close the schedule's whole position |
//! | `buy` / `sell` without a regime | toward long / short: closes an opposite position, else opens one |
//! | `rebalance` | moves the position's value to `target_allocation × schedule capital` |
//! | `open(direction)` | the signal's legs, one order per venue, as one [`LegGroup`] |
//! | `close(direction)` | flattens the schedule's positions on both venues, as one [`LegGroup`] |
//!
//! **Legs stay together.** When the legs of a group end differently (one filled, the other
//! rejected by a venue that is down, or only partly filled), the filled quantities are unwound
//! at once with market orders, so the pair returns to the state before the group: flat after a
//! failed open, still hedged after a failed close. A failed close is retried every
//! `retry_interval` until both legs close. No single leg is left open longer than one unwind
//! round trip.

use std::collections::BTreeMap;

use crate::domain::{ClientOrderId, Qty, Side, SimDuration, StrategyId, Symbol, VenueId};

/// How the router sizes and retries.
#[derive(Clone, Debug, PartialEq)]
pub struct ExecutionSettings {
    /// Fraction of a schedule's capital one mean-reversion entry trades (reference default
    /// `position_size` 0.1).
    pub position_size: f64,
    /// Bars of the schedule's interval used for the ATR that places protective stops.
    pub atr_period: usize,
    /// Wait between attempts to close a pair whose close failed.
    pub retry_interval: SimDuration,
}

impl Default for ExecutionSettings {
    fn default() -> Self {
        ExecutionSettings {
            position_size: 0.1,
            atr_period: 14,
            retry_interval: SimDuration::from_secs(15),
        }
    }
}

/// Why a group of legs was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupPurpose {
    /// Opening an arbitrage pair.
    Open,
    /// Closing an arbitrage pair.
    Close,
    /// Undoing the filled legs of a group whose other legs failed.
    Unwind,
}

/// One leg of a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leg {
    /// The order, or `None` when the leg could not be sent (refused by risk, no price): it
    /// counts as finished with nothing filled.
    pub client_order_id: Option<ClientOrderId>,
    /// Venue.
    pub venue: VenueId,
    /// Symbol.
    pub symbol: Symbol,
    /// Side.
    pub side: Side,
    /// Quantity asked.
    pub qty: Qty,
    /// Quantity filled so far.
    pub filled: Qty,
    /// Whether the venue has finished with it.
    pub done: bool,
}

/// Orders that must succeed or fail together.
#[derive(Clone, Debug, PartialEq)]
pub struct LegGroup {
    /// The schedule that owns them.
    pub schedule: StrategyId,
    /// Why they were sent.
    pub purpose: GroupPurpose,
    /// The legs.
    pub legs: Vec<Leg>,
}

/// What a finished group needs.
#[derive(Clone, Debug, PartialEq)]
pub enum GroupVerdict {
    /// Every leg filled completely, or none filled at all: nothing to do.
    Consistent {
        /// True when every leg filled.
        filled: bool,
    },
    /// The legs ended differently: unwind these (venue, symbol, side, qty) to restore the pair.
    Unwind(Vec<(VenueId, Symbol, Side, Qty)>),
}

impl LegGroup {
    /// True when every leg is finished.
    pub fn is_done(&self) -> bool {
        self.legs.iter().all(|l| l.done)
    }

    /// The verdict once [`LegGroup::is_done`]. Legs are "balanced" when they filled the same
    /// fraction of what they asked for; anything else is unwound leg by leg (the filled
    /// quantity, opposite side).
    pub fn verdict(&self) -> GroupVerdict {
        let complete = self.legs.iter().all(|l| l.filled == l.qty);
        let empty = self.legs.iter().all(|l| l.filled.is_zero());
        if complete || empty {
            return GroupVerdict::Consistent { filled: complete };
        }
        GroupVerdict::Unwind(
            self.legs
                .iter()
                .filter(|l| l.filled.is_positive())
                .map(|l| (l.venue, l.symbol, l.side.opposite(), l.filled))
                .collect(),
        )
    }
}

/// Groups in flight, by group id.
#[derive(Clone, Debug, Default)]
pub struct LegGroups {
    groups: BTreeMap<u64, LegGroup>,
    by_order: BTreeMap<ClientOrderId, u64>,
    next_id: u64,
}

impl LegGroups {
    /// Starts tracking a group; returns its id.
    pub fn insert(&mut self, group: LegGroup) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        for leg in &group.legs {
            if let Some(order) = leg.client_order_id {
                self.by_order.insert(order, id);
            }
        }
        self.groups.insert(id, group);
        id
    }

    /// Records a fill of `qty` on an order; returns its group id if it belongs to one.
    pub fn on_fill(&mut self, order: ClientOrderId, qty: Qty, leaves: Qty) -> Option<u64> {
        let id = *self.by_order.get(&order)?;
        let leg = self.leg_mut(id, order)?;
        leg.filled += qty;
        if leaves.is_zero() {
            leg.done = true;
        }
        Some(id)
    }

    /// Records that an order ended (reject, cancel, expiry); returns its group id.
    pub fn on_end(&mut self, order: ClientOrderId) -> Option<u64> {
        let id = *self.by_order.get(&order)?;
        self.leg_mut(id, order)?.done = true;
        Some(id)
    }

    fn leg_mut(&mut self, id: u64, order: ClientOrderId) -> Option<&mut Leg> {
        self.groups
            .get_mut(&id)?
            .legs
            .iter_mut()
            .find(|l| l.client_order_id == Some(order))
    }

    /// Removes and returns a finished group.
    pub fn take_if_done(&mut self, id: u64) -> Option<LegGroup> {
        if !self.groups.get(&id)?.is_done() {
            return None;
        }
        let group = self.groups.remove(&id)?;
        for leg in &group.legs {
            if let Some(order) = leg.client_order_id {
                self.by_order.remove(&order);
            }
        }
        Some(group)
    }

    /// Groups still in flight.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// True when no group is in flight.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leg(id: u64, venue: &str, side: Side, qty: i64, filled: i64) -> Leg {
        Leg {
            client_order_id: Some(ClientOrderId(id)),
            venue: VenueId::new(venue).unwrap(),
            symbol: Symbol::new("BTC_USDT").unwrap(),
            side,
            qty: Qty(qty),
            filled: Qty(filled),
            done: true,
        }
    }

    fn group(legs: Vec<Leg>) -> LegGroup {
        LegGroup {
            schedule: StrategyId::new("arb").unwrap(),
            purpose: GroupPurpose::Open,
            legs,
        }
    }

    #[test]
    fn verdicts() {
        let both = group(vec![
            leg(1, "binance", Side::Buy, 10, 10),
            leg(2, "kraken", Side::Sell, 10, 10),
        ]);
        assert_eq!(both.verdict(), GroupVerdict::Consistent { filled: true });
        let none = group(vec![
            leg(1, "binance", Side::Buy, 10, 0),
            leg(2, "kraken", Side::Sell, 10, 0),
        ]);
        assert_eq!(none.verdict(), GroupVerdict::Consistent { filled: false });
        let one = group(vec![
            leg(1, "binance", Side::Buy, 10, 10),
            leg(2, "kraken", Side::Sell, 10, 0),
        ]);
        assert_eq!(
            one.verdict(),
            GroupVerdict::Unwind(vec![(
                VenueId::new("binance").unwrap(),
                Symbol::new("BTC_USDT").unwrap(),
                Side::Sell,
                Qty(10)
            )])
        );
        let partial = group(vec![
            leg(1, "binance", Side::Buy, 10, 10),
            leg(2, "kraken", Side::Sell, 10, 4),
        ]);
        assert!(matches!(partial.verdict(), GroupVerdict::Unwind(v) if v.len() == 2));
        let unsent = group(vec![
            leg(1, "binance", Side::Buy, 10, 10),
            Leg {
                client_order_id: None,
                ..leg(0, "kraken", Side::Sell, 10, 0)
            },
        ]);
        assert!(matches!(unsent.verdict(), GroupVerdict::Unwind(v) if v.len() == 1));
    }

    #[test]
    fn tracking_fills_and_ends() {
        let mut groups = LegGroups::default();
        let mut g = group(vec![
            leg(7, "binance", Side::Buy, 10, 0),
            leg(8, "kraken", Side::Sell, 10, 0),
        ]);
        for l in &mut g.legs {
            l.done = false;
        }
        let id = groups.insert(g);
        assert_eq!(groups.on_fill(ClientOrderId(7), Qty(10), Qty(0)), Some(id));
        assert!(groups.take_if_done(id).is_none());
        assert_eq!(groups.on_end(ClientOrderId(8)), Some(id));
        let done = groups.take_if_done(id).unwrap();
        assert!(matches!(done.verdict(), GroupVerdict::Unwind(_)));
        assert!(groups.is_empty());
        assert_eq!(groups.on_end(ClientOrderId(99)), None);
    }
}
