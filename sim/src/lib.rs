//! # stage4-sim: the deterministic world Stage4 runs in
//!
//! Clock, seeded RNG streams, the event queue, market generators and replay, the exchange
//! simulator and fault injection. Implements the engine's ports
//! ([`stage4_engine::ports`]).
