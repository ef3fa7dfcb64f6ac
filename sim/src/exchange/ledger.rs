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
//!
//! Storage is a table: accounts are rows (found through an ordered map once per order) and
//! assets are columns interned when first seen, so the matching engine moves money with plain
//! indexing. Public reads go by `(AccountId, Asset)` and iterate in that order.

use std::collections::BTreeMap;

use serde::Serialize;
use stage4_engine::domain::{AccountId, Amount, Asset};

/// The account standing for everyone outside the simulation (the synthetic liquidity).
pub const OUTSIDE_WORLD: AccountId = AccountId(u32::MAX);
/// The venue's fee income.
pub const FEE_ACCOUNT: AccountId = AccountId(u32::MAX - 1);

/// Row of [`OUTSIDE_WORLD`] in every ledger.
pub(crate) const OUTSIDE_ROW: usize = 0;
/// Row of [`FEE_ACCOUNT`] in every ledger.
pub(crate) const FEE_ROW: usize = 1;

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
#[derive(Clone, Debug)]
pub struct Ledger {
    assets: Vec<Asset>,
    rows_by_account: BTreeMap<AccountId, usize>,
    rows: Vec<Vec<Option<Balance>>>,
    initial: Vec<Amount>,
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger::new()
    }
}

impl Ledger {
    /// An empty ledger with the outside-world and fee accounts.
    pub fn new() -> Ledger {
        let mut ledger = Ledger {
            assets: Vec::new(),
            rows_by_account: BTreeMap::new(),
            rows: Vec::new(),
            initial: Vec::new(),
        };
        assert_eq!(ledger.row(OUTSIDE_WORLD), OUTSIDE_ROW);
        assert_eq!(ledger.row(FEE_ACCOUNT), FEE_ROW);
        ledger
    }

    /// The column of `asset`, added when new.
    pub(crate) fn asset_index(&mut self, asset: Asset) -> usize {
        match self.assets.iter().position(|a| *a == asset) {
            Some(i) => i,
            None => {
                self.assets.push(asset);
                self.initial.push(Amount::ZERO);
                self.assets.len() - 1
            }
        }
    }

    /// The row of `account`, added when new.
    #[inline]
    pub(crate) fn row(&mut self, account: AccountId) -> usize {
        if let Some(&row) = self.rows_by_account.get(&account) {
            return row;
        }
        self.rows.push(Vec::new());
        let row = self.rows.len() - 1;
        self.rows_by_account.insert(account, row);
        row
    }

    /// The number of rows (for tables kept beside the ledger).
    pub(crate) fn rows(&self) -> usize {
        self.rows.len()
    }

    #[inline]
    fn cell(&mut self, row: usize, asset: usize) -> &mut Balance {
        let cells = &mut self.rows[row];
        if cells.len() <= asset {
            cells.resize(asset + 1, None);
        }
        cells[asset].get_or_insert_with(Balance::default)
    }

    #[inline]
    fn peek(&self, row: usize, asset: usize) -> Balance {
        self.rows[row]
            .get(asset)
            .copied()
            .flatten()
            .unwrap_or_default()
    }

    /// Credits a starting balance (counts towards the conserved totals).
    pub fn deposit(&mut self, account: AccountId, asset: Asset, amount: Amount) {
        let (row, col) = (self.row(account), self.asset_index(asset));
        self.cell(row, col).total += amount;
        self.initial[col] += amount;
    }

    /// The balance of `account` in `asset` (zero if never touched).
    pub fn balance(&self, account: AccountId, asset: Asset) -> Balance {
        let row = self.rows_by_account.get(&account);
        let col = self.assets.iter().position(|a| *a == asset);
        match (row, col) {
            (Some(&row), Some(col)) => self.peek(row, col),
            _ => Balance::default(),
        }
    }

    /// What `account` may spend in `asset`.
    pub fn available(&self, account: AccountId, asset: Asset) -> Amount {
        self.balance(account, asset).available()
    }

    /// What row `row` may spend in column `asset`.
    #[inline]
    pub(crate) fn available_at(&self, row: usize, asset: usize) -> Amount {
        self.peek(row, asset).available()
    }

    /// Moves `amount` of column `asset` from one row to another.
    #[inline]
    pub(crate) fn transfer_at(&mut self, from: usize, to: usize, asset: usize, amount: Amount) {
        if amount.is_zero() || from == to {
            return;
        }
        self.cell(from, asset).total -= amount;
        self.cell(to, asset).total += amount;
    }

    /// Reserves `amount` for a resting order.
    #[inline]
    pub(crate) fn hold_at(&mut self, row: usize, asset: usize, amount: Amount) {
        if !amount.is_zero() {
            self.cell(row, asset).held += amount;
        }
    }

    /// Releases a reservation.
    #[inline]
    pub(crate) fn release_at(&mut self, row: usize, asset: usize, amount: Amount) {
        if !amount.is_zero() {
            let b = self.cell(row, asset);
            b.held -= amount;
            debug_assert!(b.held >= Amount::ZERO, "released more than held");
        }
    }

    /// Moves `amount` of `asset` between accounts (set-up and tests; trading uses rows).
    pub fn transfer(&mut self, from: AccountId, to: AccountId, asset: Asset, amount: Amount) {
        let (f, t, col) = (self.row(from), self.row(to), self.asset_index(asset));
        self.transfer_at(f, t, col, amount);
    }

    /// Every balance ever touched, ordered by (account, asset).
    pub fn iter(&self) -> impl Iterator<Item = (AccountId, Asset, Balance)> + '_ {
        let mut columns: Vec<(Asset, usize)> = self.assets.iter().copied().zip(0..).collect();
        columns.sort();
        self.rows_by_account
            .iter()
            .flat_map(move |(&account, &row)| {
                let cells = &self.rows[row];
                columns.clone().into_iter().filter_map(move |(asset, col)| {
                    cells
                        .get(col)
                        .copied()
                        .flatten()
                        .map(|b| (account, asset, b))
                })
            })
    }

    /// Per asset: the sum of all totals minus what was deposited. Empty when value was
    /// conserved.
    pub fn conservation_error(&self) -> BTreeMap<Asset, Amount> {
        let mut errors = BTreeMap::new();
        for (col, asset) in self.assets.iter().enumerate() {
            let sum = self.rows.iter().fold(Amount::ZERO, |acc, cells| {
                acc + cells
                    .get(col)
                    .copied()
                    .flatten()
                    .map(|b| b.total)
                    .unwrap_or_default()
            });
            let error = sum - self.initial[col];
            if !error.is_zero() {
                errors.insert(*asset, error);
            }
        }
        errors
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
        let (row, col) = (l.row(alice), l.asset_index(usdt));
        l.hold_at(row, col, Amount::from_units(30));
        assert_eq!(l.available(alice, usdt), Amount::from_units(70));
        l.transfer(alice, OUTSIDE_WORLD, usdt, Amount::from_units(10));
        l.transfer(alice, FEE_ACCOUNT, usdt, Amount(7));
        l.release_at(row, col, Amount::from_units(30));
        assert!(l.conservation_error().is_empty());
        assert_eq!(l.balance(OUTSIDE_WORLD, usdt).total, Amount::from_units(10));
        assert_eq!(l.available(alice, usdt), Amount::from_units(90) - Amount(7));
        let listed: Vec<AccountId> = l.iter().map(|(a, _, _)| a).collect();
        assert_eq!(listed, [alice, FEE_ACCOUNT, OUTSIDE_WORLD]);
    }
}
