//! Deciding a directory's open hold: applying what it held, or keeping the members'
//! access. Either ends the hold and starts the window again; the caller (the admin
//! command) holds the directory's row lock, audits and announces the decision.

use super::{Change, Hold, Screen, show};
use crate::members::{self, Touched};
use crate::sync;
use crate::teams::{reconcile, store as teams};
use sqlx::PgConnection;
use uuid::Uuid;

/// Ends the directory's open hold by applying what it held: the held members' records
/// are brought to the directory's current state and their teams recomputed, as the
/// worker would have; the window starts again. The caller holds the directory's row
/// lock. Returns the hold as it was, `None` if none was open.
pub async fn apply(tx: &mut PgConnection, directory: Uuid) -> Result<Option<Hold>, sqlx::Error> {
    let Some(ended) = end(&mut *tx, directory).await? else {
        return Ok(None);
    };
    let touched: Vec<Touched> = ended
        .members
        .iter()
        .map(|m| Touched {
            directory,
            user: m.user,
            version: m.version,
        })
        .collect();
    sync::write(&mut *tx, &touched, Screen::Off).await?;
    let mut users: Vec<Uuid> = ended.members.iter().map(|m| m.user).collect();
    users.extend(ended.teams.iter().map(|t| t.user));
    users.sort_unstable();
    users.dedup();
    reconcile::reconcile_in(&mut *tx, directory, &users, Screen::Off).await?;
    Ok(Some(ended.hold))
}

/// Ends the directory's open hold by keeping its members' access: a held deactivation
/// leaves the member active (a later change from the identity provider is judged
/// anew); a held deletion leaves a member the directory no longer has, which becomes a
/// member managed by hand with its teams; a held team removal leaves the membership,
/// as one added by hand. The window starts again. The caller holds the directory's row
/// lock. Returns the hold as it was, `None` if none was open.
pub async fn keep(tx: &mut PgConnection, directory: Uuid) -> Result<Option<Hold>, sqlx::Error> {
    let Some(ended) = end(&mut *tx, directory).await? else {
        return Ok(None);
    };
    let removed: Vec<Uuid> = ended
        .members
        .iter()
        .filter(|m| m.change == Change::Remove)
        .map(|m| m.member)
        .collect();
    teams::membership::make_manual(&mut *tx, &removed).await?;
    members::detach(&mut *tx, &removed).await?;
    let pairs: Vec<(Uuid, Uuid)> = ended.teams.iter().map(|t| (t.team, t.member)).collect();
    teams::membership::make_manual_memberships(&mut *tx, &pairs).await?;
    Ok(Some(ended.hold))
}

/// A held deprovisioning as a decision finds it.
struct HeldChange {
    user: Uuid,
    member: Uuid,
    change: Change,
    version: i64,
}

/// A held team removal as a decision finds it.
struct HeldTeam {
    user: Uuid,
    member: Uuid,
    team: Uuid,
}

/// What a hold held, as it ended.
struct Ended {
    hold: Hold,
    members: Vec<HeldChange>,
    teams: Vec<HeldTeam>,
}

/// Closes the open hold and forgets the window; returns the hold and what it held.
async fn end(tx: &mut PgConnection, directory: Uuid) -> Result<Option<Ended>, sqlx::Error> {
    let Some(hold) = show(&mut *tx, directory).await? else {
        return Ok(None);
    };
    let members = sqlx::query!(
        "SELECT scim_user_id, member_id, change, scim_version FROM held_deprovisionings
         WHERE directory_id = $1 ORDER BY scim_user_id",
        directory
    )
    .fetch_all(&mut *tx)
    .await?;
    let teams = sqlx::query!(
        r#"SELECT m.scim_user_id AS "user!", t.member_id, t.team_id
           FROM held_team_removals t JOIN members m ON m.id = t.member_id
           WHERE t.directory_id = $1 AND m.scim_user_id IS NOT NULL"#,
        directory
    )
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query!("DELETE FROM holds WHERE directory_id = $1", directory)
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        "DELETE FROM deprovisionings WHERE directory_id = $1",
        directory
    )
    .execute(&mut *tx)
    .await?;
    Ok(Some(Ended {
        hold,
        members: members
            .into_iter()
            .map(|r| HeldChange {
                user: r.scim_user_id,
                member: r.member_id,
                change: Change::parse(&r.change),
                version: r.scim_version,
            })
            .collect(),
        teams: teams
            .into_iter()
            .map(|r| HeldTeam {
                user: r.user,
                member: r.member_id,
                team: r.team_id,
            })
            .collect(),
    }))
}
