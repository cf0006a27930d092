//! What an admin change to a directory does: create it with its first token, delete it
//! with everything in it, change its settings (access rules, team mode, the request
//! inspector window), each recorded with its audit record and event.

use scim_admin_api::Removed;
use scim_core::controls::normalize_domains;
use scim_core::limits::{DIRECTORY_NAME_BYTES, INSPECTION_MINUTES, MIRROR_PATTERN_BYTES};
use scim_core::profile::Idp;
use scim_events::{Action, Event, ResourceType};
use scim_product::teams::plan::split_attribute;
use scim_product::teams::preview::Preview;
use scim_store::directories::{self, Controls, IssuedToken, Summary, TeamMapping, TokenOrigin};
use scim_store::{outbox, users};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::admin::{Actor, AdminError, record};
use super::directory::locked;
use super::preview::{begin_preview, preview_and_undo};
use super::tokens::announce_token;
use crate::AppState;
use crate::auth::announce_change;

/// Creates a directory with its first token: the directory, and the token whose secret
/// exists only in this answer. Names are unique per deployment (case ignored).
pub(crate) async fn create(
    state: &AppState,
    actor: &Actor,
    name: &str,
    idp: Idp,
) -> Result<(Summary, IssuedToken), AdminError> {
    let name = name.trim();
    if name.is_empty() || name.len() > DIRECTORY_NAME_BYTES {
        return Err(AdminError::Invalid(format!(
            "name must be 1 to {DIRECTORY_NAME_BYTES} bytes"
        )));
    }
    let mut tx = state.pool.begin().await?;
    // Names are unique per deployment (case ignored): an operator choosing a customer's
    // directory by name in a list must not find two.
    directories::lock_names(&mut tx).await?;
    if let Some(taken) = directories::named(&mut *tx, name).await? {
        return Err(AdminError::Conflict(format!(
            "a directory named {:?} already exists ({}): choose a name that tells them apart",
            taken.name, taken.id
        )));
    }
    let dir = directories::create(&mut *tx, name, idp, &state.roles).await?;
    let token =
        directories::issue_token(&mut *tx, dir.id, None, TokenOrigin::DirectoryCreated).await?;
    let version = directories::bump_version(&mut tx, dir.id).await?;
    let mut summary = directories::show(&mut *tx, dir.id)
        .await?
        .ok_or_else(|| AdminError::NotFound("the new directory vanished".into()))?;
    let event = Event::new(
        dir.id,
        ResourceType::Directory,
        dir.id,
        Action::Created,
        version,
        summary.event_resource(),
        None,
    );
    record(
        &mut tx,
        state,
        actor,
        dir.id,
        event,
        json!({"name": name, "idp": idp}),
    )
    .await?;
    // The first token is announced as every later one is: subscribers learn the ids a
    // later `directory.token_revoked` names.
    summary.version = announce_token(&mut tx, state, actor, &summary, &token).await?;
    tx.commit().await?;
    Ok((summary, token))
}

/// Users whose deletion events are built and written together.
const DELETE_CHUNK: usize = 1000;

/// Deletes the directory with everything in it. Its tokens stop working first (on
/// every replica); then, in one transaction, each user gets a `user.deleted` event, so
/// subscribers deprovision them, and `directory.deleted` closes the directory's
/// stream of events (its groups and teams end with it). The directory, and what it held.
pub(crate) async fn delete(
    state: &AppState,
    actor: &Actor,
    id: &str,
) -> Result<(Uuid, Removed), AdminError> {
    let mut tx = state.pool.begin().await?;
    let summary = locked(&mut tx, id).await?;
    let dir = summary.directory.id;
    directories::revoke_all_tokens(&mut *tx, dir).await?;
    tx.commit().await?;
    announce_change(state, dir).await;

    let mut tx = state.pool.begin().await?;
    let summary = locked(&mut tx, id).await?;
    let ids = users::ids(&mut *tx, dir).await?;
    for chunk in ids.chunks(DELETE_CHUNK) {
        let keys: Vec<(Uuid, Uuid)> = chunk.iter().map(|u| (dir, *u)).collect();
        let events: Vec<Event> = users::get_many(&mut *tx, &keys)
            .await?
            .into_iter()
            .map(|(_, u)| {
                super::users::deleted(state, dir, u)
                    .with_cause(json!({"reason": "directory_deleted", "source": "admin"}))
                    .with_actor(&actor.0)
                    .traced(scim_service::telemetry::current_traceparent())
            })
            .collect();
        outbox::insert(&mut *tx, &events).await?;
    }
    let event = Event::new(
        dir,
        ResourceType::Directory,
        dir,
        Action::Deleted,
        summary.version + 1,
        summary.event_resource(),
        None,
    );
    let removed = Removed {
        name: summary.directory.name.clone(),
        users: summary.users,
        groups: summary.groups,
        teams: summary.teams,
    };
    let details = serde_json::to_value(&removed).unwrap_or_default();
    record(&mut tx, state, actor, dir, event, details).await?;
    directories::delete(&mut tx, dir).await?;
    tx.commit().await?;
    Ok((dir, removed))
}

