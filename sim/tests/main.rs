//! Integration tests of stage4-sim, one binary.

/// Builders shared by the test modules.
mod support;

/// Same seed ⇒ same digest; label forking keeps existing paths when venues are added.
mod determinism;
/// The driver contract: timers, step limits, submissions in the past or the future.
mod driver;
/// One test per fault kind, showing its effect.
mod faults;
/// Market realism: cross-venue spreads open and close; replay drives the exchange.
mod market;
/// Matching invariants (proptest over random order streams) and reject reasons.
mod matching;
