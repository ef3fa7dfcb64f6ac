//! Balances of one venue: per account, per asset, in integer atoms.
//!
//! Every trade moves value between accounts and never creates or destroys it, so for each
//! asset the sum of all balances stays equal to what the accounts started with:
//! - the **outside world** ([`OUTSIDE_WORLD`]) is the counterparty of every fill against the
//!   synthetic depth; it starts at zero and goes negative in whatever it has sold;
//! - the **fee account** ([`FEE_ACCOUNT`]) receives every fee.
//!
//! A `held` amount is reserved for resting orders; it is part of `total` and only limits what
//! new orders may spend (`available = total − held`).

use std::collections::BTreeMap;

use serde::Serialize;
use stage4_engine::domain::{AccountId, Amount, Asset};

/// The account standing for everyone outside the simulation (the synthetic liquidity).
pub const OUTSIDE_WORLD: AccountId = AccountId(u32::MAX);
/// The venue's fee income.
pub const FEE_ACCOUNT: AccountId = AccountId(u32::MAX - 1);

/// True for the ids the ledger reserves for itself.
pub fn is_reserved(account: AccountId) -> bool {
    account == OUTSIDE_WORLD || account == FEE_ACCOUNT
}

/// One account's position in one asset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Balance {
    /// Everything the account owns.
    pub total: Amount,
    /// The part reserved for resting orders.
    pub held: Amount,
}

impl Balance {
    /// What new orders may spend.
    pub fn available(&self) -> Amount {
        self.total - self.held
    }
}

/// The balances of one venue.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    balances: BTreeMap<(AccountId, Asset), Balance>,
    initial: BTreeMap<Asset, Amount>,
}

impl Ledger {
    /// Credits a starting balance (counts towards the conserved totals).
    pub fn deposit(&mut self, account: AccountId, asset: Asset, amount: Amount) {
        self.entry(account, asset).total += amount;
        *self.initial.entry(asset).or_default() += amount;
    }

    fn entry(&mut self, account: AccountId, asset: Asset) -> &mut Balance {
        self.balances.entry((account, asset)).or_default()
    }

    /// The balance of `account` in `asset` (zero if never touched).
    pub fn balance(&self, account: AccountId, asset: Asset) -> Balance {
        self.balances.get(&(account, asset)).copied().unwrap_or_default()
    }

    /// What `account` may spend in `asset`.
    #[inline]
    pub fn available(&self, account: AccountId, asset: Asset) -> Amount {
        self.balance(account, asset).available()
    }

    /// Moves `amount` of `asset` from one account to another.
    #[inline]
    pub fn transfer(&mut self, from: AccountId, to: AccountId, asset: Asset, amount: Amount) {
        if amount.is_zero() || from == to {
            return;
        }
        self.entry(from, asset).total -= amount;
        self.entry(to, asset).total += amount;
    }

    /// Reserves `amount` for a resting order.
    #[inline]
    pub fn hold(&mut self, account: AccountId, asset: Asset, amount: Amount) {
        if !amount.is_zero() {
            self.entry(account, asset).held += amount;
        }
    }

    /// Releases a reservation.
    #[inline]
    pub fn release(&mut self, account: AccountId, asset: Asset, amount: Amount) {
        if !amount.is_zero() {
            let b = self.entry(account, asset);
            b.held -= amount;
            debug_assert!(b.held >= Amount::ZERO, "released more than held");
        }
    }

    /// Every balance, ordered by (account, asset).
    pub fn iter(&self) -> impl Iterator<Item = (AccountId, Asset, Balance)> + '_ {
        self.balances.iter().map(|(&(a, s), &b)| (a, s, b))
    }

    /// Per asset: the sum of all totals minus what was deposited. Zero everywhere when value
    /// was conserved.
    pub fn conservation_error(&self) -> BTreeMap<Asset, Amount> {
        let mut sums: BTreeMap<Asset, Amount> = BTreeMap::new();
        for (&(_, asset), b) in &self.balances {
            *sums.entry(asset).or_default() += b.total;
        }
        for (asset, initial) in &self.initial {
            *sums.entry(*asset).or_default() -= *initial;
        }
        sums.retain(|_, v| !v.is_zero());
        sums
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfers_conserve_and_holds_limit_spending() {
        let usdt = Asset::new("USDT").unwrap();
        let alice = AccountId(1);
        let mut l = Ledger::default();
        l.deposit(alice, usdt, Amount::from_units(100));
        l.hold(alice, usdt, Amount::from_units(30));
        assert_eq!(l.available(alice, usdt), Amount::from_units(70));
        l.transfer(alice, OUTSIDE_WORLD, usdt, Amount::from_units(10));
        l.transfer(alice, FEE_ACCOUNT, usdt, Amount(7));
        l.release(alice, usdt, Amount::from_units(30));
        assert!(l.conservation_error().is_empty());
        assert_eq!(l.balance(OUTSIDE_WORLD, usdt).total, Amount::from_units(10));
        assert_eq!(l.available(alice, usdt), Amount::from_units(90) - Amount(7));
    }
}
