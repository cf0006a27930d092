//! Discovery endpoints (RFC 7644 §4): what this service supports, generated from the
//! same schema table that drives validation, filtering and PATCH, so they cannot drift.

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use scim_core::ScimError;
use scim_core::limits::TEAM_NAME_BYTES;
use scim_core::profile::Profile;
use scim_core::roles::Governed;
use scim_core::schema::{
    GROUP, GROUP_SCHEMA, RESOURCE_TYPE_SCHEMA, ResourceSchema, Returned, SCHEMA_SCHEMA, SCHEMAS,
    SERVICE_PROVIDER_CONFIG_SCHEMA, USER, schema_attributes,
};
use scim_product::teams::plan::split_attribute;
use scim_store::directories::{self, TeamMapping};
use serde_json::{Value, json};
use std::collections::HashMap;

use super::bulk::MAX_OPERATIONS;
use super::list::{MAX_COUNT, list_response};
use crate::AppState;
use crate::commands::Scope;
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

async fn service_provider_config(scope: Scope) -> Response {
    let state = &scope.state;
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
            "location": format!("{}/ServiceProviderConfig", state.base_url(scope.directory)),
        },
    });
    scim(StatusCode::OK, &body, None)
}

/// The resource types served, in discovery order.
const RESOURCE_TYPES: [(&ResourceSchema, &str); 2] = [(&USER, "User Account"), (&GROUP, "Group")];

/// What discovery tells one directory's client: where its resources are, its
/// provider's profile, and the product's extension attribute when the directory's
/// teams are named by one (an extension schema it accepts beyond the RFC's).
struct Discovery {
    base: String,
    profile: Profile,
    product: Option<(String, String)>,
}

impl Discovery {
    async fn of(scope: &Scope) -> Result<Discovery, ApiError> {
        let mapping = directories::team_mapping(&scope.state.pool, scope.directory).await?;
        let product = match &mapping {
            TeamMapping::Attribute { attribute, .. } => {
                split_attribute(attribute).map(|(urn, attr)| (urn.to_owned(), attr.to_owned()))
            }
            _ => None,
        };
        Ok(Discovery {
            base: scope.state.base_url(scope.directory),
            profile: scope.profile,
            product,
        })
    }

