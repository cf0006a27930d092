//! Members' roles: each provisioned member's role recomputed from the directory's
//! current state ([`scim_core::roles::resolve`]: the user's `roles`, its groups mapped
//! to roles, the default), written where it changed with a `member.role_changed`
//! event. Members made by hand keep the role an admin gives them ([`set_by_hand`]).
//! The members are locked first, so whichever recomputation runs last read the newest
//! state: duplicates and stale events change nothing.

use crate::members::ManagedBy;
use scim_core::roles::{self, Assignment, Catalogue, Inputs, Source};
use scim_events::{Action, Event, ResourceType};
use scim_store::{outbox, roles as db_roles};
use serde_json::{Map, Value, json};
use sqlx::{PgConnection, PgPool};
use std::collections::HashMap;
use uuid::Uuid;

/// Users recomputed per transaction: bounds lock time when a catalogue or mapping
/// change touches a whole directory.
const CHUNK: usize = 1000;

/// A member whose role is recomputed, locked.
#[derive(Debug, Clone)]
struct Locked {
    id: Uuid,
    scim_user_id: Option<Uuid>,
    email: Option<String>,
    role: Option<String>,
    source: Option<String>,
}

/// Brings the roles of these users' members up to date, a chunk per transaction.
pub async fn reconcile(pool: &PgPool, directory: Uuid, users: &[Uuid]) -> Result<(), sqlx::Error> {
    for chunk in users.chunks(CHUNK) {
        let mut tx = pool.begin().await?;
        reconcile_in(&mut tx, directory, chunk).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// [`reconcile`] within the caller's transaction (a preview's, rolled back); returns
/// the events it wrote.
pub async fn reconcile_in(
    conn: &mut PgConnection,
    directory: Uuid,
    users: &[Uuid],
) -> Result<Vec<Event>, sqlx::Error> {
    let mut events = Vec::new();
    for chunk in users.chunks(CHUNK) {
        let locked = lock(conn, directory, chunk).await?;
        if locked.is_empty() {
            continue;
        }
        let catalogue = db_roles::catalogue(conn, directory).await?;
        let ids: Vec<Uuid> = locked.iter().filter_map(|m| m.scim_user_id).collect();
        let mut assigned: HashMap<Uuid, Vec<String>> = db_roles::assigned(conn, directory, &ids)
            .await?
            .into_iter()
            .map(|(user, (roles, entitlements))| {
                let values = roles::assigned_values(roles.as_ref(), entitlements.as_ref());
                (user, values)
            })
            .collect();
        let mut groups: HashMap<Uuid, Vec<(String, String)>> = HashMap::new();
        for (user, group, role) in db_roles::mapped_groups(conn, directory, &ids).await? {
            groups.entry(user).or_default().push((group, role));
        }
        let changes: Vec<(Locked, Assignment)> = locked
            .into_iter()
            .filter_map(|member| {
                let user = member.scim_user_id?;
                let assignment = roles::resolve(
                    &catalogue,
                    &Inputs {
                        assigned: &assigned.remove(&user).unwrap_or_default(),
                        groups: &groups.remove(&user).unwrap_or_default(),
                    },
                );
                changed(&member, &assignment).then_some((member, assignment))
            })
            .collect();
        let written = write(conn, directory, &catalogue, &changes).await?;
        outbox::insert(&mut *conn, &written).await?;
        events.extend(written);
    }
    Ok(events)
}

/// Every member's role in the directory, recomputed within the caller's transaction (a
/// reconciliation's, a preview's): those made by hand whose role is gone, and those of
/// `users`, every user of the directory (`scim_store::users::ids`, which the caller
/// has read already). Returns the events it wrote.
pub async fn directory_in(
    conn: &mut PgConnection,
    directory: Uuid,
    users: &[Uuid],
) -> Result<Vec<Event>, sqlx::Error> {
    let mut events = orphaned_manual_roles(conn, directory).await?;
    events.extend(reconcile_in(conn, directory, users).await?);
    Ok(events)
}

/// Gives the directory's default role to its members made by hand whose role it no
/// longer has (a role an admin removed from the catalogue); returns the events.
pub async fn orphaned_manual_roles(
    conn: &mut PgConnection,
    directory: Uuid,
) -> Result<Vec<Event>, sqlx::Error> {
    let locked = sqlx::query_as!(
        Locked,
        r#"SELECT m.id, m.scim_user_id, m.email, m.role, m.role_source AS source FROM members m
           WHERE m.directory_id = $1 AND m.managed_by = 'manual' AND m.status <> 'removed'
             AND NOT EXISTS (SELECT 1 FROM directory_roles r
                             WHERE r.directory_id = m.directory_id AND r.id = m.role)
           ORDER BY m.id FOR UPDATE"#,
        directory
    )
    .fetch_all(&mut *conn)
    .await?;
    if locked.is_empty() {
        return Ok(Vec::new());
    }
    let catalogue = db_roles::catalogue(conn, directory).await?;
    let default = Assignment {
        role: catalogue.default.clone(),
        source: Source::Default,
        groups: Vec::new(),
        values: Vec::new(),
    };
    let changes: Vec<(Locked, Assignment)> =
        locked.into_iter().map(|m| (m, default.clone())).collect();
    let events = write(conn, directory, &catalogue, &changes).await?;
    outbox::insert(&mut *conn, &events).await?;
    Ok(events)
}

/// Whether the member's stored role or source differs from its assignment.
fn changed(member: &Locked, assignment: &Assignment) -> bool {
    member.role.as_deref() != Some(assignment.role.as_str())
        || member.source.as_deref() != Some(assignment.source.as_str())
}

/// Locks the provisioned (or adopted) members of these users that are not removed, in
/// the order every reconciliation locks members.
async fn lock(
    conn: &mut PgConnection,
    directory: Uuid,
    users: &[Uuid],
) -> Result<Vec<Locked>, sqlx::Error> {
    sqlx::query_as!(
        Locked,
        r#"SELECT id, scim_user_id, email, role, role_source AS source FROM members
           WHERE directory_id = $1 AND scim_user_id = ANY($2)
             AND status <> 'removed' AND managed_by <> 'manual'
           ORDER BY scim_user_id FOR UPDATE"#,
        directory,
        users
    )
    .fetch_all(conn)
    .await
}

/// Writes these members' new roles (and sources); returns the events of those whose
/// role changed (a new source alone is no event), for the caller to record.
async fn write(
    conn: &mut PgConnection,
    directory: Uuid,
    catalogue: &Catalogue,
    changes: &[(Locked, Assignment)],
) -> Result<Vec<Event>, sqlx::Error> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = changes.iter().map(|(m, _)| m.id).collect();
    let roles: Vec<String> = changes.iter().map(|(_, a)| a.role.clone()).collect();
    let sources: Vec<&str> = changes.iter().map(|(_, a)| a.source.as_str()).collect();
    let versions: HashMap<Uuid, i64> = sqlx::query!(
        "UPDATE members m SET role = r.role, role_source = r.source,
                event_version = m.event_version + (m.role IS DISTINCT FROM r.role)::int,
                updated_at = now()
         FROM unnest($1::uuid[], $2::text[], $3::text[]) AS r(id, role, source)
         WHERE m.id = r.id
         RETURNING m.id, m.event_version",
        &ids,
        &roles,
        &sources as &[&str]
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| (r.id, r.event_version))
    .collect();
    let events: Vec<Event> = changes
        .iter()
        .filter(|(member, assignment)| member.role.as_deref() != Some(assignment.role.as_str()))
        .filter_map(|(member, assignment)| {
            let version = *versions.get(&member.id)?;
            Some(role_changed(
                directory,
                catalogue,
                Member {
                    id: member.id,
                    scim_user_id: member.scim_user_id,
                    email: member.email.as_deref(),
                },
                member.role.as_deref(),
                assignment,
                version,
            ))
        })
        .collect();
    Ok(events)
}

/// Who a role event is about.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    pub id: Uuid,
    pub scim_user_id: Option<Uuid>,
    pub email: Option<&'a str>,
}

