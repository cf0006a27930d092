//! `POST /Bulk` (RFC 7644 §3.7): many operations in one request, for large pushes.
//! Each operation calls the same command as a single request would (same validation,
//! controls, transaction and events), counts against the directory's rate and is in
//! the request log as one; they run in order, except that an operation naming
//! `bulkId:<id>` of a resource another operation creates waits for it.

use axum::Router;
use axum::extract::Extension;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::post;
use scim_core::ScimError;
use scim_core::group::Group;
use scim_core::patch;
use scim_core::user::User;
use scim_store::directories::TokenCheck;
use scim_store::groups::StoredGroup;
use scim_store::request_log::Entry;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};
use std::time::Instant;
use time::OffsetDateTime;
use uuid::Uuid;

use super::path::endpoint;
use crate::AppState;
use crate::auth::{TokenId, bearer_token};
use crate::commands::{Scope, groups, users};
use crate::error::ApiError;
use crate::etag::IfMatch;
use crate::extract::{ScimJson, scim};
use crate::{representation, request_log};

const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
/// Most operations in one bulk request (advertised in `/ServiceProviderConfig`).
pub(crate) const MAX_OPERATIONS: usize = 1000;
pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/scim/v2/{directory_id}/Bulk", post(bulk))
}

/// One operation as the client sent it.
#[derive(Debug, Clone, PartialEq)]
struct Operation {
    method: Method,
    bulk_id: Option<String>,
    path: String,
    data: Option<Value>,
    version: Option<String>,
}

/// A bulk request, validated: operations, and after how many errors to stop.
#[derive(Debug, PartialEq)]
struct BulkRequest {
    operations: Vec<Operation>,
    fail_on_errors: Option<usize>,
}

fn parse(body: &Value) -> Result<BulkRequest, ScimError> {
    let fields = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("a bulk request must be a JSON object"))?;
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let fail_on_errors =
        match get("failOnErrors") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_u64().filter(|n| *n >= 1).ok_or_else(|| {
                ScimError::invalid_value("failOnErrors must be a positive integer")
            })? as usize),
        };
    let raw = get("Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("a bulk request needs an Operations list"))?;
    if raw.len() > MAX_OPERATIONS {
        return Err(ScimError::PayloadTooLarge(format!(
            "a bulk request may carry at most {MAX_OPERATIONS} operations; this one has {}",
            raw.len()
        )));
    }
    let mut seen = HashSet::new();
    let operations = raw
        .iter()
        .enumerate()
        .map(|(i, op)| {
            let op = operation(op)
                .map_err(|e| ScimError::invalid_value(format!("operation {}: {e}", i + 1)))?;
            if let Some(id) = &op.bulk_id
                && !seen.insert(id.clone())
            {
                return Err(ScimError::invalid_value(format!(
                    "bulkId {id:?} is used twice"
                )));
            }
            Ok(op)
        })
        .collect::<Result<_, _>>()?;
    Ok(BulkRequest {
        operations,
        fail_on_errors,
    })
}

