//! Criterion benchmarks for stage4 live under `benches/`.