    fn resource_type(&self, (schema, description): (&ResourceSchema, &str)) -> Value {
        let mut extensions: Vec<Value> = schema
            .extensions
            .iter()
            .map(|(urn, _)| json!({"schema": urn, "required": false}))
            .collect();
        if let (true, Some((urn, _))) = (schema.name == USER.name, &self.product) {
            extensions.push(json!({"schema": urn, "required": false}));
        }
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": schema.name,
            "name": schema.name,
            "endpoint": format!("/{}s", schema.name),
            "description": description,
            "schema": schema.core_urn,
            "schemaExtensions": extensions,
            "meta": {"resourceType": "ResourceType", "location": format!("{}/ResourceTypes/{}", self.base, schema.name)},
        })
    }

    /// Users and Groups; and the product's roles, for Okta Identity Governance
    /// ([`Profile::governance`]).
    fn resource_types(&self) -> Vec<Value> {
        let mut types: Vec<Value> = RESOURCE_TYPES
            .iter()
            .map(|t| self.resource_type(*t))
            .collect();
        if self.profile.governance {
            types.extend(Governed::ALL.map(|kind| {
                json!({
                    "schemas": [RESOURCE_TYPE_SCHEMA],
                    "id": kind.name(),
                    "name": kind.name(),
                    "endpoint": kind.endpoint(),
                    "description": "The product's roles, highest first",
                    "schema": kind.schema(),
                    "schemaExtensions": [],
                    "meta": {"resourceType": "ResourceType", "location": format!("{}/ResourceTypes/{}", self.base, kind.name())},
                })
            }));
        }
        types
    }

    /// Every schema, the product's extension last (the roles' before it, for Okta).
    fn schemas(&self) -> Vec<Value> {
        let mut all: Vec<Value> = SCHEMAS.iter().map(|s| self.schema(*s)).collect();
        if self.profile.governance {
            all.extend(Governed::ALL.map(|kind| self.role_schema(kind)));
        }
        all.extend(self.product_schema());
        all
    }

    /// Okta's role or entitlement schema, as `/Roles` and `/Entitlements` serve roles:
    /// read-only.
    fn role_schema(&self, kind: Governed) -> Value {
        let text = |name: &str, description: &str, required: bool| {
            json!({
                "name": name,
                "type": "string",
                "multiValued": false,
                "description": description,
                "required": required,
                "caseExact": false,
                "mutability": "readOnly",
                "returned": "default",
                "uniqueness": "none",
            })
        };
        let mut attributes = vec![
            text("displayName", "The role's name, as admins see it", true),
            text("description", "What the role allows", false),
        ];
        if kind == Governed::Entitlement {
            attributes.push(text("type", "Role: each entitlement is a role", false));
        }
        self.schema_json(
            kind.schema(),
            kind.name(),
            "A role of the product: what a user's roles or entitlements assign (its id is the value)",
            Value::Array(attributes),
        )
    }

    fn schema(
        &self,
        (id, name, description, attrs): (&str, &str, &str, &[scim_core::schema::Attribute]),
    ) -> Value {
        let mut attributes = schema_attributes(attrs);
        if id == GROUP_SCHEMA {
            member_display(&mut attributes, self.profile.member_display);
        }
        self.schema_json(id, name, description, attributes)
    }

    /// The extension holding the attribute the directory's teams are named by: kept as
    /// sent, a team name or a list of them.
    fn product_schema(&self) -> Option<Value> {
        let (urn, attr) = self.product.as_ref()?;
        let attribute = json!({
            "name": attr,
            "type": "string",
            "multiValued": false,
            "description": format!("the name of the user's team (a list of names is accepted too), at most {TEAM_NAME_BYTES} bytes each"),
            "required": false,
            "caseExact": true,
            "mutability": "readWrite",
            "returned": "default",
            "uniqueness": "none",
        });
        Some(self.schema_json(
            urn,
            "Product",
            "The product's user extension: the attribute this directory's teams are named by",
            json!([attribute]),
        ))
    }

    fn schema_json(&self, id: &str, name: &str, description: &str, attributes: Value) -> Value {
        json!({
            "schemas": [SCHEMA_SCHEMA],
            "id": id,
            "name": name,
            "description": description,
            "attributes": attributes,
            "meta": {"resourceType": "Schema", "location": format!("{}/Schemas/{id}", self.base)},
        })
    }
}

async fn resource_types(scope: Scope) -> Result<Response, ApiError> {
    let types = Discovery::of(&scope).await?.resource_types();
    Ok(scim(
        StatusCode::OK,
        &list_response(types.len() as i64, 1, types),
        None,
    ))
}

async fn resource_type(
    scope: Scope,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let id = params.get("id").map(String::as_str).unwrap_or_default();
    let found = Discovery::of(&scope)
        .await?
        .resource_types()
        .into_iter()
        .find(|t| t["id"] == id)
        .ok_or_else(|| ApiError::from(ScimError::NotFound("no such resource type".into())))?;
    Ok(scim(StatusCode::OK, &found, None))
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

async fn schemas(scope: Scope) -> Result<Response, ApiError> {
    let all = Discovery::of(&scope).await?.schemas();
    Ok(scim(
        StatusCode::OK,
        &list_response(all.len() as i64, 1, all),
        None,
    ))
}

async fn schema(
    scope: Scope,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let id = params.get("id").map(String::as_str).unwrap_or_default();
    let found = Discovery::of(&scope)
        .await?
        .schemas()
        .into_iter()
        .find(|s| s["id"].as_str().is_some_and(|s| s.eq_ignore_ascii_case(id)))
        .ok_or_else(|| ApiError::from(ScimError::NotFound("no such schema".into())))?;
    Ok(scim(StatusCode::OK, &found, None))
}