fn operation(op: &Value) -> Result<Operation, String> {
    let fields = op.as_object().ok_or("an operation must be a JSON object")?;
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
            .filter(|v| !v.is_null())
    };
    let text = |name: &str| get(name).and_then(Value::as_str).map(str::to_owned);
    let method = match text("method").map(|m| m.to_ascii_uppercase()).as_deref() {
        Some("POST") => Method::POST,
        Some("PUT") => Method::PUT,
        Some("PATCH") => Method::PATCH,
        Some("DELETE") => Method::DELETE,
        other => {
            return Err(format!(
                "method must be POST, PUT, PATCH or DELETE, not {other:?}"
            ));
        }
    };
    let path = text("path").ok_or("path is required")?;
    // The endpoint's name in any case, as in a single request's path.
    let path = match path
        .strip_prefix('/')
        .map(|p| p.split_once('/').unwrap_or((p, "")))
    {
        Some((name, rest)) => match endpoint(name) {
            Some(name) if rest.is_empty() => format!("/{name}"),
            Some(name) => format!("/{name}/{rest}"),
            None => path,
        },
        None => path,
    };
    let resource = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    let segments = path.trim_start_matches('/').split('/').count();
    let valid_path = path.starts_with('/')
        && ["Users", "Groups"].contains(&resource)
        && segments == if method == Method::POST { 1 } else { 2 }
        && !path.contains(['?', '#']);
    if !valid_path {
        return Err(format!(
            "path {path:?} must be /Users or /Groups for POST, /Users/<id> or /Groups/<id> otherwise"
        ));
    }
    let data = get("data").cloned();
    if method != Method::DELETE && data.is_none() {
        return Err(format!("{method} needs data"));
    }
    let bulk_id = text("bulkId");
    if method == Method::POST && bulk_id.is_none() {
        return Err("POST needs a bulkId".into());
    }
    Ok(Operation {
        method,
        bulk_id,
        path,
        data,
        version: text("version"),
    })
}

const BULK_ID_PREFIX: &str = "bulkId:";

/// Calls `visit` with every string of `data` that may hold a `bulkId:` reference
/// (RFC 7644 §3.7.2): the `value` or `$ref` of a reference (a group's member, a
/// manager), and a PATCH operation's value where its path names such a sub-attribute.
/// Anywhere else `bulkId:…` is just text (a title may read "bulkId:x").
fn reference_slots(data: &mut Value, visit: &mut impl FnMut(&mut String)) {
    let names_reference = |key: &str| key.eq_ignore_ascii_case("value") || key == "$ref";
    match data {
        Value::Array(items) => items.iter_mut().for_each(|i| reference_slots(i, visit)),
        Value::Object(fields) => {
            // A PATCH operation: its `value` is the new value of what `path` names.
            let is_operation = fields.keys().any(|k| k.eq_ignore_ascii_case("op"));
            let patch_path = is_operation.then(|| {
                fields
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("path"))
                    .and_then(|(_, p)| p.as_str())
                    .unwrap_or_default()
                    .to_owned()
            });
            for (key, value) in fields.iter_mut() {
                match value {
                    Value::String(s) => {
                        let slot = match &patch_path {
                            Some(path) if key.eq_ignore_ascii_case("value") => {
                                path.rsplit(['.', ']']).next().is_some_and(names_reference)
                            }
                            Some(_) => false,
                            None => names_reference(key),
                        };
                        if slot {
                            visit(s);
                        }
                    }
                    other => reference_slots(other, visit),
                }
            }
        }
        _ => {}
    }
}

/// Every `bulkId:<id>` the operation names: in its path, or in a reference of its data.
fn references(op: &Operation) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(id) = op
        .path
        .rsplit('/')
        .next()
        .and_then(|s| s.strip_prefix(BULK_ID_PREFIX))
    {
        out.push(id.to_owned());
    }
    if let Some(mut data) = op.data.clone() {
        reference_slots(&mut data, &mut |s| {
            if let Some(id) = s.strip_prefix(BULK_ID_PREFIX) {
                out.push(id.to_owned());
            }
        });
    }
    out
}

/// The operation with every `bulkId:<id>` reference replaced by the id of the resource
/// created.
fn resolve(op: &Operation, created: &HashMap<String, String>) -> Operation {
    let mut op = op.clone();
    if let Some((head, last)) = op.path.rsplit_once('/')
        && let Some(id) = last
            .strip_prefix(BULK_ID_PREFIX)
            .and_then(|b| created.get(b))
    {
        op.path = format!("{head}/{id}");
    }
    if let Some(data) = &mut op.data {
        reference_slots(data, &mut |s| {
            if let Some(id) = s.strip_prefix(BULK_ID_PREFIX).and_then(|b| created.get(b)) {
                *s = id.clone();
            }
        });
    }
    op
}

