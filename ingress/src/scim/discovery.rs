//! Discovery endpoints (RFC 7644 §4): what this service supports, generated from the
//! same schema table that drives validation, filtering and PATCH, so they cannot drift.

use axum::Router;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use scim_core::ScimError;
use scim_core::profile::{Idp, Profile};
use scim_core::schema::{
    GROUP, GROUP_SCHEMA, RESOURCE_TYPE_SCHEMA, ResourceSchema, Returned, SCHEMA_SCHEMA, SCHEMAS,
    SERVICE_PROVIDER_CONFIG_SCHEMA, USER, schema_attributes,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use uuid::Uuid;

use super::bulk::MAX_OPERATIONS;
use super::list::{MAX_COUNT, list_response};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::scim;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/scim/v2/{directory_id}/ServiceProviderConfig",
            get(service_provider_config),
        )
        .route("/scim/v2/{directory_id}/ResourceTypes", get(resource_types))
        .route(
            "/scim/v2/{directory_id}/ResourceTypes/{id}",
            get(resource_type),
        )
        .route("/scim/v2/{directory_id}/Schemas", get(schemas))
        .route("/scim/v2/{directory_id}/Schemas/{id}", get(schema))
}

fn base(state: &AppState, params: &HashMap<String, String>) -> String {
    let directory = params
        .get("directory_id")
        .and_then(|d| Uuid::try_parse(d).ok())
        .unwrap_or_default();
    state.base_url(directory)
}

async fn service_provider_config(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
) -> Response {
    let body = json!({
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
        "documentationUri": "https://datatracker.ietf.org/doc/html/rfc7644",
        "patch": {"supported": true},
        "bulk": {
            "supported": true,
            "maxOperations": MAX_OPERATIONS,
            "maxPayloadSize": state.max_body_bytes,
        },
        "filter": {"supported": true, "maxResults": MAX_COUNT},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "The directory's bearer token, sent as 'Authorization: Bearer <token>'",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", base(&state, &params)),
        },
    });
    scim(StatusCode::OK, &body, None)
}

/// The resource types served, in discovery order.
const RESOURCE_TYPES: [(&ResourceSchema, &str); 2] = [(&USER, "User Account"), (&GROUP, "Group")];

fn resource_type_json(base: &str, (schema, description): (&ResourceSchema, &str)) -> Value {
    let extensions: Vec<Value> = schema
        .extensions
        .iter()
        .map(|(urn, _)| json!({"schema": urn, "required": false}))
        .collect();
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": schema.name,
        "name": schema.name,
        "endpoint": format!("/{}s", schema.name),
        "description": description,
        "schema": schema.core_urn,
        "schemaExtensions": extensions,
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{}", schema.name)},
    })
}

async fn resource_types(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
) -> Response {
    let base = base(&state, &params);
    let types: Vec<Value> = RESOURCE_TYPES
        .iter()
        .map(|t| resource_type_json(&base, *t))
        .collect();
    scim(
        StatusCode::OK,
        &list_response(types.len() as i64, 1, types),
        None,
    )
}

async fn resource_type(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let id = params.get("id").map(String::as_str).unwrap_or_default();
    let found = RESOURCE_TYPES
        .iter()
        .find(|(schema, _)| schema.name == id)
        .ok_or_else(|| ApiError::from(ScimError::NotFound("no such resource type".into())))?;
    Ok(scim(
        StatusCode::OK,
        &resource_type_json(&base(&state, &params), *found),
        None,
    ))
}

fn schema_resource(
    base: &str,
    (id, name, description, attrs): (&str, &str, &str, &[scim_core::schema::Attribute]),
    profile: Profile,
) -> Value {
    let mut attributes = schema_attributes(attrs);
    if id == GROUP_SCHEMA {
        member_display(&mut attributes, profile.member_display);
    }
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")},
    })
}

/// When a member's `display` is returned is the directory's profile's to say.
fn member_display(group_attributes: &mut Value, returned: Returned) {
    let named = |name: &'static str| move |a: &&mut Value| a["name"] == name;
    let display = group_attributes
        .as_array_mut()
        .and_then(|attrs| attrs.iter_mut().find(named("members")))
        .and_then(|m| m["subAttributes"].as_array_mut())
        .and_then(|subs| subs.iter_mut().find(named("display")));
    if let Some(display) = display {
        display["returned"] = match returned {
            Returned::Default => "default",
            Returned::Request => "request",
        }
        .into();
    }
}

async fn schemas(
    State(state): State<AppState>,
    Extension(idp): Extension<Idp>,
    Path(params): Path<HashMap<String, String>>,
) -> Response {
    let base = base(&state, &params);
    let all: Vec<Value> = SCHEMAS
        .iter()
        .map(|s| schema_resource(&base, *s, idp.profile()))
        .collect();
    scim(
        StatusCode::OK,
        &list_response(all.len() as i64, 1, all),
        None,
    )
}

async fn schema(
    State(state): State<AppState>,
    Extension(idp): Extension<Idp>,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let id = params.get("id").map(String::as_str).unwrap_or_default();
    let found = SCHEMAS
        .iter()
        .find(|s| s.0.eq_ignore_ascii_case(id))
        .ok_or_else(|| ApiError::from(ScimError::NotFound("no such schema".into())))?;
    Ok(scim(
        StatusCode::OK,
        &schema_resource(&base(&state, &params), *found, idp.profile()),
        None,
    ))
}
