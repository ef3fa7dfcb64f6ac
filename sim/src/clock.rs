//! The simulation clock: the time of the event being processed. It only moves forward, and
//! only when the event loop (or a caller acting between two deliveries) says so.

use stage4_engine::domain::SimTime;

/// Monotonic simulated time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimClock {
    now: SimTime,
}

impl SimClock {
    /// A clock reading `start`.
    pub fn new(start: SimTime) -> SimClock {
        SimClock { now: start }
    }

    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Moves to `to`. Panics if `to` is earlier: time running backwards is a bug in the caller.
    pub fn advance_to(&mut self, to: SimTime) {
        assert!(
            to >= self.now,
            "SimClock cannot go back from {} to {}",
            self.now,
            to
        );
        self.now = to;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_forward_only() {
        let mut c = SimClock::new(SimTime::from_unix_secs(10));
        c.advance_to(SimTime::from_unix_secs(10));
        c.advance_to(SimTime::from_unix_secs(11));
        assert_eq!(c.now(), SimTime::from_unix_secs(11));
        let back = std::panic::catch_unwind(move || c.advance_to(SimTime::from_unix_secs(5)));
        assert!(back.is_err());
    }
}
