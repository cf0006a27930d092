//! The mass-deprovisioning hold: the day an identity provider is wrong (an app unassigned
//! from "Everyone", a scoping filter edited), it deactivates or deletes a large part of a
//! directory within minutes. Past a directory's threshold within a rolling hour, the
//! product keeps the rest of those members active ("held") until someone applies or
//! keeps the held changes. This is the rule; the worker counts and holds.

/// How long the deprovisionings that count toward the threshold are remembered.
pub const WINDOW_MINUTES: i64 = 60;

/// A directory's threshold: a deprovisioning is held when the hour's deprovisionings
/// would be more than `min_members` **and** more than `share_percent` % of the members
/// who were active at the start of the hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub min_members: u32,
    pub share_percent: u32,
}

impl Policy {
    /// What every directory starts with: more than 10 members and more than 10 %.
    pub const DEFAULT: Policy = Policy {
        min_members: 10,
        share_percent: 10,
    };

    /// A policy as an admin sets it: a share of 1 to 100 %, at most 2^31 - 1 members.
    pub fn new(min_members: u32, share_percent: u32) -> Result<Policy, String> {
        if i32::try_from(min_members).is_err() {
            return Err(format!("min_members must be at most {}", i32::MAX));
        }
        if !(1..=100).contains(&share_percent) {
            return Err(format!(
                "share_percent must be 1 to 100, not {share_percent}"
            ));
        }
        Ok(Policy {
            min_members,
            share_percent,
        })
    }

    /// How many deprovisionings an hour may hold before the rest are held, for a
    /// directory whose members active at the start of the hour were `active_before`.
    pub fn threshold(self, active_before: u64) -> u64 {
        let share = active_before * u64::from(self.share_percent) / 100;
        share.max(u64::from(self.min_members))
    }
}

/// Of `candidates` new deprovisionings, how many may take effect now: the rest are held.
/// `recent` were applied within the window, `active` members are active now (so
/// `active + recent` were active when the window began). With no policy (the hold is
/// off) all may.
pub fn allowed(policy: Option<Policy>, active: u64, recent: u64, candidates: u64) -> u64 {
    match policy {
        None => candidates,
        Some(p) => p
            .threshold(active + recent)
            .saturating_sub(recent)
            .min(candidates),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mass_deactivation_takes_effect_up_to_the_threshold() {
        let p = Some(Policy::DEFAULT);
        // 60 % of a 200-member directory at once: 10 % of 200 = 20 take effect.
        assert_eq!(allowed(p, 200, 0, 120), 20);
        // A small directory: the member floor (10) is the threshold.
        assert_eq!(allowed(p, 40, 0, 30), 10);
        // Ordinary offboarding stays below it.
        assert_eq!(allowed(p, 200, 3, 2), 2);
        // The hour's earlier deprovisionings count: 15 of 20 already spent.
        assert_eq!(allowed(p, 185, 15, 10), 5);
        // Spent: everything new is held.
        assert_eq!(allowed(p, 180, 20, 1), 0);
        assert_eq!(allowed(p, 150, 50, 1), 0);
    }

    #[test]
    fn the_hold_off_lets_everything_through() {
        assert_eq!(allowed(None, 200, 500, 120), 120);
    }

    #[test]
    fn both_conditions_must_be_passed() {
        // More than 10 members but not more than 50 % of 100: no hold until 50.
        let p = Policy::new(10, 50).unwrap();
        assert_eq!(p.threshold(100), 50);
        // More than 50 % of 10 but not more than 10 members.
        assert_eq!(p.threshold(10), 10);
    }

    #[test]
    fn a_share_outside_1_to_100_is_refused() {
        assert!(Policy::new(10, 0).is_err());
        assert!(Policy::new(10, 101).is_err());
        // Stored as a Postgres integer.
        assert!(Policy::new(1 << 31, 10).is_err());
        assert!(Policy::new(i32::MAX as u32, 10).is_ok());
        assert_eq!(
            Policy::new(0, 100),
            Ok(Policy {
                min_members: 0,
                share_percent: 100
            })
        );
    }
}
