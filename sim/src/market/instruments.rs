//! Default instrument facts for common symbols: tick and lot sizes like the big spot venues
//! list them, a realistic starting price, volatility and book depth. Anything not in the
//! table gets the generic default, priced at 100 quote units.

use stage4_engine::domain::{Amount, InstrumentSpec, Qty, Symbol};

use crate::error::ConfigError;

/// What the simulator assumes about a symbol unless the config says otherwise.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SymbolDefaults {
    /// Tick size as a decimal string.
    pub tick: &'static str,
    /// Lot size as a decimal string.
    pub lot: &'static str,
    /// Starting price (quote units).
    pub start_price: f64,
    /// Volatility of the log price per √second.
    pub vol_per_sqrt_sec: f64,
    /// Notional resting at the best level of the synthetic book (quote units).
    pub top_notional: f64,
    /// Minimum order notional (quote units).
    pub min_notional: i64,
}

const GENERIC: SymbolDefaults = SymbolDefaults {
    tick: "0.01",
    lot: "0.001",
    start_price: 100.0,
    vol_per_sqrt_sec: 0.00018,
    top_notional: 20_000.0,
    min_notional: 10,
};

/// `(symbol, defaults)`, sorted by symbol.
const TABLE: &[(&str, SymbolDefaults)] = &[
    ("ADA_USDT", d("0.0001", "1", 0.45, 0.00018, 15_000.0)),
    ("AVAX_USDT", d("0.01", "0.01", 35.0, 0.00018, 15_000.0)),
    ("BNB_USDT", d("0.01", "0.001", 600.0, 0.00012, 30_000.0)),
    ("BTC_USDT", d("0.01", "0.0001", 60_000.0, 0.0001, 100_000.0)),
    ("DOGE_USDT", d("0.00001", "1", 0.15, 0.0002, 15_000.0)),
    ("DOT_USDT", d("0.001", "0.01", 7.0, 0.00018, 10_000.0)),
    ("ETH_USDT", d("0.01", "0.001", 3_000.0, 0.00013, 60_000.0)),
    ("LINK_USDT", d("0.001", "0.01", 15.0, 0.00018, 10_000.0)),
    ("LTC_USDT", d("0.01", "0.001", 80.0, 0.00015, 15_000.0)),
    ("SOL_USDT", d("0.01", "0.01", 150.0, 0.00016, 30_000.0)),
    ("TRX_USDT", d("0.00001", "1", 0.12, 0.00014, 10_000.0)),
    ("XRP_USDT", d("0.0001", "1", 0.6, 0.00016, 20_000.0)),
];

const fn d(
    tick: &'static str,
    lot: &'static str,
    start_price: f64,
    vol_per_sqrt_sec: f64,
    top_notional: f64,
) -> SymbolDefaults {
    SymbolDefaults {
        tick,
        lot,
        start_price,
        vol_per_sqrt_sec,
        top_notional,
        min_notional: 10,
    }
}

/// The defaults for `symbol` (the generic ones when it is not in the table).
pub fn defaults_for(symbol: Symbol) -> SymbolDefaults {
    TABLE
        .binary_search_by(|(name, _)| (*name).cmp(symbol.as_str()))
        .map(|i| TABLE[i].1)
        .unwrap_or(GENERIC)
}

/// The default spec of `symbol`: base/quote split by the reference's rule, tick and lot from
/// the table, minimum quantity one lot, minimum notional 10 quote units.
pub fn default_spec(symbol: Symbol) -> Result<InstrumentSpec, ConfigError> {
    let (base, quote) = symbol.split_assets().ok_or_else(|| ConfigError::Invalid {
        field: "symbols".into(),
        message: format!(
            "`{symbol}` does not end in a known quote asset (USDT, USDC, USD, EUR, BTC, ETH, PLN, GBP, CHF); write e.g. BTC_USDT"
        ),
    })?;
    let defaults = defaults_for(symbol);
    InstrumentSpec::new(
        symbol,
        base,
        quote,
        defaults.tick,
        defaults.lot,
        Qty(1),
        Amount::from_units(defaults.min_notional),
    )
    .map_err(|e| ConfigError::Invalid {
        field: format!("symbols.{symbol}"),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_every_spec_is_exact() {
        assert!(TABLE.windows(2).all(|w| w[0].0 < w[1].0));
        for (name, _) in TABLE {
            let spec = default_spec(Symbol::new(name).unwrap()).unwrap();
            assert!(spec.atoms_per_tick_lot() >= 1, "{name}");
        }
    }

    #[test]
    fn btc_and_eth_match_the_brief() {
        let btc = default_spec(Symbol::new("BTC_USDT").unwrap()).unwrap();
        assert_eq!((btc.tick_atoms, btc.lot_atoms), (1_000_000, 10_000));
        let eth = default_spec(Symbol::new("ETH_USDT").unwrap()).unwrap();
        assert_eq!((eth.tick_atoms, eth.lot_atoms), (1_000_000, 100_000));
        let other = defaults_for(Symbol::new("FOO_USDT").unwrap());
        assert_eq!(other.start_price, 100.0);
        assert!(default_spec(Symbol::new("FOOBAR").unwrap()).is_err());
    }
}
