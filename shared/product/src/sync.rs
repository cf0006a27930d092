//! Member records brought up to date with their users: the write every event of a user
//! leads to. Each event is a trigger: the users are re-read and the members they imply
//! written, guarded by the users' versions, so duplicates and stale events change
//! nothing; deprovisionings pass through the directory's hold ([`crate::hold`]).

use crate::hold::{self, Planned, Screen};
use crate::members::{self, Profile, Rows, Touched};
use scim_store::users;
use sqlx::{Connection, PgConnection};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// Brings the members of the touched users up to the users' current state, in one
/// transaction of a few statements whatever the number of users. A user that no longer
/// exists becomes a tombstone at the highest version its events announced (unless its
/// directory is gone); a user pushed for the first time may adopt a member made by
/// hand. Those the hold holds are not written. Returns the rows written.
pub async fn apply_users(conn: &mut PgConnection, touched: &[Touched]) -> Result<u64, sqlx::Error> {
    write(conn, touched, Screen::On).await
}

/// Makes the member records of the directory's users pushed a moment ago, whose
/// creation the worker has not applied yet, as the worker will: what a preview does
/// first, in its transaction, so that it shows what a change does to them too.
pub async fn apply_pending(conn: &mut PgConnection, directory: Uuid) -> Result<(), sqlx::Error> {
    let pending = members::pending(&mut *conn, directory).await?;
    if !pending.is_empty() {
        apply_users(conn, &pending).await?;
    }
    Ok(())
}

/// [`apply_users`], through the hold or not (a hold's own decision).
pub(crate) async fn write(
    conn: &mut PgConnection,
    touched: &[Touched],
    screen: Screen,
) -> Result<u64, sqlx::Error> {
    // One entry per user, sorted, so concurrent batches lock rows in the same order.
    let mut latest: BTreeMap<(Uuid, Uuid), i64> = BTreeMap::new();
    for t in touched {
        let v = latest.entry((t.directory, t.user)).or_insert(t.version);
        *v = (*v).max(t.version);
    }
    let keys: Vec<(Uuid, Uuid)> = latest.keys().copied().collect();
    let mut tx = conn.begin().await?;
    let current: HashMap<(Uuid, Uuid), users::StoredUser> = users::get_many(&mut *tx, &keys)
        .await?
        .into_iter()
        .map(|(dir, u)| ((dir, u.id), u))
        .collect();
    let mut planned: BTreeMap<Uuid, Vec<(Planned, Profile)>> = BTreeMap::new();
    let mut pushed = Vec::new();
    for ((dir, user), event_version) in latest {
        let (profile, version) = match current.get(&(dir, user)) {
            Some(stored) => (Profile::from_user(&stored.user), stored.version),
            None => (Profile::removed(), event_version),
        };
        // Only an active user adopts a member made by hand.
        if let (members::MemberStatus::Active, Some(email)) = (profile.status, &profile.email) {
            pushed.push((dir, user, email.clone()));
        }
        let p = Planned {
            user,
            status: profile.status,
            version,
        };
        planned.entry(dir).or_default().push((p, profile));
    }
    members::adopt(&mut tx, &pushed).await?;
    let mut rows = Rows::default();
    // Directories in id order: screening locks their rows in that order.
    for (dir, planned) in planned {
        let held = match screen {
            Screen::On => {
                let plans: Vec<Planned> = planned.iter().map(|(p, _)| *p).collect();
                hold::screen(&mut tx, dir, &plans).await?
            }
            Screen::Off => Default::default(),
        };
        for (p, profile) in planned {
            if !held.contains(&p.user) {
                rows.push(dir, p.user, profile, p.version);
            }
        }
    }
    let written = members::upsert(&mut tx, &rows).await?;
    tx.commit().await?;
    Ok(written)
}