/// Records a change of settings from `before` to `after` (both locked in `tx`).
async fn settings_changed(
    state: &AppState,
    mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
    actor: &Actor,
    before: &Summary,
    after: &Summary,
) -> Result<Summary, AdminError> {
    let (old, new) = (before.event_resource(), after.event_resource());
    let previous: Map<String, Value> = old
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| new.get(k.as_str()) != Some(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if previous.is_empty() {
        return Ok(after.clone());
    }
    let dir = after.directory.id;
    let action = if before.team_mapping != after.team_mapping {
        Action::MappingChanged
    } else {
        Action::Updated
    };
    let changed: Map<String, Value> = previous
        .keys()
        .map(|k| (k.clone(), new[k].clone()))
        .collect();
    let event = Event::new(
        dir,
        ResourceType::Directory,
        dir,
        action,
        after.version,
        new,
        None,
    )
    .with_previous(previous.clone());
    record(
        &mut tx,
        state,
        actor,
        dir,
        event,
        json!({"changed": changed, "previous": previous}),
    )
    .await?;
    tx.commit().await?;
    announce_change(state, dir).await;
    Ok(after.clone())
}

/// Pauses (`true`) or resumes the directory's provisioning. Announced
/// (`directory.provisioning_paused` / `_resumed`: the worker recomputes the directory on
/// the latter) and audited when it changed; asking again for the state it is in changes
/// nothing.
pub(crate) async fn set_paused(
    state: &AppState,
    actor: &Actor,
    id: &str,
    paused: bool,
) -> Result<Summary, AdminError> {
    let mut tx = state.pool.begin().await?;
    let before = locked(&mut tx, id).await?;
    if before.paused_at.is_some() == paused {
        return Ok(before);
    }
    let dir = before.directory.id;
    let (paused_at, version) = directories::set_paused(&mut tx, dir, paused).await?;
    let after = Summary {
        paused_at,
        version,
        ..before
    };
    let action = if paused {
        Action::ProvisioningPaused
    } else {
        Action::ProvisioningResumed
    };
    let resource = after.event_resource();
    let event = Event::new(
        dir,
        ResourceType::Directory,
        dir,
        action,
        version,
        resource,
        None,
    );
    record(&mut tx, state, actor, dir, event, json!({})).await?;
    tx.commit().await?;
    Ok(after)
}

/// Sets how many days a deactivated, unchanged user is kept (`None`: forever); recorded
/// as `directory.updated` when it changed.
pub(crate) async fn set_retention(
    state: &AppState,
    actor: &Actor,
    id: &str,
    days: Option<i32>,
) -> Result<Summary, AdminError> {
    if days.is_some_and(|d| d < 1) {
        return Err(AdminError::Invalid(
            "retention_days must be 1 or more, or null (keep deactivated users)".into(),
        ));
    }
    change_setting(
        state,
        actor,
        id,
        |s| &mut s.retention_days,
        |d| *d = days,
        async |tx, dir, d| directories::set_retention(tx, dir, *d).await,
    )
    .await
}

/// Changes the directory's controls with `change`, and records it if anything changed.
pub(crate) async fn change_controls(
    state: &AppState,
    actor: &Actor,
    id: &str,
    change: impl FnOnce(&mut Controls),
) -> Result<Summary, AdminError> {
    change_setting(
        state,
        actor,
        id,
        |s| &mut s.controls,
        change,
        async |tx, dir, c| directories::set_controls(tx, dir, c).await,
    )
    .await
}

/// Changes one setting of the directory (the `field` of its summary) with `change`:
/// when that changed it, `write` stores it (bumping the directory's version) and the
/// change is recorded (`directory.updated` or `mapping_changed`, audited).
pub(crate) async fn change_setting<T: Clone + PartialEq>(
    state: &AppState,
    actor: &Actor,
    id: &str,
    field: fn(&mut Summary) -> &mut T,
    change: impl FnOnce(&mut T),
    write: impl AsyncFnOnce(&mut sqlx::PgConnection, Uuid, &T) -> Result<i64, sqlx::Error>,
) -> Result<Summary, AdminError> {
    let mut tx = state.pool.begin().await?;
    let mut before = locked(&mut tx, id).await?;
    let mut after = before.clone();
    change(field(&mut after));
    if field(&mut after) != field(&mut before) {
        let value = field(&mut after).clone();
        after.version = write(&mut tx, before.directory.id, &value).await?;
    }
    settings_changed(state, tx, actor, &before, &after).await
}

pub(crate) fn seat_limit(limit: Option<i32>) -> Result<Option<i32>, AdminError> {
    if limit.is_some_and(|n| n < 0) {
        return Err(AdminError::Invalid(
            "seat_limit must be 0 or more, or null".into(),
        ));
    }
    Ok(limit)
}

pub(crate) fn trusted_domains(domains: &[String]) -> Result<Vec<String>, AdminError> {
    normalize_domains(domains)
        .map_err(|d| AdminError::Invalid(format!("{d:?} is not a domain name")))
}

/// Opens the request inspector window for `minutes`, or closes it (0). Audited; not an
/// event: what the log keeps is no subscriber's business. Every replica learns at once
/// (its token cache holds the window).
pub(crate) async fn set_inspection(
    state: &AppState,
    actor: &Actor,
    id: &str,
    minutes: u32,
) -> Result<Summary, AdminError> {
    if minutes > INSPECTION_MINUTES {
        return Err(AdminError::Invalid(format!(
            "minutes must be 0 (stop) to {INSPECTION_MINUTES}"
        )));
    }
    let until = (minutes > 0)
        .then(|| time::OffsetDateTime::now_utc() + time::Duration::minutes(minutes.into()));
    let mut tx = state.pool.begin().await?;
    let mut summary = locked(&mut tx, id).await?;
    let dir = summary.directory.id;
    directories::set_inspection(&mut *tx, dir, until).await?;
    let action = match until {
        Some(_) => "directory.inspection_started",
        None => "directory.inspection_stopped",
    };
    let details = json!({"until": until.map(|u| u.unix_timestamp())});
    scim_store::audit::record(&mut *tx, &actor.0, action, Some(dir), &details).await?;
    tx.commit().await?;
    announce_change(state, dir).await;
    summary.inspect_until = until;
    Ok(summary)
}

/// Chooses how provisioning assigns teams; the worker re-evaluates the directory.
pub(crate) async fn set_team_mapping(
    state: &AppState,
    actor: &Actor,
    id: &str,
    mapping: TeamMapping,
) -> Result<Summary, AdminError> {
    let mut tx = state.pool.begin().await?;
    let (before, after) = change_team_mapping(&mut tx, id, mapping).await?;
    settings_changed(state, tx, actor, &before, &after).await
}

/// What switching the team mode would do, without doing it.
pub(crate) async fn preview_team_mapping(
    state: &AppState,
    id: &str,
    mapping: TeamMapping,
) -> Result<Preview, AdminError> {
    let mut previewing = begin_preview(state, id).await?;
    let (_, after) = change_team_mapping(&mut previewing.tx, id, mapping).await?;
    preview_and_undo(previewing, after.directory.id).await
}

/// Checks the new team mapping and sets it within `tx`; the directory before and after.
async fn change_team_mapping(
    tx: &mut sqlx::PgConnection,
    id: &str,
    mapping: TeamMapping,
) -> Result<(Summary, Summary), AdminError> {
    match &mapping {
        TeamMapping::Attribute { attribute, .. } if split_attribute(attribute).is_none() => {
            return Err(AdminError::Invalid(format!(
                "{attribute:?} is not a URN-qualified attribute such as urn:acme:scim:schemas:2.0:User:group"
            )));
        }
        TeamMapping::Mirrored { pattern: Some(p) }
            if p.trim().is_empty() || p.len() > MIRROR_PATTERN_BYTES =>
        {
            return Err(AdminError::Invalid(format!(
                "mirror_pattern must be 1 to {MIRROR_PATTERN_BYTES} bytes, or left out to mirror every group"
            )));
        }
        _ => {}
    }
    let before = locked(&mut *tx, id).await?;
    let version = directories::set_team_mapping(&mut *tx, before.directory.id, &mapping).await?;
    let after = Summary {
        team_mapping: mapping,
        version,
        ..before.clone()
    };
    Ok((before, after))
}