/// `member.role_changed`: the member with its new role (and that role's display name),
/// the previous role, and why (docs/events.md).
pub fn role_changed(
    directory: Uuid,
    catalogue: &Catalogue,
    member: Member<'_>,
    previous: Option<&str>,
    assignment: &Assignment,
    version: i64,
) -> Event {
    let display = catalogue
        .find(&assignment.role)
        .map(|r| r.display_name.as_str());
    let resource = json!({
        "id": member.id,
        "scim_user_id": member.scim_user_id,
        "email": member.email,
        "role": assignment.role,
        "role_display_name": display,
    });
    let mut cause = json!({"reason": assignment.source});
    if !assignment.groups.is_empty() {
        cause["groups"] = json!(assignment.groups);
    }
    if !assignment.values.is_empty() {
        cause["values"] = json!(assignment.values);
    }
    Event::new(
        directory,
        ResourceType::Member,
        member.id,
        Action::RoleChanged,
        version,
        resource,
        None,
    )
    .with_previous(Map::from_iter([(
        "role".to_owned(),
        previous.map_or(Value::Null, |r| Value::String(r.to_owned())),
    )]))
    .with_cause(cause)
}

/// Why an admin cannot set a member's role by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    NoMember,
    NoRole(Vec<String>),
    /// The identity provider manages the member: its role follows the directory.
    Managed(Source),
}

/// Sets the role of a member made by hand, within the caller's transaction; a
/// provisioned member's role follows the identity provider. Returns the event, when the
/// role changed, for the caller to record with who changed it (the same role set again
/// only makes its source `admin`).
pub async fn set_by_hand(
    conn: &mut PgConnection,
    directory: Uuid,
    member: Uuid,
    role: &str,
) -> Result<Result<Option<Event>, Refused>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT id, scim_user_id, email, role, role_source,
                  managed_by AS "managed_by: ManagedBy"
           FROM members
           WHERE directory_id = $1 AND id = $2 AND status <> 'removed' FOR UPDATE"#,
        directory,
        member
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(Err(Refused::NoMember));
    };
    if row.managed_by != ManagedBy::Manual {
        let source = row
            .role_source
            .as_deref()
            .and_then(Source::parse)
            .unwrap_or(Source::Default);
        return Ok(Err(Refused::Managed(source)));
    }
    let catalogue = db_roles::catalogue(conn, directory).await?;
    let Some(found) = catalogue.roles.iter().find(|r| r.id == role) else {
        return Ok(Err(Refused::NoRole(
            catalogue.ids().into_iter().map(str::to_owned).collect(),
        )));
    };
    let assignment = Assignment {
        role: found.id.clone(),
        source: Source::Admin,
        groups: Vec::new(),
        values: Vec::new(),
    };
    let locked = Locked {
        id: row.id,
        scim_user_id: row.scim_user_id,
        email: row.email,
        role: row.role,
        source: row.role_source,
    };
    let mut events = write(conn, directory, &catalogue, &[(locked, assignment)]).await?;
    Ok(Ok(events.pop()))
}
