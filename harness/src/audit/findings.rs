//! The findings recorder every check-based audit writes into: checks that ran (passing ones
//! too, for JUnit), issues and warnings, each `(check, message)` recorded once.

use std::path::Path;

use stage4_reports::findings::{CheckRun, Finding};

/// Collects checks and findings in evaluation order.
#[derive(Debug, Default)]
pub struct Recorder {
    checks: Vec<CheckRun>,
    issues: Vec<Finding>,
    warnings: Vec<Finding>,
}

impl Recorder {
    /// Registers check `id` (once; later calls keep the first title and location).
    pub fn check(&mut self, id: &str, title: &str) {
        self.check_located(id, title, None);
    }

    /// Registers check `id` about the file `location`.
    pub fn check_at(&mut self, id: &str, title: &str, location: &Path) {
        self.check_located(id, title, Some(location.display().to_string()));
    }

    fn check_located(&mut self, id: &str, title: &str, location: Option<String>) {
        if !self.checks.iter().any(|c| c.id == id) {
            self.checks.push(CheckRun {
                id: id.to_owned(),
                title: title.to_owned(),
                location,
            });
        }
    }

    /// Records an issue (fails the audit).
    pub fn issue(&mut self, id: &str, message: impl Into<String>) {
        self.check(id, id);
        push_once(&mut self.issues, id, message.into());
    }

    /// Records a warning.
    pub fn warn(&mut self, id: &str, message: impl Into<String>) {
        self.check(id, id);
        push_once(&mut self.warnings, id, message.into());
    }

    /// Records an issue, or a warning when `soft`.
    pub fn issue_or_warn(&mut self, soft: bool, id: &str, message: impl Into<String>) {
        if soft {
            self.warn(id, message);
        } else {
            self.issue(id, message);
        }
    }

    /// Whether any issue was recorded under `id`.
    pub fn has_issue(&self, id: &str) -> bool {
        self.issues.iter().any(|f| f.check == id)
    }

    /// The checks, issues and warnings.
    pub fn finish(self) -> (Vec<CheckRun>, Vec<Finding>, Vec<Finding>) {
        (self.checks, self.issues, self.warnings)
    }
}

fn push_once(list: &mut Vec<Finding>, check: &str, message: String) {
    if !list
        .iter()
        .any(|f| f.check == check && f.message == message)
    {
        list.push(Finding {
            check: check.to_owned(),
            message,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_are_recorded_once_and_register_their_check() {
        let mut r = Recorder::default();
        r.check("a", "check a");
        r.issue("b", "broken");
        r.issue("b", "broken");
        r.issue("b", "also broken");
        r.warn("a", "meh");
        r.issue_or_warn(true, "c", "soft");
        let (checks, issues, warnings) = r.finish();
        let ids: Vec<_> = checks.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(checks[0].title, "check a");
        assert_eq!(issues.len(), 2);
        assert_eq!(warnings.len(), 2);
    }
}
