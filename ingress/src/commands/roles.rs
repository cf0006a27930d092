//! What an admin change to roles does: replace a directory's catalogue (its order is
//! the precedence) and default role, map group names to roles (each with a preview),
//! and set the role of a member made by hand. A catalogue or mapping change is
//! recorded with `directory.roles_changed`, which the worker answers by recomputing
//! every member's role; a member's role set by hand is `member.role_changed`.

use scim_admin_api::{MemberRole, NewRole, RoleChange, RoleMappings, RolePreview, Roles};
use scim_core::limits::{KEY_BYTES, MAPPING_ROWS};
use scim_core::roles::{Catalogue, Role, Source};
use scim_events::{Action, Event, Kind, ResourceType};
use scim_product::roles::{self as product_roles, Refused};
use scim_store::directories::{self, Summary};
use scim_store::roles as db_roles;
use serde_json::{Map, Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::admin::{Actor, AdminError, parse_id, record};
use super::directory::{existing, locked};
use super::preview::begin_preview;
use crate::AppState;

/// Role changes a preview lists (all are counted).
const LISTED: usize = 1000;

pub(crate) async fn catalogue(state: &AppState, id: &str) -> Result<Catalogue, AdminError> {
    let mut conn = state.pool.acquire().await?;
    let dir = existing(&mut *conn, id).await?;
    Ok(db_roles::catalogue(&mut conn, dir).await?)
}

pub(crate) async fn mappings(state: &AppState, id: &str) -> Result<RoleMappings, AdminError> {
    let mut conn = state.pool.acquire().await?;
    let dir = existing(&mut *conn, id).await?;
    Ok(RoleMappings {
        groups: db_roles::group_mappings(&mut *conn, dir)
            .await?
            .into_iter()
            .collect(),
    })
}

/// What a change asks for: a new catalogue, or new group mappings.
enum Change {
    Catalogue(Catalogue),
    Mappings(Vec<(String, String)>),
}

impl Change {
    fn catalogue(body: Roles) -> Result<Change, AdminError> {
        let catalogue = Catalogue {
            roles: body
                .roles
                .into_iter()
                .map(|r| Role {
                    id: r.id,
                    display_name: r.display_name.trim().to_owned(),
                    description: r.description.trim().to_owned(),
                })
                .collect(),
            default: body.default_role,
        };
        catalogue.check().map_err(AdminError::Invalid)?;
        Ok(Change::Catalogue(catalogue))
    }

    fn mappings(body: RoleMappings) -> Result<Change, AdminError> {
        if body.groups.len() > MAPPING_ROWS {
            return Err(AdminError::Invalid(format!(
                "{} group names; at most {MAPPING_ROWS} map to roles",
                body.groups.len()
            )));
        }
        if let Some(bad) = body
            .groups
            .keys()
            .find(|g| g.is_empty() || g.len() > KEY_BYTES)
        {
            return Err(AdminError::Invalid(format!(
                "{bad:?}: a group name is 1 to {KEY_BYTES} bytes, spelled exactly as in the identity provider"
            )));
        }
        Ok(Change::Mappings(body.groups.into_iter().collect()))
    }
}

/// The directory's roles as `directory.roles_changed` carries them.
fn roles_resource(catalogue: &Catalogue, mappings: &[(String, String)]) -> Map<String, Value> {
    let groups: Map<String, Value> = mappings
        .iter()
        .map(|(g, r)| (g.clone(), Value::String(r.clone())))
        .collect();
    Map::from_iter([
        ("roles".to_owned(), json!(catalogue.roles)),
        ("default_role".to_owned(), json!(catalogue.default)),
        ("role_groups".to_owned(), Value::Object(groups)),
    ])
}

/// Makes the change within `tx`: the directory, and its roles before and after (as
/// `directory.roles_changed` carries them).
async fn change(
    tx: &mut PgConnection,
    id: &str,
    change: &Change,
) -> Result<(Summary, Map<String, Value>, Map<String, Value>), AdminError> {
    let summary = locked(&mut *tx, id).await?;
    let dir = summary.directory.id;
    let catalogue = db_roles::catalogue(&mut *tx, dir).await?;
    let mappings = db_roles::group_mappings(&mut *tx, dir).await?;
    let before = roles_resource(&catalogue, &mappings);
    let (catalogue, mappings) = match change {
        Change::Catalogue(new) => {
            db_roles::set_catalogue(&mut *tx, dir, new).await?;
            // Mappings to roles the catalogue no longer has went with them.
            let mappings = db_roles::group_mappings(&mut *tx, dir).await?;
            (new.clone(), mappings)
        }
        Change::Mappings(new) => {
            let unknown: Vec<&str> = new
                .iter()
                .filter(|(_, role)| !catalogue.roles.iter().any(|r| r.id == *role))
                .map(|(_, role)| role.as_str())
                .collect();
            if !unknown.is_empty() {
                return Err(AdminError::Conflict(format!(
                    "no role {}: this directory's roles are {}",
                    unknown.join(", "),
                    catalogue.ids().join(", ")
                )));
            }
            db_roles::set_group_mappings(&mut *tx, dir, new).await?;
            (catalogue, new.clone())
        }
    };
    Ok((summary, before, roles_resource(&catalogue, &mappings)))
}

/// Makes the change and records it; the worker recomputes every member's role.
async fn apply(
    state: &AppState,
    actor: &Actor,
    id: &str,
    requested: Change,
) -> Result<Uuid, AdminError> {
    let mut tx = state.pool.begin().await?;
    let (summary, before, after) = change(&mut tx, id, &requested).await?;
    let dir = summary.directory.id;
    let previous: Map<String, Value> = before
        .into_iter()
        .filter(|(k, v)| after.get(k) != Some(v))
        .collect();
    if !previous.is_empty() {
        let version = directories::bump_version(&mut tx, dir).await?;
        let mut resource = summary.event_resource();
        if let Some(resource) = resource.as_object_mut() {
            resource.extend(after.clone());
        }
        let event = Event::new(
            dir,
            ResourceType::Directory,
            dir,
            Action::RolesChanged,
            version,
            resource,
            None,
        )
        .with_previous(previous.clone());
        record(
            &mut tx,
            state,
            actor,
            dir,
            event,
            json!({"roles": after, "previous": previous}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(dir)
}

pub(crate) async fn set_catalogue(
    state: &AppState,
    actor: &Actor,
    id: &str,
    body: Roles,
) -> Result<Catalogue, AdminError> {
    let dir = apply(state, actor, id, Change::catalogue(body)?).await?;
    let mut conn = state.pool.acquire().await?;
    Ok(db_roles::catalogue(&mut conn, dir).await?)
}

pub(crate) async fn set_mappings(
    state: &AppState,
    actor: &Actor,
    id: &str,
    body: RoleMappings,
) -> Result<RoleMappings, AdminError> {
    apply(state, actor, id, Change::mappings(body)?).await?;
    mappings(state, id).await
}

pub(crate) async fn preview_catalogue(
    state: &AppState,
    id: &str,
    body: Roles,
) -> Result<RolePreview, AdminError> {
    preview(state, id, Change::catalogue(body)?).await
}

pub(crate) async fn preview_mappings(
    state: &AppState,
    id: &str,
    body: RoleMappings,
) -> Result<RolePreview, AdminError> {
    preview(state, id, Change::mappings(body)?).await
}

/// Makes the change in a transaction, recomputes every member's role there as the
/// worker would, reads whose role changed from the events that wrote, and undoes it.
async fn preview(state: &AppState, id: &str, requested: Change) -> Result<RolePreview, AdminError> {
    let mut previewing = begin_preview(state, id).await?;
    let tx = &mut previewing.tx;
    let (summary, ..) = change(tx, id, &requested).await?;
    let dir = summary.directory.id;
    scim_product::sync::apply_pending(tx, dir).await?;
    let users = scim_store::users::ids(&mut **tx, dir).await?;
    let events = product_roles::directory_in(tx, dir, &users).await?;
    previewing.tx.rollback().await?;
    Ok(summarize(&events))
}

/// Whose role the events change.
fn summarize(events: &[Event]) -> RolePreview {
    let mut preview = RolePreview::default();
    for event in events {
        let Kind::MemberRoleChanged(resource, previous, cause) = event.kind() else {
            continue;
        };
        preview.changed += 1;
        if preview.changes.len() >= LISTED {
            continue;
        }
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let source = cause
            .and_then(|c| serde_json::from_value::<Source>(c["reason"].clone()).ok())
            .unwrap_or(Source::Default);
        preview.changes.push(RoleChange {
            member_id: event.resource_id,
            email: text(resource.get("email")),
            from: text(previous.and_then(|p| p.get("role"))),
            to: text(resource.get("role")).unwrap_or_default(),
            source: crate::admin::wire::Wire::wire(source),
        });
    }
    preview.changes.sort_by(|a, b| a.email.cmp(&b.email));
    preview
}

/// Sets the role of a member made by hand (409 for a member the identity provider
/// manages: its role follows the directory).
pub(crate) async fn set_member_role(
    state: &AppState,
    actor: &Actor,
    id: &str,
    member_id: &str,
    body: NewRole,
) -> Result<MemberRole, AdminError> {
    let member = parse_id(member_id, "member")?;
    let mut tx = state.pool.begin().await?;
    let summary = locked(&mut tx, id).await?;
    let dir = summary.directory.id;
    let event = match product_roles::set_by_hand(&mut tx, dir, member, &body.role).await? {
        Ok(event) => event,
        Err(Refused::NoMember) => {
            return Err(AdminError::NotFound(format!("no member {member}")));
        }
        Err(Refused::NoRole(ids)) => {
            return Err(AdminError::Conflict(format!(
                "no role {:?}: this directory's roles are {}",
                body.role,
                ids.join(", ")
            )));
        }
        Err(Refused::Managed(source)) => {
            return Err(AdminError::Conflict(format!(
                "this member's role is managed by the identity provider (its role comes from {}): \
                 assign the role there (an app role or role assignment), or map one of its groups \
                 to the role (scimctl roles map)",
                match source {
                    Source::IdentityProvider => "the user's roles",
                    Source::Group => "a group mapped to a role",
                    Source::Default | Source::Admin => "the directory's default role",
                }
            )));
        }
    };
    let details = json!({"member": member, "role": body.role});
    match event {
        Some(event) => record(&mut tx, state, actor, dir, event, details).await?,
        None => {
            scim_store::audit::record(
                &mut *tx,
                &actor.0,
                "member.role_changed",
                Some(dir),
                &details,
            )
            .await?
        }
    }
    tx.commit().await?;
    Ok(MemberRole {
        member_id: member,
        role: body.role,
        source: scim_admin_api::RoleSource::Admin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use scim_core::roles::Assignment;

    #[test]
    fn a_preview_lists_whose_role_changes_from_what_to_what() {
        let catalogue = Catalogue::builtin();
        let member = Uuid::from_u128(7);
        let event = product_roles::role_changed(
            Uuid::nil(),
            &catalogue,
            product_roles::Member {
                id: member,
                scim_user_id: Some(Uuid::from_u128(8)),
                email: Some("ada@acme.com"),
            },
            Some("member"),
            &Assignment {
                role: "admin".into(),
                source: Source::Group,
                groups: vec!["Leads".into()],
                values: Vec::new(),
            },
            3,
        );
        let preview = summarize(&[event]);
        assert_eq!(preview.changed, 1);
        assert_eq!(
            preview.changes,
            [RoleChange {
                member_id: member,
                email: Some("ada@acme.com".into()),
                from: Some("member".into()),
                to: "admin".into(),
                source: scim_admin_api::RoleSource::Group,
            }]
        );
    }
}
