//! The admin API's OpenAPI 3.1 document, made from the same code that serves it: each
//! handler's `#[utoipa::path]` (its route comes from there too, through
//! `utoipa_axum::routes!`, so no route goes undocumented) and the bodies' types in
//! `scim-admin-api`. Served at `/admin/v1/openapi.json`; committed as
//! `docs/admin-api.openapi.json`, and a test fails when the two differ.

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use std::collections::BTreeMap;
use std::sync::LazyLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, Modify, OpenApi};

use scim_admin_api::ErrorBody;

/// What the derived parts leave out: the API's description, its security scheme, the
/// error body and the tags, in the order a reader meets them.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "SCIM provisioning service: admin API",
        version = "1",
        description = "Directories, their tokens, settings, teams and setup links; what the \
            identity providers sent; the event pipeline. Every request carries an operator \
            token (`ADMIN_TOKEN`) as a bearer token; every change is audited, and an \
            `X-Admin-Actor` header names who made it in the audit log. Errors answer \
            `{\"error\": \"…\"}` with their status; `Retry-After` on 429 and 503. No \
            string may hold NUL (U+0000): the database cannot store it, and such a request \
            is answered 400. docs/admin-api.md describes each endpoint at length.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    security(("operator" = [])),
    modifiers(&OperatorToken, &ErrorAnswers),
    components(schemas(ErrorBody)),
    tags(
        (name = "directories", description = "Directories and their settings"),
        (name = "hold", description = "The mass-deprovisioning hold"),
        (name = "tokens", description = "SCIM bearer tokens"),
        (name = "setup links", description = "Links to the setup page for a customer's IT admin"),
        (name = "teams", description = "Teams, their mappings and members"),
        (name = "roles", description = "Product roles, group → role mappings and members' roles"),
        (name = "views", description = "What the identity provider sent: requests, members, users, groups; the audit log"),
        (name = "events", description = "The event pipeline: its state, snapshots, events set aside and dead letters"),
        (name = "document", description = "This document"),
    )
)]
struct Doc;

/// The operator bearer token.
struct OperatorToken;

impl Modify for OperatorToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("An operator token from ADMIN_TOKEN"))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("operator", SecurityScheme::Http(scheme));
    }
}

/// The error answers every operation can give.
pub(crate) struct Failures;

/// The error answers of an operation that changes something: [`Failures`], and a
/// conflict with what is stored or a body larger than the API takes.
pub(crate) struct ChangeFailures;

/// Every error answer: (status, its name in `components.responses`, what it means), the
/// first five for every operation.
const ERRORS: [(&str, &str, &str); 7] = [
    (
        "400",
        "BadRequest",
        "The request is malformed: a path segment, query parameter or body that does not parse, or a value out of range",
    ),
    (
        "401",
        "Unauthorized",
        "No operator token, or one ADMIN_TOKEN does not hold",
    ),
    (
        "404",
        "NotFound",
        "No such directory (or team, token, link, event)",
    ),
    (
        "429",
        "TooManyRequests",
        "Too many requests of this kind at once; retry after Retry-After",
    ),
    (
        "503",
        "Unavailable",
        "The database or NATS is unavailable, or the request took longer than the service allows; retry after Retry-After",
    ),
    (
        "409",
        "Conflict",
        "The change conflicts with what is stored (the answer says what)",
    ),
    (
        "413",
        "PayloadTooLarge",
        "The body is larger than the API takes",
    ),
];

fn refs(errors: &[(&str, &str, &str)]) -> BTreeMap<String, RefOr<Response>> {
    errors
        .iter()
        .map(|(status, name, _)| (status.to_string(), Ref::from_response_name(*name).into()))
        .collect()
}

impl IntoResponses for Failures {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&ERRORS[..5])
    }
}

impl IntoResponses for ChangeFailures {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&ERRORS)
    }
}

/// The error answers, once, each with the error body.
struct ErrorAnswers;

impl Modify for ErrorAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (_, name, description) in ERRORS {
            let body = Content::new(Some(Ref::from_schema_name("ErrorBody")));
            let answer = ResponseBuilder::new()
                .description(description)
                .content("application/json", body)
                .build();
            components.responses.insert(name.to_owned(), answer.into());
        }
    }
}

/// The served document, written once: the handlers' parts with [`Doc`]'s.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    let (_, routes) = super::routes().split_for_parts();
    // A document of strings, maps and numbers always serializes.
    Doc::openapi()
        .merge_from(routes)
        .to_json()
        .unwrap_or_default()
});

/// This document.
#[utoipa::path(
    get,
    path = "/admin/v1/openapi.json",
    tag = "document",
    responses((status = 200, description = "The admin API's OpenAPI 3.1 document", body = Object), Failures)
)]
pub(crate) async fn openapi() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], DOCUMENT.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/admin-api.openapi.json` is the document the service serves; with
    /// `UPDATE_OPENAPI=1` this test writes it instead.
    #[test]
    fn the_committed_document_is_the_generated_one() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/admin-api.openapi.json"
        );
        let document: serde_json::Value = serde_json::from_str(&DOCUMENT).unwrap();
        let generated = serde_json::to_string_pretty(&document).unwrap() + "\n";
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/admin-api.openapi.json differs from the admin API's document: \
             UPDATE_OPENAPI=1 cargo nextest run -p ingress the_committed_document"
        );
    }

    #[test]
    fn every_operation_has_an_id_a_tag_and_its_errors() {
        let doc: serde_json::Value = serde_json::from_str(&DOCUMENT).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.len() > 40, "{} paths", paths.len());
        let mut ids = std::collections::BTreeSet::new();
        for (path, item) in paths {
            for (method, op) in item.as_object().unwrap() {
                let id = op["operationId"].as_str().unwrap_or_default();
                assert!(ids.insert(id), "{method} {path}: operationId {id:?} twice");
                assert!(op["tags"][0].is_string(), "{method} {path}: no tag");
                assert!(op["responses"]["401"].is_object(), "{method} {path}");
            }
        }
    }
}