/// The order to run operations in: as sent, except that an operation waits for the
/// operations whose resources it names. `Err` for each operation that cannot run: it
/// names a bulkId no operation creates, or waits in a cycle.
fn schedule(ops: &[Operation]) -> (Vec<usize>, Vec<(usize, ScimError, u16)>) {
    let by_id: HashMap<&str, usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, op)| op.method == Method::POST)
        .filter_map(|(i, op)| op.bulk_id.as_deref().map(|b| (b, i)))
        .collect();
    let mut order = Vec::with_capacity(ops.len());
    let mut failed = Vec::new();
    let mut pending: Vec<(usize, Vec<usize>)> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let mut deps = Vec::new();
        let mut unknown = None;
        for r in references(op) {
            match by_id.get(r.as_str()) {
                Some(&d) if d != i => deps.push(d),
                _ => unknown = Some(r),
            }
        }
        match unknown {
            Some(r) => failed.push((
                i,
                ScimError::invalid_value(format!(
                    "no operation of this request creates bulkId {r:?}"
                )),
                400,
            )),
            None => pending.push((i, deps)),
        }
    }
    let mut done = HashSet::new();
    loop {
        let before = pending.len();
        pending.retain(|(i, deps)| {
            if deps.iter().all(|d| done.contains(d)) {
                order.push(*i);
                done.insert(*i);
                false
            } else {
                true
            }
        });
        if pending.is_empty() || pending.len() == before {
            break;
        }
    }
    for (i, _) in pending {
        failed.push((
            i,
            ScimError::invalid_value("its bulkId references form a cycle that cannot be resolved"),
            409,
        ));
    }
    (order, failed)
}

/// The response entry of an operation that did not run.
fn refused(op: &Operation, status: u16, e: &ScimError) -> Value {
    let mut body = e.to_body();
    body["status"] = status.to_string().into();
    entry(op, status, None, None, Some(body))
}

fn entry(
    op: &Operation,
    status: u16,
    location: Option<String>,
    version: Option<String>,
    response: Option<Value>,
) -> Value {
    let mut e = Map::new();
    e.insert("method".into(), op.method.as_str().into());
    if let Some(b) = &op.bulk_id {
        e.insert("bulkId".into(), b.clone().into());
    }
    if let Some(l) = location {
        e.insert("location".into(), l.into());
    }
    if let Some(v) = version {
        e.insert("version".into(), v.into());
    }
    e.insert("status".into(), status.to_string().into());
    if let Some(r) = response {
        e.insert("response".into(), r);
    }
    Value::Object(e)
}

