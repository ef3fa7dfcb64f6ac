//! Criterion benchmarks for stage4 live under `benches/`; this library holds what several of
//! them share.

/// The ten USDT pairs the market-scale benches (`sim_market`, `engine_step`) run on.
pub const TEN_SYMBOLS: [&str; 10] = [
    "BTC_USDT",
    "ETH_USDT",
    "SOL_USDT",
    "BNB_USDT",
    "XRP_USDT",
    "ADA_USDT",
    "DOGE_USDT",
    "LTC_USDT",
    "DOT_USDT",
    "LINK_USDT",
];
