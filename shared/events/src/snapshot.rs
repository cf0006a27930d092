//! A directory's snapshot, for a subscriber that starts on a directory older than the
//! event stream keeps: its users, groups, memberships, teams and team members, one JSON
//! line each (`GET /admin/v1/directories/{id}/snapshot`, `scimctl directory snapshot`),
//! stamped with the stream sequence it is consistent with. Load it, then consume from
//! the sequence after that one with the positions it gives: nothing is missed, and
//! nothing is applied twice (an event the snapshot already holds is at or below its
//! resource's position).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::copy::DirectoryCopy;
use crate::{Positions, ResourceType};

/// One line of a snapshot, in this order: the header, the directory, its users, its
/// groups, the groups' members, its teams, their members, the events it holds that are
/// not in the stream up to the header's sequence yet, and the end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "snapshot", rename_all = "snake_case")]
pub enum Line {
    /// The first line: what the snapshot is of, and where the stream takes over.
    Header {
        /// [`crate::CONTRACT_VERSION`].
        contract_version: u32,
        /// The directory.
        directory_id: Uuid,
        /// The stream the snapshot is consistent with (`SCIM_EVENTS`)...
        stream: String,
        /// ...up to this sequence: consume from the one after it.
        start_after_sequence: u64,
        /// When it was taken.
        #[serde(with = "time::serde::rfc3339")]
        taken_at: OffsetDateTime,
    },
    /// The directory as `directory.*` events show it.
    Directory {
        /// The directory.
        resource: Value,
        /// Its version: its next event is the one after.
        resource_version: i64,
    },
    /// A user's SCIM representation.
    User {
        /// The user.
        resource: Value,
        /// Its version: its next event is the one after.
        resource_version: i64,
    },
    /// A group's SCIM representation, without members.
    Group {
        /// The group.
        resource: Value,
        /// Its version: its next event is the one after.
        resource_version: i64,
    },
    /// Members of a group, at most 1,000 a line.
    Members {
        /// The group.
        group_id: Uuid,
        /// Some of its members' SCIM user ids.
        member_ids: Vec<Uuid>,
    },
    /// A team as `team.created` shows it (`{id, name, groups}`).
    Team {
        /// The team.
        resource: Value,
        /// Its version: its next event is the one after.
        resource_version: i64,
    },
    /// A membership of a team (`member` as team events show it), with its source and
    /// whether it is suspended (its member deactivated).
    TeamMember {
        /// The team.
        team_id: Uuid,
        /// `{id, scim_user_id, email}`.
        member: Value,
        /// `provisioned` or `manual`.
        source: String,
        /// Held but not in effect: the member is not active.
        suspended: bool,
    },
    /// An event of the directory that the snapshot holds but that was not in the
    /// stream up to the header's sequence: it comes later, and is to be skipped.
    Pending {
        /// The event's resource type.
        resource_type: ResourceType,
        /// The event's resource.
        resource_id: Uuid,
        /// The event's version, which the snapshot already holds.
        resource_version: i64,
    },
    /// The last line, with the number of lines before it: a snapshot without it was cut.
    End {
        /// The lines before it.
        lines: u64,
    },
}

/// A loaded snapshot: the copy, where each resource stands, and where to start reading.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// The directory the snapshot is of.
    pub directory_id: Uuid,
    /// The directory's users, groups and memberships.
    pub copy: DirectoryCopy,
    /// Where each resource stands: apply the ordering rule from here.
    pub positions: Positions,
    /// Consume the stream from the sequence after this one.
    pub start_after_sequence: u64,
}

#[derive(Debug, thiserror::Error)]
/// Why a snapshot could not be loaded: take it again.
pub enum LoadError {
    #[error("line {0}: {1}")]
    /// A line that is no line of a snapshot: its number, and why.
    Line(u64, String),
    #[error("the snapshot has no header")]
    /// The first line is not the header.
    NoHeader,
    #[error("the snapshot was cut short after {0} lines")]
    /// The `end` line is missing or counts other lines than came: the lines read.
    Truncated(u64),
}

