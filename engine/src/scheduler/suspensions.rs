//! Suspensions of a schedule or of every schedule carrying a tag (engine.md §3.5).
//!
//! A suspension is active while `now < until` (forever without `until`). Expired records are
//! purged when the scheduler resolves or lists suspensions, and reported as auto-resumed so the
//! decision log records the transition.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::{SimDuration, SimTime};

/// When something an operator sets stops applying.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Expiry {
    /// Until removed.
    #[default]
    Never,
    /// At this instant.
    At(SimTime),
    /// This long after it is set (zero means never, as in the reference).
    After(SimDuration),
}

impl Expiry {
    /// The absolute expiry for something set at `now`.
    pub fn resolve(self, now: SimTime) -> Option<SimTime> {
        match self {
            Expiry::Never => None,
            Expiry::At(t) => Some(t),
            Expiry::After(d) if d.is_zero() => None,
            Expiry::After(d) => Some(now + d),
        }
    }
}

/// A request to suspend a schedule or a tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuspendRequest {
    /// Schedule or tag.
    pub scope: SuspensionScope,
    /// Its name.
    pub name: String,
    /// Why (blank becomes `manual`).
    pub reason: String,
    /// When it ends by itself.
    pub expiry: Expiry,
}

/// Whether a suspension targets one schedule or a tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SuspensionScope {
    /// One schedule by name.
    Schedule,
    /// Every schedule with the tag (or primary tag).
    Tag,
}

/// One suspension.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Suspension {
    /// Why (default `manual`).
    pub reason: String,
    /// When it was applied.
    pub applied_at: SimTime,
    /// When it ends by itself.
    pub until: Option<SimTime>,
    /// Where it came from when resolved for a schedule.
    pub origin: SuspensionScope,
    /// The tag, when it came from a tag.
    pub tag: Option<String>,
}

impl Suspension {
    /// True while active.
    pub fn is_active(&self, now: SimTime) -> bool {
        self.until.is_none_or(|u| now < u)
    }
}

/// A suspension that ended by itself, for logging.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AutoResumed {
    /// Schedule or tag.
    pub scope: SuspensionScope,
    /// Its name.
    pub name: String,
    /// The suspension that ended.
    pub suspension: Suspension,
}

/// All current suspensions.
#[derive(Clone, Debug, Default)]
pub struct Suspensions {
    schedules: BTreeMap<String, Suspension>,
    tags: BTreeMap<String, Suspension>,
}

/// The suspensions report (reference `suspension_snapshot`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SuspensionSnapshot {
    /// Suspended schedules.
    pub schedules: BTreeMap<String, Suspension>,
    /// Suspended tags.
    pub tags: BTreeMap<String, Suspension>,
    /// How many of each, and in total.
    pub counts: BTreeMap<&'static str, usize>,
    /// The soonest expiry: (scope, name, remaining seconds).
    pub next_expiration: Option<(SuspensionScope, String, f64)>,
}

