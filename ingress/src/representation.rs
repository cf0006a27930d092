//! How a stored user or group is shown: the SCIM resource and ETag that responses,
//! events and snapshots all carry, located under the directory's base URL.

use scim_core::group::MemberShape;
use scim_core::projection::Projection;
use scim_core::resource::Meta;
use scim_core::schema::Returned;
use scim_core::user::groups_json;
use scim_store::groups::StoredGroup;
use scim_store::users::StoredUser;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;

/// The user's resource and ETag. It takes the stored user: a read renders what it
/// read and is done with it.
pub(crate) fn user(state: &AppState, directory: Uuid, stored: StoredUser) -> (Value, String) {
    let meta = user_meta(
        state,
        directory,
        stored.id,
        stored.version,
        stored.created,
        stored.last_modified,
    );
    let etag = meta.etag();
    let mut resource = stored.user.into_resource(&stored.id.to_string(), &meta);
    if !stored.groups.is_empty() {
        resource["groups"] = groups_json(&stored.groups, &groups_url(state, directory));
    }
    (resource, etag)
}

pub(crate) fn user_meta(
    state: &AppState,
    directory: Uuid,
    id: Uuid,
    version: i64,
    created: OffsetDateTime,
    last_modified: OffsetDateTime,
) -> Meta {
    Meta {
        created,
        last_modified,
        location: format!("{}/Users/{id}", state.base_url(directory)),
        version,
    }
}

/// Where a user's `groups` point.
pub(crate) fn groups_url(state: &AppState, directory: Uuid) -> String {
    format!("{}/Groups", state.base_url(directory))
}

pub(crate) fn group_meta(state: &AppState, directory: Uuid, stored: &StoredGroup) -> Meta {
    Meta {
        created: stored.created,
        last_modified: stored.last_modified,
        location: format!("{}/Groups/{}", state.base_url(directory), stored.id),
        version: stored.version,
    }
}

/// The group's resource, without members (see [`member_shape`]).
pub(crate) fn group(state: &AppState, directory: Uuid, stored: &StoredGroup) -> Value {
    stored.group.to_resource(
        &stored.id.to_string(),
        &group_meta(state, directory, stored),
    )
}

/// How a response shows each member of the directory's groups, or `None` when the
/// projection leaves members out. `display` is returned by default or only on
/// request, as the directory's [`Profile`](scim_core::profile::Profile) says.
pub(crate) fn member_shape(
    state: &AppState,
    directory: Uuid,
    display: Returned,
    projection: &Projection,
) -> Option<MemberShape> {
    let sub = |name| projection.returns_sub("members", name);
    projection.returns("members").then(|| MemberShape {
        users_url: format!("{}/Users", state.base_url(directory)),
        value: sub("value"),
        kind: sub("type"),
        reference: sub("$ref"),
        display: match display {
            Returned::Default => sub("display"),
            Returned::Request => projection.requests("members", "display"),
        },
    })
}