/// Loads a snapshot's lines (JSON text each).
pub fn load<S: AsRef<str>>(lines: impl IntoIterator<Item = S>) -> Result<Loaded, LoadError> {
    let mut loaded = Loaded::default();
    let mut seen = 0u64;
    let mut header = false;
    for text in lines {
        let text = text.as_ref();
        if text.trim().is_empty() {
            continue;
        }
        let line: Line =
            serde_json::from_str(text).map_err(|e| LoadError::Line(seen + 1, e.to_string()))?;
        let id = |resource: &Value| {
            resource["id"]
                .as_str()
                .and_then(|i| Uuid::try_parse(i).ok())
                .ok_or_else(|| LoadError::Line(seen + 1, "a resource without an id".into()))
        };
        match &line {
            Line::Header {
                start_after_sequence,
                directory_id,
                ..
            } => {
                header = true;
                loaded.directory_id = *directory_id;
                loaded.start_after_sequence = *start_after_sequence;
            }
            Line::End { lines } if *lines == seen => return Ok(loaded),
            Line::End { .. } => return Err(LoadError::Truncated(seen)),
            _ if !header => return Err(LoadError::NoHeader),
            Line::Directory {
                resource,
                resource_version,
            } => loaded
                .positions
                .seed((ResourceType::Directory, id(resource)?), *resource_version),
            Line::User {
                resource,
                resource_version,
            } => {
                let user = id(resource)?;
                loaded
                    .positions
                    .seed((ResourceType::User, user), *resource_version);
                loaded.copy.load_user(user, resource);
            }
            Line::Group {
                resource,
                resource_version,
            } => {
                let group = id(resource)?;
                loaded
                    .positions
                    .seed((ResourceType::Group, group), *resource_version);
                loaded.copy.load_group(group, resource);
            }
            Line::Members {
                group_id,
                member_ids,
            } => loaded.copy.load_members(*group_id, member_ids),
            Line::Team {
                resource,
                resource_version,
            } => loaded
                .positions
                .seed((ResourceType::Team, id(resource)?), *resource_version),
            Line::TeamMember { .. } => {}
            Line::Pending {
                resource_type,
                resource_id,
                resource_version,
            } => {
                let key = (*resource_type, *resource_id);
                let at = loaded
                    .positions
                    .last(key)
                    .unwrap_or(0)
                    .max(*resource_version);
                loaded.positions.seed(key, at);
            }
        }
        seen += 1;
    }
    Err(LoadError::Truncated(seen))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lines(body: &[Line]) -> Vec<String> {
        body.iter()
            .map(|l| serde_json::to_string(l).unwrap())
            .collect()
    }

    #[test]
    fn a_snapshot_seeds_the_copy_and_the_positions_and_must_be_whole() {
        let (user, group) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let gone = Uuid::from_u128(3);
        let body = [
            Line::Header {
                contract_version: 1,
                directory_id: Uuid::nil(),
                stream: "SCIM_EVENTS".into(),
                start_after_sequence: 41,
                taken_at: OffsetDateTime::UNIX_EPOCH,
            },
            Line::User {
                resource: json!({"id": user, "userName": "a", "meta": {}}),
                resource_version: 3,
            },
            Line::Group {
                resource: json!({"id": group, "displayName": "G"}),
                resource_version: 5,
            },
            Line::Members {
                group_id: group,
                member_ids: vec![user],
            },
            // A user deleted before the snapshot, whose deletion was not published yet.
            Line::Pending {
                resource_type: ResourceType::User,
                resource_id: gone,
                resource_version: 4,
            },
            Line::End { lines: 5 },
        ];
        let loaded = load(lines(&body)).unwrap();
        assert_eq!(loaded.start_after_sequence, 41);
        assert_eq!(
            loaded.copy.users[&user],
            json!({"id": user, "userName": "a"})
        );
        assert_eq!(loaded.copy.groups[&group].members.len(), 1);
        assert_eq!(loaded.positions.last((ResourceType::Group, group)), Some(5));
        assert_eq!(loaded.positions.last((ResourceType::User, gone)), Some(4));

        let cut = lines(&body[..4]);
        assert!(matches!(load(cut), Err(LoadError::Truncated(4))));
        assert!(matches!(load(lines(&body[1..])), Err(LoadError::NoHeader)));
    }
}
