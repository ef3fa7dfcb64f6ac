//! How long a schedule's run takes. The scheduler never reads a clock; a [`RunTimer`] tells it.
//!
//! In a scenario the [`SimulatedCompute`] model says how much simulated time a run costs (a
//! small deterministic base plus any injected strategy-latency fault); the load test supplies a
//! wall-clock timer. Either way the scheduler derives `latency_ms`, the worker's busy time and
//! therefore the lateness (drift) of the runs queued behind it.

use crate::domain::{SimDuration, SimTime};

/// Brackets one schedule run.
pub trait RunTimer {
    /// The run of `schedule` starts at `at` (simulated time).
    fn begin(&mut self, schedule: &str, at: SimTime);
    /// The run ends after emitting `signals` signals; returns its duration.
    fn end(&mut self, schedule: &str, signals: usize) -> SimDuration;
}

/// Extra compute time for one schedule over an interval (a `strategy_latency` fault).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComputeSpike {
    /// The schedule slowed down.
    pub schedule: String,
    /// First instant a run starting at it is slowed.
    pub from: SimTime,
    /// First instant after the fault.
    pub until: SimTime,
    /// Added to every run that starts in `[from, until)`.
    pub extra: SimDuration,
}

/// Deterministic simulated compute cost: `base + per_signal × signals + Σ active spikes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimulatedCompute {
    /// Cost of every run.
    pub base: SimDuration,
    /// Cost per emitted signal.
    pub per_signal: SimDuration,
    /// Injected slow-downs.
    pub spikes: Vec<ComputeSpike>,
    started: Option<SimTime>,
}

impl SimulatedCompute {
    /// A model with the given base costs and no spikes.
    pub fn new(base: SimDuration, per_signal: SimDuration) -> SimulatedCompute {
        SimulatedCompute {
            base,
            per_signal,
            spikes: Vec::new(),
            started: None,
        }
    }

    /// Adds a spike.
    pub fn add_spike(&mut self, spike: ComputeSpike) {
        self.spikes.push(spike);
    }
}

impl Default for SimulatedCompute {
    /// 2 ms per run and 50 µs per signal: the order of magnitude of the reference's load test
    /// (engine.md §12.4, ~2 ms of strategy work per run).
    fn default() -> Self {
        SimulatedCompute::new(SimDuration::from_millis(2), SimDuration::from_micros(50))
    }
}

impl RunTimer for SimulatedCompute {
    fn begin(&mut self, _schedule: &str, at: SimTime) {
        self.started = Some(at);
    }

    fn end(&mut self, schedule: &str, signals: usize) -> SimDuration {
        let at = self.started.take().expect("RunTimer::end without begin");
        let extra = self
            .spikes
            .iter()
            .filter(|s| s.schedule == schedule && s.from <= at && at < s.until)
            .fold(SimDuration::ZERO, |acc, s| acc + s.extra);
        let per_signal = self
            .per_signal
            .checked_mul(signals as u64)
            .unwrap_or(SimDuration::MAX);
        self.base + per_signal + extra
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spikes_apply_to_their_schedule_and_interval_only() {
        let mut c = SimulatedCompute::default();
        c.add_spike(ComputeSpike {
            schedule: "mr".into(),
            from: SimTime::from_unix_secs(100),
            until: SimTime::from_unix_secs(200),
            extra: SimDuration::from_millis(300),
        });
        let run = |c: &mut SimulatedCompute, name: &str, at: u64, signals| {
            c.begin(name, SimTime::from_unix_secs(at));
            c.end(name, signals).as_millis_f64()
        };
        assert_eq!(run(&mut c, "mr", 99, 0), 2.0);
        assert_eq!(run(&mut c, "mr", 100, 2), 302.1);
        assert_eq!(run(&mut c, "arb", 150, 0), 2.0);
        assert_eq!(run(&mut c, "mr", 200, 0), 2.0);
    }
}