async fn bulk(
    scope: Scope,
    token: Option<Extension<TokenId>>,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> Result<Response, ApiError> {
    let request = parse(&body)?;
    let bearer = bearer_token(&headers).unwrap_or_default();
    let token = token.map(|Extension(TokenId(id))| id);
    let (order, failed) = schedule(&request.operations);
    let mut results: Vec<Option<Value>> = vec![None; request.operations.len()];
    let mut errors = 0;
    let mut failed_ids: HashSet<String> = HashSet::new();
    for (i, e, status) in &failed {
        results[*i] = Some(refused(&request.operations[*i], *status, e));
        errors += 1;
        if let Some(b) = &request.operations[*i].bulk_id {
            failed_ids.insert(b.clone());
        }
    }
    let mut created: HashMap<String, String> = HashMap::new();
    for i in order {
        if request.fail_on_errors.is_some_and(|limit| errors >= limit) {
            break;
        }
        let op = &request.operations[i];
        // A token revoked (or expired) while its bulk runs stops it: the operations
        // after it are not run.
        if !still_valid(&scope, bearer).await {
            let e = ScimError::Unauthorized(
                "the bearer token was revoked while this bulk request ran; the operations after this one were not run".into(),
            );
            results[i] = Some(refused(op, 401, &e));
            break;
        }
        if let Some(r) = references(op).into_iter().find(|r| failed_ids.contains(r)) {
            let e = ScimError::invalid_value(format!("the operation creating bulkId {r:?} failed"));
            results[i] = Some(refused(op, 409, &e));
            errors += 1;
            if let Some(b) = &op.bulk_id {
                failed_ids.insert(b.clone());
            }
            continue;
        }
        let op = resolve(op, &created);
        let at = OffsetDateTime::now_utc();
        let started = Instant::now();
        let outcome = match scope.state.quotas.admit_request(scope.directory) {
            Ok(()) => run(&scope, &op).await,
            Err(e) => Err(e),
        };
        let (status, error) = match &outcome {
            Ok(done) => (done.status.as_u16(), None),
            Err(e) => {
                let (status, body) = e.status_and_body();
                (status, Some(body))
            }
        };
        let path = format!("/scim/v2/{}{}", scope.directory, op.path);
        let (body, resource) = match (&error, &op.data) {
            (Some(_), Some(data)) => {
                let (body, name) = scope.state.requests.inspect_value(data);
                (Some(body), name)
            }
            _ => (None, None),
        };
        scope.state.requests.record(Entry {
            directory_id: scope.directory,
            token,
            at,
            method: op.method.to_string(),
            resource_id: request_log::resource_of(&path)
                .or_else(|| outcome.as_ref().ok().and_then(|d| d.created)),
            path,
            status,
            duration_ms: started.elapsed().as_secs_f32() * 1000.0,
            detail: error
                .as_ref()
                .and_then(|b| b["detail"].as_str())
                .map(str::to_owned),
            resource,
            body,
        });
        let entry = match outcome {
            Ok(done) => {
                if let (Some(b), Some(id)) = (&op.bulk_id, done.created) {
                    created.insert(b.clone(), id.to_string());
                }
                let location = done.location.unwrap_or_else(|| {
                    format!("{}{}", scope.state.base_url(scope.directory), op.path)
                });
                entry(&op, status, Some(location), done.version, None)
            }
            Err(_) => {
                errors += 1;
                if let Some(b) = &op.bulk_id {
                    failed_ids.insert(b.clone());
                }
                // A failed POST names no resource; any other operation names its path's.
                let location = (op.method != Method::POST)
                    .then(|| format!("{}{}", scope.state.base_url(scope.directory), op.path));
                entry(&op, status, location, None, error)
            }
        };
        results[i] = Some(entry);
    }
    let operations: Vec<Value> = results.into_iter().flatten().collect();
    Ok(scim(
        StatusCode::OK,
        &json!({"schemas": [BULK_RESPONSE], "Operations": operations}),
        None,
    ))
}

/// Whether `bearer` still names the scope's directory: from the token cache, which
/// forgets a directory as soon as any replica announces a revocation. A database that
/// cannot say leaves the operation to find out for itself.
async fn still_valid(scope: &Scope, bearer: &str) -> bool {
    let state = &scope.state;
    match state.tokens.authenticate(&state.pool, bearer).await {
        Ok((TokenCheck::Valid(caller), _)) => caller.directory == scope.directory,
        Ok(_) => false,
        Err(_) => true,
    }
}

/// What an operation that succeeded did.
struct Done {
    status: StatusCode,
    /// The id of the resource a POST created.
    created: Option<Uuid>,
    /// Where the resource is, when the command said.
    location: Option<String>,
    /// Its ETag after the change (none after a deletion).
    version: Option<String>,
}

impl Done {
    fn user(status: StatusCode, saved: &users::Saved) -> Done {
        Done {
            status,
            created: None,
            location: saved.location().map(str::to_owned),
            version: Some(saved.etag.clone()),
        }
    }

    fn group(status: StatusCode, scope: &Scope, saved: &StoredGroup) -> Done {
        let meta = representation::group_meta(&scope.state, scope.directory, saved);
        Done {
            status,
            created: None,
            version: Some(meta.etag()),
            location: Some(meta.location),
        }
    }

    fn deleted() -> Done {
        Done {
            status: StatusCode::NO_CONTENT,
            created: None,
            location: None,
            version: None,
        }
    }
}

/// Runs one operation (its path validated by [`parse`], its references resolved) with
/// the command a single request of its method and path calls; answers as that request
/// would, but never with a body: a bulk response carries only errors.
async fn run(scope: &Scope, op: &Operation) -> Result<Done, ApiError> {
    let if_match = IfMatch::from_version(op.version.as_deref());
    let data = || op.data.clone().unwrap_or_default();
    let mut path = op.path.trim_start_matches('/').split('/');
    match (path.next().unwrap_or_default(), path.next(), &op.method) {
        ("Users", None, &Method::POST) => {
            let saved = users::create(scope, User::from_request(data())?).await?;
            Ok(Done {
                created: Some(saved.id),
                ..Done::user(StatusCode::CREATED, &saved)
            })
        }
        ("Users", Some(id), &Method::PUT) => {
            let new = User::from_request(data())?;
            let saved = users::replace(scope, users::id(id)?, &if_match, new).await?;
            Ok(Done::user(StatusCode::OK, &saved))
        }
        ("Users", Some(id), &Method::PATCH) => {
            let operations = patch::parse_request(data())?;
            let saved = users::patch(scope, users::id(id)?, &if_match, &operations).await?;
            Ok(Done::user(StatusCode::OK, &saved))
        }
        ("Users", Some(id), &Method::DELETE) => {
            users::delete(scope, users::id(id)?, &if_match).await?;
            Ok(Done::deleted())
        }
        ("Groups", None, &Method::POST) => {
            let (group, members) = Group::from_request(data())?;
            let saved = groups::create(scope, group, members).await?;
            Ok(Done {
                created: Some(saved.id),
                ..Done::group(StatusCode::CREATED, scope, &saved)
            })
        }
        ("Groups", Some(id), &Method::PUT) => {
            let (new, members) = Group::from_request(data())?;
            let id = groups::id(id)?;
            let saved = groups::replace(scope, id, &if_match, new, members).await?;
            Ok(Done::group(StatusCode::OK, scope, &saved))
        }
        // As a single PATCH of a group without a projection answers: 204.
        ("Groups", Some(id), &Method::PATCH) => {
            let operations = patch::parse_request(data())?;
            let saved = groups::patch(scope, groups::id(id)?, &if_match, &operations).await?;
            Ok(Done::group(StatusCode::NO_CONTENT, scope, &saved))
        }
        ("Groups", Some(id), &Method::DELETE) => {
            groups::delete(scope, groups::id(id)?, &if_match).await?;
            Ok(Done::deleted())
        }
        _ => Err(ScimError::invalid_value(format!(
            "{} {} is not an operation /Bulk runs",
            op.method, op.path
        ))
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

    fn ops(v: Value) -> Result<BulkRequest, ScimError> {
        parse(&json!({"schemas": [BULK_REQUEST], "Operations": v}))
    }

    fn post(bulk_id: &str, path: &str, data: Value) -> Value {
        json!({"method": "POST", "bulkId": bulk_id, "path": path, "data": data})
    }

    #[test]
    fn requests_are_validated_before_anything_runs() {
        let e = |v| ops(v).unwrap_err();
        assert_eq!(
            e(json!([{"method": "POST", "path": "/Users", "data": {}}])).scim_type(),
            Some(scim_core::ScimType::InvalidValue)
        );
        assert!(
            e(json!([{"method": "GET", "path": "/Users/x"}]))
                .to_string()
                .contains("method")
        );
        for path in ["/Bulk", "/Users/x/y", "Users", "/Users?x=1", "/Schemas/x"] {
            assert!(
                e(json!([{"method": "DELETE", "path": path}]))
                    .to_string()
                    .contains("path"),
                "{path}"
            );
        }
        assert!(
            e(json!([{"method": "PUT", "path": "/Users/x"}]))
                .to_string()
                .contains("data")
        );
        assert!(
            e(json!([
                post("a", "/Users", json!({})),
                post("a", "/Users", json!({}))
            ]))
            .to_string()
            .contains("twice")
        );
        let many: Vec<Value> = (0..=MAX_OPERATIONS)
            .map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")}))
            .collect();
        assert_eq!(e(json!(many)).status(), 413);
        assert!(parse(&json!({"failOnErrors": 0, "Operations": []})).is_err());
        let ok = parse(&json!({"failonerrors": 2, "operations": [{"method": "patch", "path": "/groups/g", "data": {}, "version": "W/\"3\""}]})).unwrap();
        assert_eq!(
            ok.operations[0].path, "/Groups/g",
            "endpoint names in any case"
        );
        assert_eq!(ok.fail_on_errors, Some(2));
        assert_eq!(
            (
                ok.operations[0].method.clone(),
                ok.operations[0].version.as_deref()
            ),
            (Method::PATCH, Some("W/\"3\""))
        );
    }

    #[test]
    fn references_wait_for_their_creators_and_cycles_or_strangers_fail() {
        let request = ops(json!([
            post("g", "/Groups", json!({"displayName": "G", "members": [{"value": "bulkId:u1"}, {"value": "bulkId:u2"}]})),
            post("u1", "/Users", json!({"userName": "a"})),
            {"method": "PATCH", "path": "/Users/bulkId:u2", "data": {}},
            post("u2", "/Users", json!({"userName": "b"})),
            {"method": "DELETE", "path": "/Users/bulkId:nobody"},
            post("x", "/Groups", json!({"displayName": "X", "members": [{"value": "bulkId:y"}]})),
            post("y", "/Groups", json!({"displayName": "Y", "members": [{"value": "bulkId:x"}]})),
        ]))
        .unwrap();
        let (order, failed) = schedule(&request.operations);
        assert_eq!(order, [1, 3, 0, 2]);
        let failed: Vec<(usize, u16)> = failed.iter().map(|(i, _, s)| (*i, *s)).collect();
        assert_eq!(failed, [(4, 400), (5, 409), (6, 409)]);
    }

    #[test]
    fn resolving_replaces_references_in_path_and_data() {
        let request = ops(json!([{"method": "PUT", "path": "/Groups/bulkId:g", "data": {"members": [{"value": "bulkId:u"}, {"value": "bulkId:other"}], "note": "bulkId:u"}}])).unwrap();
        let created = HashMap::from([
            ("g".to_owned(), "G1".to_owned()),
            ("u".to_owned(), "U1".to_owned()),
        ]);
        let op = resolve(&request.operations[0], &created);
        assert_eq!(op.path, "/Groups/G1");
        assert_eq!(
            op.data.unwrap(),
            json!({"members": [{"value": "U1"}, {"value": "bulkId:other"}], "note": "bulkId:u"}),
            "only references are resolved: a note is text"
        );
    }

    #[test]
    fn references_are_only_where_the_rfc_puts_them() {
        let request = ops(json!([
            {"method": "POST", "bulkId": "a", "path": "/Users", "data": {
                "userName": "a", "title": "bulkId:x", "nickName": ["bulkId:x"],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                    "manager": {"value": "bulkId:boss", "$ref": "bulkId:boss"}},
            }},
            {"method": "PATCH", "path": "/Groups/bulkId:g", "data": {"Operations": [
                {"op": "add", "path": "members", "value": [{"value": "bulkId:m"}]},
                {"op": "replace", "path": "title", "value": "bulkId:not-a-reference"},
                {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", "value": "bulkId:boss2"},
            ]}},
        ]))
        .unwrap();
        assert_eq!(references(&request.operations[0]), ["boss", "boss"]);
        assert_eq!(references(&request.operations[1]), ["g", "m", "boss2"]);
    }
}
