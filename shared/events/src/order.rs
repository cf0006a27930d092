//! The rule that orders a resource's events (`docs/events.md`): each event of a resource
//! takes the next `resource_version`, with no gaps, so a subscriber applies an event
//! whose version is one more than the last it applied, drops one at or below it (a
//! duplicate), and holds back one further ahead until the missing one arrives.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

use crate::{Event, ResourceType};

/// What to do with an event, given what was applied of its resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The next event of its resource: apply it.
    Apply,
    /// At or below what was applied: a duplicate (or older). Acknowledge it, apply
    /// nothing.
    Seen,
    /// Further ahead than the next: an earlier event of the resource has not been
    /// applied yet (redelivered, retried). Hold it back (`Nak` with a delay).
    Early {
        /// The version that is next.
        expected: i64,
    },
}

/// The verdict for an event at `version` when `last` was applied (`None`: nothing of
/// the resource yet, so its first event, version 1, is next).
pub fn verdict(last: Option<i64>, version: i64) -> Verdict {
    let expected = last.unwrap_or(0) + 1;
    match version.cmp(&expected) {
        std::cmp::Ordering::Equal => Verdict::Apply,
        std::cmp::Ordering::Less => Verdict::Seen,
        std::cmp::Ordering::Greater => Verdict::Early { expected },
    }
}

/// A resource's events are numbered within its type: (type, id).
pub type ResourceKey = (ResourceType, Uuid);

/// The last version applied of each resource: the rule's memory. Keep it where the
/// subscriber keeps what it applies, written with each event applied: as this value
/// (it serializes), or as rows of your own given back with [`Positions::seed`] (as a
/// snapshot seeds it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(into = "Saved", from = "Saved")]
pub struct Positions {
    last: HashMap<ResourceKey, i64>,
    /// Start from now: the first event seen of a resource sets where it stands.
    from_now: bool,
}

impl Positions {
    /// For a subscriber that starts at the beginning of the stream, or from a snapshot.
    pub fn new() -> Positions {
        Positions::default()
    }

    /// For a subscriber that starts with new events only and does not need what came
    /// before: the first event it sees of each resource is applied whatever its version.
    pub fn from_now() -> Positions {
        Positions {
            from_now: true,
            ..Positions::default()
        }
    }

    /// Where a resource stands, from a snapshot.
    pub fn seed(&mut self, resource: ResourceKey, version: i64) {
        self.last.insert(resource, version);
    }

    /// No resource's position is known (and not [`Positions::from_now`]).
    pub fn is_empty(&self) -> bool {
        self.last.is_empty() && !self.from_now
    }

    /// The last version applied of a resource, if any.
    pub fn last(&self, resource: ResourceKey) -> Option<i64> {
        self.last.get(&resource).copied()
    }

    /// What to do with `event` ([`verdict`], or apply it when starting from now).
    pub fn verdict(&self, event: &Event) -> Verdict {
        let last = self.last(key(event));
        if last.is_none() && self.from_now {
            return Verdict::Apply;
        }
        verdict(last, event.resource_version)
    }

    /// Records that `event` was applied.
    pub fn applied(&mut self, event: &Event) {
        let entry = self.last.entry(key(event)).or_default();
        *entry = (*entry).max(event.resource_version);
    }
}

/// [`Positions`] as it serializes: a list, since JSON keys are strings.
#[derive(Serialize, Deserialize)]
struct Saved {
    #[serde(default)]
    from_now: bool,
    resources: Vec<(ResourceType, Uuid, i64)>,
}

impl From<Positions> for Saved {
    fn from(p: Positions) -> Saved {
        let mut resources: Vec<_> = p.last.into_iter().map(|((t, id), v)| (t, id, v)).collect();
        resources.sort_unstable();
        Saved {
            from_now: p.from_now,
            resources,
        }
    }
}

impl From<Saved> for Positions {
    fn from(s: Saved) -> Positions {
        Positions {
            last: s
                .resources
                .into_iter()
                .map(|(t, id, v)| ((t, id), v))
                .collect(),
            from_now: s.from_now,
        }
    }
}

pub(crate) fn key(event: &Event) -> ResourceKey {
    (event.resource_type, event.resource_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Action;

    fn event(version: i64) -> Event {
        Event::new(
            Uuid::nil(),
            ResourceType::Group,
            Uuid::from_u128(7),
            Action::MembersAdded,
            version,
            serde_json::json!({}),
            None,
        )
    }

    #[test]
    fn the_next_version_applies_older_ones_are_seen_later_ones_wait() {
        assert_eq!(verdict(None, 1), Verdict::Apply);
        assert_eq!(verdict(Some(3), 4), Verdict::Apply);
        assert_eq!(verdict(Some(3), 3), Verdict::Seen);
        assert_eq!(verdict(Some(3), 1), Verdict::Seen);
        assert_eq!(verdict(Some(3), 6), Verdict::Early { expected: 4 });
        assert_eq!(verdict(None, 2), Verdict::Early { expected: 1 });
    }

    #[test]
    fn a_reordered_delivery_applies_every_event_once_in_order() {
        // Delivered 1, 3, 2, 2, 4 (3 early, then 2 redelivered twice).
        let mut p = Positions::new();
        let mut applied = Vec::new();
        let mut held = Vec::new();
        for v in [1, 3, 2, 2, 4] {
            let mut queue = vec![event(v)];
            while let Some(e) = queue.pop() {
                match p.verdict(&e) {
                    Verdict::Apply => {
                        p.applied(&e);
                        applied.push(e.resource_version);
                        // What was held back may be next now.
                        queue.append(&mut held);
                    }
                    Verdict::Seen => {}
                    Verdict::Early { .. } => held.push(e),
                }
            }
        }
        assert_eq!(applied, [1, 2, 3, 4]);
        assert!(held.is_empty());
    }

    #[test]
    fn positions_kept_as_json_come_back_the_same() {
        let mut p = Positions::new();
        assert!(p.is_empty());
        p.applied(&event(1));
        p.seed((ResourceType::User, Uuid::from_u128(3)), 9);
        let text = serde_json::to_string(&p).unwrap();
        let back: Positions = serde_json::from_str(&text).unwrap();
        assert_eq!(back, p);
        assert_eq!(back.verdict(&event(2)), Verdict::Apply);
        assert!(
            !Positions::from_now().is_empty(),
            "from now is a position too"
        );
    }

    #[test]
    fn from_now_takes_each_resource_where_it_first_finds_it() {
        let mut p = Positions::from_now();
        assert_eq!(p.verdict(&event(40)), Verdict::Apply);
        p.applied(&event(40));
        assert_eq!(p.verdict(&event(42)), Verdict::Early { expected: 41 });
        let mut seeded = Positions::new();
        seeded.seed((ResourceType::Group, Uuid::from_u128(7)), 40);
        assert_eq!(seeded.verdict(&event(41)), Verdict::Apply);
    }
}
