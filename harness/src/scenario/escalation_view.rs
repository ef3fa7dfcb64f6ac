//! The escalations a run triggered, as the expectations read them: which support level was
//! engaged when.

use stage4_engine::domain::SimTime;

/// Support levels in escalation order.
pub const LEVELS: [&str; 4] = ["L1", "L2", "tech_lead", "incident_manager"];

/// Escalations in time order: `(when, level)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Escalations {
    /// `(when, level)`, time-ordered.
    pub reached: Vec<(SimTime, String)>,
}

impl Escalations {
    /// Position of a level in [`LEVELS`] (unknown levels rank lowest).
    pub fn rank(&self, level: &str) -> usize {
        LEVELS.iter().position(|l| *l == level).map_or(0, |p| p + 1)
    }

    /// The highest level reached at or before `by`.
    pub fn highest_by(&self, by: SimTime) -> Option<String> {
        self.reached
            .iter()
            .filter(|(at, _)| *at <= by)
            .max_by_key(|(_, level)| self.rank(level))
            .map(|(_, level)| level.clone())
    }

    /// When `level` (or a higher one) was first reached.
    pub fn first_reaching(&self, level: &str) -> Option<SimTime> {
        let want = self.rank(level);
        self.reached
            .iter()
            .find(|(_, l)| self.rank(l) >= want)
            .map(|(at, _)| *at)
    }
}
