//! Recomputing a directory's product data from the directory: every member record, then
//! every team membership and role, as the worker computes them. What `directory reconcile` does
//! after a restored backup or a hand edit of the product's tables, and what resuming a
//! paused directory does. A member that differs from its user is written as its user
//! says whatever versions the tables hold; deprovisioning passes through the hold.

use crate::hold;
use crate::hold::Screen;
use crate::members::{self, MemberStatus, Profile, Touched};
use crate::sync;
use crate::teams::preview::{self, Preview};
use scim_store::users;
use sqlx::PgConnection;
use std::collections::HashMap;
use uuid::Uuid;

/// Users recomputed per statement.
const CHUNK: usize = 1000;
/// Member changes listed (all are counted).
pub const LISTED: usize = 1000;

/// What a recomputation changed (or would change) in a member record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// The user had no member record.
    Created,
    /// Its email or name differed.
    Updated,
    Deactivated,
    Reactivated,
    /// Its user is gone.
    Removed,
}

/// One member record that differed from its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberChange {
    pub scim_user_id: Uuid,
    /// `None` for a record still to be made.
    pub member: Option<Uuid>,
    pub email: Option<String>,
    pub change: Change,
    /// A deprovisioning the hold keeps.
    pub held: bool,
}

/// What a recomputation did: the member changes (the first [`LISTED`]), how many there
/// were, and what it did to teams.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recomputed {
    pub members: Vec<MemberChange>,
    pub changed: usize,
    pub held: usize,
    pub teams: Preview,
}

/// Recomputes the directory's members and teams in the caller's transaction (roll it
/// back for a dry run).
pub async fn directory(tx: &mut PgConnection, directory: Uuid) -> Result<Recomputed, sqlx::Error> {
    let mut out = Recomputed::default();
    let ids = users::ids(&mut *tx, directory).await?;
    for chunk in ids.chunks(CHUNK) {
        let changes = present_users(tx, directory, chunk).await?;
        record(tx, directory, changes, &mut out).await?;
    }
    let gone = gone_users(tx, directory).await?;
    record(tx, directory, gone, &mut out).await?;
    out.teams = preview::run(tx, directory, Screen::On).await?;
    crate::roles::directory_in(tx, directory, &ids).await?;
    Ok(out)
}

/// The member changes of these users, made: each differing member's version is lowered
/// below its user's, so the ordinary write (and the hold) takes the user's state.
async fn present_users(
    tx: &mut PgConnection,
    directory: Uuid,
    ids: &[Uuid],
) -> Result<Vec<(MemberChange, Touched)>, sqlx::Error> {
    let keys: Vec<(Uuid, Uuid)> = ids.iter().map(|u| (directory, *u)).collect();
    let users = users::get_many(&mut *tx, &keys).await?;
    let current: HashMap<Uuid, members::Stored> = members::stored(&mut *tx, directory, ids)
        .await?
        .into_iter()
        .map(|m| (m.scim_user_id, m))
        .collect();
    let mut changes = Vec::new();
    for (_, user) in users {
        let want = Profile::from_user(&user.user);
        let have = current.get(&user.id);
        let Some(change) = difference(have, &want) else {
            continue;
        };
        let touched = Touched {
            directory,
            user: user.id,
            version: user.version,
        };
        let change = MemberChange {
            scim_user_id: user.id,
            member: have.map(|m| m.id),
            email: want
                .email
                .clone()
                .or_else(|| have.and_then(|m| m.profile.email.clone())),
            change,
            held: false,
        };
        changes.push((change, touched));
    }
    let stale: Vec<(Uuid, i64)> = changes
        .iter()
        .filter_map(|(c, t)| c.member.map(|m| (m, t.version - 1)))
        .collect();
    members::lower_versions(&mut *tx, &stale).await?;
    Ok(changes)
}

/// Provisioned members whose user is gone but which are not removed.
async fn gone_users(
    tx: &mut PgConnection,
    directory: Uuid,
) -> Result<Vec<(MemberChange, Touched)>, sqlx::Error> {
    Ok(members::orphans(&mut *tx, directory)
        .await?
        .into_iter()
        .map(|m| {
            let touched = Touched {
                directory,
                user: m.scim_user_id,
                version: m.version + 1,
            };
            let change = MemberChange {
                scim_user_id: m.scim_user_id,
                member: Some(m.id),
                email: m.profile.email,
                change: Change::Removed,
                held: false,
            };
            (change, touched)
        })
        .collect())
}

/// Writes these changes through the hold and adds them to `out`.
async fn record(
    tx: &mut PgConnection,
    directory: Uuid,
    changes: Vec<(MemberChange, Touched)>,
    out: &mut Recomputed,
) -> Result<(), sqlx::Error> {
    if changes.is_empty() {
        return Ok(());
    }
    let touched: Vec<Touched> = changes.iter().map(|(_, t)| *t).collect();
    sync::write(&mut *tx, &touched, Screen::On).await?;
    let users: Vec<Uuid> = touched.iter().map(|t| t.user).collect();
    let held = hold::held_users(&mut *tx, directory, &users).await?;
    for (mut change, _) in changes {
        change.held = held.contains(&change.scim_user_id);
        out.changed += 1;
        out.held += usize::from(change.held);
        if out.members.len() < LISTED {
            out.members.push(change);
        }
    }
    Ok(())
}

/// How a member record differs from what its user says; `None` when it does not.
fn difference(have: Option<&members::Stored>, want: &Profile) -> Option<Change> {
    let Some(have) = have else {
        return Some(Change::Created);
    };
    let status = |s: MemberStatus| s == MemberStatus::Active;
    match (status(have.profile.status), status(want.status)) {
        (true, false) => Some(Change::Deactivated),
        (false, true) => Some(Change::Reactivated),
        _ if have.profile.status != want.status => Some(Change::Deactivated),
        _ if have.profile != *want => Some(Change::Updated),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(email: &str, status: MemberStatus) -> Profile {
        Profile {
            email: Some(email.into()),
            display_name: None,
            given_name: None,
            family_name: None,
            status,
        }
    }

    fn stored(p: Profile) -> members::Stored {
        members::Stored {
            id: Uuid::nil(),
            scim_user_id: Uuid::nil(),
            profile: p,
            version: 1,
        }
    }

    #[test]
    fn a_member_differs_from_its_user_by_status_first_then_by_profile() {
        use MemberStatus::{Active, Deactivated};
        let want = profile("a@x.com", Active);
        assert_eq!(difference(None, &want), Some(Change::Created));
        let same = stored(want.clone());
        assert_eq!(difference(Some(&same), &want), None);
        let edited = stored(profile("typo@x.com", Active));
        assert_eq!(difference(Some(&edited), &want), Some(Change::Updated));
        let off = stored(profile("a@x.com", Deactivated));
        assert_eq!(difference(Some(&off), &want), Some(Change::Reactivated));
        let on = stored(want.clone());
        assert_eq!(
            difference(Some(&on), &profile("a@x.com", Deactivated)),
            Some(Change::Deactivated)
        );
    }
}