impl Suspensions {
    /// True when nothing is suspended (the usual case: the scheduler checks this before every
    /// run and skips the purge and the lookup).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.schedules.is_empty() && self.tags.is_empty()
    }

    /// Suspends a schedule or tag and returns the record; a blank reason becomes `manual`.
    pub fn suspend(&mut self, now: SimTime, request: &SuspendRequest) -> Suspension {
        let reason = request.reason.trim();
        let record = Suspension {
            reason: if reason.is_empty() { "manual" } else { reason }.to_owned(),
            applied_at: now,
            until: request.expiry.resolve(now),
            origin: request.scope,
            tag: (request.scope == SuspensionScope::Tag).then(|| request.name.clone()),
        };
        self.map_mut(request.scope)
            .insert(request.name.clone(), record.clone());
        record
    }

    /// Lifts a suspension; returns it if there was one.
    pub fn resume(&mut self, scope: SuspensionScope, name: &str) -> Option<Suspension> {
        self.map_mut(scope).remove(name)
    }

    fn map_mut(&mut self, scope: SuspensionScope) -> &mut BTreeMap<String, Suspension> {
        match scope {
            SuspensionScope::Schedule => &mut self.schedules,
            SuspensionScope::Tag => &mut self.tags,
        }
    }

    /// Drops expired suspensions and returns them.
    pub fn purge_expired(&mut self, now: SimTime) -> Vec<AutoResumed> {
        let mut ended = Vec::new();
        if self.is_empty() {
            return ended;
        }
        for (scope, map) in [
            (SuspensionScope::Schedule, &mut self.schedules),
            (SuspensionScope::Tag, &mut self.tags),
        ] {
            let expired: Vec<String> = map
                .iter()
                .filter(|(_, s)| !s.is_active(now))
                .map(|(k, _)| k.clone())
                .collect();
            for name in expired {
                let suspension = map.remove(&name).expect("key listed above");
                ended.push(AutoResumed {
                    scope,
                    name,
                    suspension,
                });
            }
        }
        ended
    }

    /// The suspension that applies to a schedule, in the reference order: its own, then the
    /// first suspended tag of `tags`, then `primary_tag` if it is not among `tags`. A tag hit
    /// is reported with origin `Tag`.
    pub fn resolve(
        &self,
        now: SimTime,
        schedule: &str,
        tags: &[String],
        primary_tag: Option<&str>,
    ) -> Option<Suspension> {
        if let Some(s) = self.schedules.get(schedule).filter(|s| s.is_active(now)) {
            return Some(s.clone());
        }
        let primary = primary_tag.filter(|p| !tags.iter().any(|t| t == p));
        tags.iter()
            .map(String::as_str)
            .chain(primary)
            .find_map(|tag| {
                self.tags
                    .get(tag)
                    .filter(|s| s.is_active(now))
                    .map(|s| Suspension {
                        origin: SuspensionScope::Tag,
                        tag: Some(tag.to_owned()),
                        ..s.clone()
                    })
            })
    }

    /// Everything currently suspended.
    pub fn snapshot(&self, now: SimTime) -> SuspensionSnapshot {
        let next_expiration = [
            (SuspensionScope::Schedule, &self.schedules),
            (SuspensionScope::Tag, &self.tags),
        ]
        .into_iter()
        .flat_map(|(scope, map)| {
            map.iter()
                .filter_map(move |(name, s)| s.until.map(|u| (u, scope, name.clone())))
        })
        .min()
        .map(|(until, scope, name)| (scope, name, until.saturating_since(now).as_secs_f64()));
        SuspensionSnapshot {
            counts: BTreeMap::from([
                ("schedules", self.schedules.len()),
                ("tags", self.tags.len()),
                ("total", self.schedules.len() + self.tags.len()),
            ]),
            schedules: self.schedules.clone(),
            tags: self.tags.clone(),
            next_expiration,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: u64) -> SimTime {
        SimTime::from_unix_secs(secs)
    }

    fn req(scope: SuspensionScope, name: &str, reason: &str, expiry: Expiry) -> SuspendRequest {
        SuspendRequest {
            scope,
            name: name.to_owned(),
            reason: reason.to_owned(),
            expiry,
        }
    }

    #[test]
    fn resolution_order_is_schedule_then_tags_then_primary_tag() {
        let mut s = Suspensions::default();
        let tags = vec!["arbitrage".to_owned(), "liquidity".to_owned()];
        s.suspend(
            t(0),
            &req(SuspensionScope::Tag, "core", "maintenance", Expiry::Never),
        );
        let hit = s.resolve(t(1), "xex", &tags, Some("core")).unwrap();
        assert_eq!(
            (hit.origin, hit.tag.as_deref()),
            (SuspensionScope::Tag, Some("core"))
        );

        s.suspend(
            t(0),
            &req(
                SuspensionScope::Tag,
                "liquidity",
                "thin books",
                Expiry::Never,
            ),
        );
        let hit = s.resolve(t(1), "xex", &tags, Some("core")).unwrap();
        assert_eq!(
            hit.tag.as_deref(),
            Some("liquidity"),
            "listed tags before the primary tag"
        );

        s.suspend(
            t(0),
            &req(SuspensionScope::Schedule, "xex", "", Expiry::Never),
        );
        let hit = s.resolve(t(1), "xex", &tags, Some("core")).unwrap();
        assert_eq!(
            (hit.origin, hit.reason.as_str()),
            (SuspensionScope::Schedule, "manual")
        );
        assert!(s.resolve(t(1), "other", &[], None).is_none());
    }

    #[test]
    fn expiry_auto_resumes() {
        let mut s = Suspensions::default();
        s.suspend(
            t(0),
            &req(
                SuspensionScope::Schedule,
                "mr",
                "failover:feed",
                Expiry::After(SimDuration::from_secs(900)),
            ),
        );
        assert!(s.resolve(t(899), "mr", &[], None).is_some());
        assert!(s.resolve(t(900), "mr", &[], None).is_none());
        let snap = s.snapshot(t(100));
        assert_eq!(
            snap.next_expiration,
            Some((SuspensionScope::Schedule, "mr".to_owned(), 800.0))
        );
        let ended = s.purge_expired(t(900));
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].name, "mr");
        assert!(s.purge_expired(t(901)).is_empty());
        assert_eq!(s.snapshot(t(901)).counts["total"], 0);
    }
}
