//! The admin API: JSON over HTTP on its own listener (`ADMIN_LISTEN_ADDR`), for
//! operators and `scimctl`. Authenticated by operator tokens from `ADMIN_TOKEN`, never
//! by SCIM tokens. Every change is audited and announced as an event, in the
//! transaction that makes it.

mod dead_letters;
mod directories;
mod hold;
mod openapi;
mod parked;
mod pipeline;
mod roles;
mod setup_links;
mod snapshot;
mod teams;
mod tokens;
mod views;
pub(crate) mod wire;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use scim_admin_api::ErrorBody;
use scim_store::failure::Failure;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::bearer_token;
pub(crate) use crate::commands::admin::{Actor, AdminError, Via, parse_id};

/// The operator tokens the admin API accepts (several, so one can be rotated), kept as
/// SHA-256 digests.
#[derive(Clone)]
pub struct Operators(Arc<Vec<[u8; 32]>>);

impl Operators {
    /// From `ADMIN_TOKEN`: tokens separated by commas. Empty: none (API disabled).
    pub fn parse(tokens: &str) -> Operators {
        Operators(Arc::new(
            tokens
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| Sha256::digest(t.as_bytes()).into())
                .collect(),
        ))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The matching token's digest; every configured token is compared, in constant time.
    fn find(&self, presented: &str) -> Option<[u8; 32]> {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = None;
        for known in self.0.iter() {
            if bool::from(known.ct_eq(&digest)) {
                found = Some(*known);
            }
        }
        found
    }
}

pub const ACTOR_HEADER: &str = "x-admin-actor";

fn actor(headers: &HeaderMap, token: &[u8; 32]) -> Actor {
    let name = headers
        .get(ACTOR_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|n| {
            !n.is_empty() && n.len() <= 64 && n.chars().all(|c| c.is_ascii_graphic() || c == ' ')
        })
        .unwrap_or("operator");
    let fingerprint: String = token[..4].iter().map(|b| format!("{b:02x}")).collect();
    Actor(
        format!("{name} (operator token {fingerprint})"),
        Via::Operator,
    )
}

async fn require_operator(
    State(operators): State<Operators>,
    mut req: Request,
    next: Next,
) -> Result<Response, AdminError> {
    let token = bearer_token(req.headers())
        .and_then(|token| operators.find(token))
        .ok_or(AdminError::Unauthorized)?;
    let who = actor(req.headers(), &token);
    req.extensions_mut().insert(who);
    Ok(next.run(req).await)
}

/// Every admin endpoint, before any authentication, with its part of the OpenAPI
/// document.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(openapi::openapi))
        .merge(directories::router())
        .merge(hold::router())
        .merge(dead_letters::router())
        .merge(parked::router())
        .merge(pipeline::router())
        .merge(snapshot::router())
        .merge(tokens::router())
        .merge(teams::router())
        .merge(roles::router())
        .merge(setup_links::router())
        .merge(views::router())
}

/// `routes` answering as the admin API does: a JSON error for an unknown endpoint and
/// for whatever the framework refuses itself.
fn answering(routes: Router<AppState>, state: AppState) -> Router {
    routes
        .fallback(|| async { AdminError::NotFound("no such endpoint".into()) })
        .method_not_allowed_fallback(|| async { AdminError::MethodNotAllowed })
        .layer(middleware::map_response(json_error_bodies))
        .with_state(state)
}

pub fn router(state: AppState, operators: Operators) -> Router {
    let routes = Router::from(routes())
        .route_layer(middleware::from_fn_with_state(operators, require_operator))
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        // The console's files hold no data: it signs in with an operator token.
        .merge(crate::pages::CONSOLE.routes());
    answering(routes, state)
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(
            tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer::new([
                header::AUTHORIZATION,
            ]),
        )
}

/// The admin API without the operator check, for a caller that authenticates, scopes
/// and names the actor of each request itself (the setup page, `setup::scoped`): it
/// must insert the request's [`Actor`].
pub(crate) fn unchecked(state: AppState) -> Router {
    answering(routes().into(), state)
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            AdminError::Unauthorized => (StatusCode::UNAUTHORIZED, self.to_string()),
            AdminError::NotFound(_) => (StatusCode::NOT_FOUND, self.to_string()),
            AdminError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, self.to_string()),
            AdminError::Invalid(_) => (StatusCode::BAD_REQUEST, self.to_string()),
            AdminError::Conflict(_) => (StatusCode::CONFLICT, self.to_string()),
            AdminError::Busy(_) => (StatusCode::TOO_MANY_REQUESTS, self.to_string()),
            AdminError::Unavailable(e) => {
                tracing::warn!(error = %e, "admin request failed");
                (StatusCode::SERVICE_UNAVAILABLE, self.to_string())
            }
            // Only an outage is worth retrying; data the database refused is the
            // request's mistake, and anything else is ours.
            AdminError::Database(e) => match Failure::of(e) {
                Failure::Timeout => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the request took longer than the service allows (LIST_TIMEOUT_MS); retry"
                        .to_owned(),
                ),
                Failure::Lost | Failure::Outage => {
                    tracing::warn!(error = %e, "admin request failed");
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the database is unavailable; retry".to_owned(),
                    )
                }
                Failure::Data { .. } => {
                    tracing::warn!(error = %e, "the database refused an admin request's data");
                    (
                        StatusCode::BAD_REQUEST,
                        "the request holds a value that cannot be stored (too long, or malformed)"
                            .to_owned(),
                    )
                }
                Failure::Bug => {
                    tracing::error!(error = %e, "admin request failed");
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal error".to_owned(),
                    )
                }
            },
        };
        let mut res = (status, Json(ErrorBody { error: message })).into_response();
        let retry_after = match status {
            StatusCode::SERVICE_UNAVAILABLE => Some("5"),
            StatusCode::TOO_MANY_REQUESTS => Some("1"),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            res.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from_static(seconds),
            );
        }
        res
    }
}

/// Gives every error the framework answers itself (a path segment or query parameter
/// that does not parse, say) the admin API's JSON error body, as the handlers' have.
async fn json_error_bodies(res: Response) -> Response {
    match crate::error::framework_error(res, "application/json").await {
        Ok((status, detail, res)) => {
            let (parts, _) = res.into_parts();
            let mut res = (status, Json(ErrorBody { error: detail })).into_response();
            for (name, value) in &parts.headers {
                if name != header::CONTENT_TYPE {
                    res.headers_mut().insert(name, value.clone());
                }
            }
            res
        }
        Err(res) => res,
    }
}

/// A JSON body whose rejections are admin errors.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = AdminError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(value) = Json::<Value>::from_request(req, state)
            .await
            .map_err(|e: JsonRejection| AdminError::Invalid(e.body_text()))?;
        decode(value).map(Body)
    }
}

/// A JSON body that may be left out, or be `null` (then the type's default).
pub struct OptionalBody<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Default> FromRequest<S> for OptionalBody<T> {
    type Rejection = AdminError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| AdminError::Invalid(e.body_text()))?;
        if bytes.is_empty() {
            return Ok(OptionalBody(T::default()));
        }
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| AdminError::Invalid(format!("invalid JSON: {e}")))?;
        if value.is_null() {
            return Ok(OptionalBody(T::default()));
        }
        decode(value).map(OptionalBody)
    }
}

/// A body's value as `T`: every admin body is a JSON object (serde would also read a
/// struct from an array of its fields in order).
fn decode<T: serde::de::DeserializeOwned>(mut value: Value) -> Result<T, AdminError> {
    if !value.is_object() {
        return Err(AdminError::Invalid(
            "invalid request body: a JSON object is expected".into(),
        ));
    }
    if crate::extract::has_nul(&value) {
        return Err(AdminError::Invalid(crate::extract::NUL_REFUSED.into()));
    }
    integral(&mut value);
    serde_json::from_value(value)
        .map_err(|e| AdminError::Invalid(format!("invalid request body: {e}")))
}

/// JSON has numbers, not integers and fractions: `30.0` is the integer 30 (as JSON
/// Schema's `integer` says), which serde's integer types would refuse as a float.
fn integral(value: &mut Value) {
    match value {
        Value::Number(n) if n.is_f64() => {
            let whole = n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15);
            // Within ±2^53 every whole f64 is an exact i64.
            if let Some(whole) = whole {
                *value = Value::from(whole as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral),
        Value::Object(fields) => fields.values_mut().for_each(integral),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_written_with_a_fraction_are_integers() {
        let mut v = serde_json::json!({"a": 30.0, "b": [1.5, -2.0, 1e300], "c": "3.0"});
        integral(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"a": 30, "b": [1.5, -2, 1e300], "c": "3.0"})
        );
        #[derive(serde::Deserialize)]
        struct Minutes {
            minutes: u32,
        }
        let m: Minutes = decode(serde_json::json!({"minutes": 18.0})).unwrap();
        assert_eq!(m.minutes, 18);
    }

    #[test]
    fn a_body_is_an_object_not_an_array_of_its_fields() {
        #[derive(Debug, serde::Deserialize)]
        struct Limit {
            seat_limit: Option<i32>,
        }
        assert!(decode::<Limit>(serde_json::json!([5])).is_err());
        assert!(decode::<Limit>(serde_json::json!("x")).is_err());
        let limit: Limit = decode(serde_json::json!({"seat_limit": 5})).unwrap();
        assert_eq!(limit.seat_limit, Some(5));
    }

    #[test]
    fn operator_tokens_are_matched_exactly_and_several_may_be_live() {
        let ops = Operators::parse(" old-secret , new-secret ,");
        assert!(ops.find("old-secret").is_some());
        assert!(ops.find("new-secret").is_some());
        assert!(ops.find("new-secre").is_none());
        assert!(ops.find("").is_none());
        assert!(Operators::parse(" , ").is_empty());
    }

    #[test]
    fn the_actor_names_the_client_and_the_token_fingerprint() {
        let token = [0xab; 32];
        let mut headers = HeaderMap::new();
        assert_eq!(
            actor(&headers, &token).0,
            "operator (operator token abababab)"
        );
        headers.insert(ACTOR_HEADER, "alice@laptop".parse().unwrap());
        assert_eq!(
            actor(&headers, &token).0,
            "alice@laptop (operator token abababab)"
        );
        headers.insert(
            ACTOR_HEADER,
            "x\u{7f}"
                .parse()
                .unwrap_or(header::HeaderValue::from_static("a\tb")),
        );
        assert!(actor(&headers, &token).0.starts_with("operator "));
    }
}
