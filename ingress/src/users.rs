//! `/Users` (RFC 7644 §3): handlers validate, then write the change and its outbox
//! event in one statement, and answer only after it committed. Single-user reads and
//! writes run in batches with those of concurrent requests ([`Batches`]).

use axum::Router;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use scim_core::ScimError;
use scim_core::controls::{check_domains, over_capacity};
use scim_core::filter::sql::USERS;
use scim_core::patch;
use scim_core::projection::Projection;
use scim_core::schema::{ResourceSchema, USER};
use scim_core::user::{Meta, User, groups_json};
use scim_events::{Action, Event, ResourceType, previous};
use scim_service::telemetry::current_traceparent;
use scim_store::directories::{self, Controls};
use scim_store::users::{self, StoredText, StoredUser, UserRow, UserWrite};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use std::collections::HashMap;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::auth::DirectoryId;
use crate::batch::{Batch, Batcher};
use crate::error::{ApiError, user_name_taken};
use crate::etag;
use crate::extract::{ScimJson, scim, scim_bytes};
use crate::list::{ListQuery, Listed, list, search};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/scim/v2/{directory_id}/Users",
            get(list::<Users>).post(create),
        )
        .route(
            "/scim/v2/{directory_id}/Users/.search",
            post(search::<Users>),
        )
        .route(
            "/scim/v2/{directory_id}/Users/{id}",
            get(fetch).put(replace).patch(modify).delete(remove),
        )
}

/// Most users read or written in one statement.
const MAX_BATCH: usize = 128;
/// Write batches of each kind running at once (each holds a database connection
/// meanwhile).
const RUNNERS: usize = 4;
/// Read batches running at once. One: a read is short, and a batch that starts as soon
/// as a runner is free holds the reads that arrived meanwhile; most of a read batch's
/// database cost is the statement, not its rows, so fewer, fuller batches serve more
/// GETs (at 32 requests in flight, batches of about 9 reads instead of 5 with two
/// runners, a quarter less Postgres CPU per GET and 8 % more GETs per second; four
/// runners were slower still).
const READ_RUNNERS: usize = 1;

/// Single-user reads, creates and updates, each kind batched across requests.
#[derive(Clone)]
pub struct Batches {
    reads: Batcher<Reads>,
    creates: Batcher<Creates>,
    updates: Batcher<Updates>,
}

impl Batches {
    pub fn start(pool: &PgPool) -> Batches {
        Batches {
            reads: Batcher::start(pool.clone(), READ_RUNNERS, MAX_BATCH),
            creates: Batcher::start(pool.clone(), RUNNERS, MAX_BATCH),
            updates: Batcher::start(pool.clone(), RUNNERS, MAX_BATCH),
        }
    }

    /// The user, as a read starting after this call sees it.
    pub async fn read(&self, directory: Uuid, id: Uuid) -> Result<Option<StoredUser>, ApiError> {
        let row = self.read_row(directory, id).await?;
        Ok(row.as_ref().map(UserRow::decode).transpose()?)
    }

    /// [`Batches::read`], the user not yet decoded.
    pub async fn read_row(&self, directory: Uuid, id: Uuid) -> Result<Option<UserRow>, ApiError> {
        self.reads.run((directory, id)).await
    }
}

/// A user to write with its event.
pub struct Write {
    directory: Uuid,
    user: StoredUser,
    event: Event,
}

impl Write {
    fn row(&self) -> UserWrite<'_> {
        UserWrite {
            directory_id: self.directory,
            user: &self.user,
            event: &self.event,
        }
    }
}

fn rows(writes: &[Write]) -> Vec<UserWrite<'_>> {
    writes.iter().map(Write::row).collect()
}

struct Reads;

impl Batch for Reads {
    type Item = (Uuid, Uuid);
    type Output = Option<UserRow>;

    async fn run(
        conn: &mut PgConnection,
        keys: &[(Uuid, Uuid)],
    ) -> Result<Vec<Option<UserRow>>, sqlx::Error> {
        let mut found: HashMap<(Uuid, Uuid), UserRow> = users::get_rows(conn, keys)
            .await?
            .into_iter()
            .map(|row| Ok((row.key()?, row)))
            .collect::<Result<_, sqlx::Error>>()?;
        // A user asked for twice in one batch is copied for all but the last asker.
        Ok(keys
            .iter()
            .enumerate()
            .map(|(i, key)| {
                if keys[i + 1..].contains(key) {
                    found.get(key).cloned()
                } else {
                    found.remove(key)
                }
            })
            .collect())
    }
}

/// Creates: whether each user was created (false: its userName is taken).
struct Creates;

impl Batch for Creates {
    type Item = Write;
    type Output = bool;

    async fn run(conn: &mut PgConnection, writes: &[Write]) -> Result<Vec<bool>, sqlx::Error> {
        users::insert_many(conn, &rows(writes)).await
    }
}

/// Updates: whether each was written (false: the user changed since it was read).
struct Updates;

impl Batch for Updates {
    type Item = Write;
    type Output = bool;

    async fn run(conn: &mut PgConnection, writes: &[Write]) -> Result<Vec<bool>, sqlx::Error> {
        users::update_many(conn, &rows(writes)).await
    }
}

/// The user's SCIM representation and ETag. It takes the stored user: a read renders
/// what it read and is done with it.
pub(crate) fn representation(
    state: &AppState,
    directory: Uuid,
    stored: StoredUser,
) -> (Value, String) {
    let meta = meta(
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

/// [`representation`] written straight from the stored text, with its ETag, or `304`
/// when the client has this version.
fn write_representation(
    state: &AppState,
    directory: Uuid,
    row: &UserRow,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let StoredText { attrs, head } = row.text()?;
    let meta = meta(
        state,
        directory,
        head.id,
        head.version,
        head.created,
        head.last_modified,
    );
    let etag = meta.etag();
    if etag::not_modified(headers, head.version) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    let groups =
        (!head.groups.is_empty()).then(|| groups_json(&head.groups, &groups_url(state, directory)));
    let mut body = Vec::with_capacity(1024);
    attrs
        .write_resource(&mut body, &head.id.to_string(), &meta, groups.as_ref())
        .map_err(|e| ApiError::Internal(format!("writing a user: {e}")))?;
    Ok(scim_bytes(StatusCode::OK, body, Some(etag)))
}

fn meta(
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

fn groups_url(state: &AppState, directory: Uuid) -> String {
    format!("{}/Groups", state.base_url(directory))
}

/// An unknown or malformed id is simply not found in this directory.
fn user_id(params: &HashMap<String, String>) -> Result<Uuid, ApiError> {
    params
        .get("id")
        .and_then(|id| Uuid::try_parse(id).ok())
        .ok_or_else(not_found)
}

fn not_found() -> ApiError {
    ScimError::NotFound("no such user in this directory".into()).into()
}

async fn create(
    State(state): State<AppState>,
    Extension(DirectoryId(directory)): Extension<DirectoryId>,
    Extension(controls): Extension<Controls>,
    ScimJson(body): ScimJson,
) -> Result<Response, ApiError> {
    let mut user = User::from_request(body)?;
    state.check_size("user", user.attrs())?;
    if !user.has_active() {
        // Stored explicitly, so the representation says what the member's state is.
        user.set_active(true);
    }
    check_domains(&user, None, &controls.trusted_domains)?;
    let stored = StoredUser::new(user);
    let (resource, etag) = representation(&state, directory, stored.clone());
    let event = Event::new(
        directory,
        ResourceType::User,
        stored.id,
        Action::Created,
        stored.version,
        resource.clone(),
        None,
    )
    .traced(current_traceparent());
    let write = Write {
        directory,
        user: stored,
        event,
    };
    let created = if controls.seat_limit.is_some() && write.user.user.active() {
        write_within_seats(&state, &write, async |tx, rows| {
            users::insert_many(tx, rows).await
        })
        .await?
    } else {
        state.users.creates.run(write).await?
    };
    if !created {
        return Err(user_name_taken());
    }
    let mut res = scim(StatusCode::CREATED, &resource, Some(etag));
    if let Some(location) = resource["meta"]["location"]
        .as_str()
        .and_then(|l| l.parse().ok())
    {
        res.headers_mut().insert(header::LOCATION, location);
    }
    Ok(res)
}

/// Writes a user that takes a seat (a create or reactivation in a directory with a
/// seat limit) alone, after counting the seats in use with the directory locked, so
/// concurrent activations cannot overshoot. Returns whether it was written.
async fn write_within_seats<F>(state: &AppState, write: &Write, how: F) -> Result<bool, ApiError>
where
    F: AsyncFnOnce(&mut sqlx::PgConnection, &[UserWrite<'_>]) -> Result<Vec<bool>, sqlx::Error>,
{
    let mut tx = state.pool.begin().await?;
    take_seat(&mut tx, write.directory).await?;
    let written = how(&mut tx, &[write.row()]).await?;
    tx.commit().await?;
    Ok(written == [true])
}

/// Refuses an activation past the directory's seat limit. The directory stays locked
/// until `conn`'s transaction ends, so concurrent activations are counted in turn.
async fn take_seat(conn: &mut sqlx::PgConnection, directory: Uuid) -> Result<(), ApiError> {
    match directories::seats_locked(conn, directory).await? {
        Some((limit, in_use)) if in_use >= limit => Err(over_capacity(limit, in_use).into()),
        _ => Ok(()),
    }
}

async fn fetch(
    State(state): State<AppState>,
    Extension(DirectoryId(directory)): Extension<DirectoryId>,
    Path(params): Path<HashMap<String, String>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let projection = ListQuery::projection(&USER, &query)?;
    let row = state
        .users
        .read_row(directory, user_id(&params)?)
        .await?
        .ok_or_else(not_found)?;
    if projection == Projection::All {
        return write_representation(&state, directory, &row, &headers);
    }
    let stored = row.decode()?;
    let version = stored.version;
    let (mut resource, etag) = representation(&state, directory, stored);
    if etag::not_modified(&headers, version) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    projection.apply(&mut resource);
    Ok(scim(StatusCode::OK, &resource, Some(etag)))
}

/// The users resource type, for the list handlers.
pub struct Users;

impl Listed for Users {
    const SCHEMA: &'static ResourceSchema = &USER;

    /// The total number of matching users and the page at `offset`, rendered and projected.
    async fn page(
        state: &AppState,
        directory: Uuid,
        query: &ListQuery,
        offset: i64,
        count: i64,
    ) -> Result<(i64, Vec<Value>), ApiError> {
        let (condition, order) = query.sql(&USERS)?;
        let _turn = state.quotas.list_turn(directory).await?;
        let (total, page) = users::list(
            &state.lists,
            directory,
            condition.as_ref(),
            &order,
            state.page_bounds(offset, count),
        )
        .await?;
        let resources = page
            .into_iter()
            .map(|u| {
                let mut resource = representation(state, directory, u).0;
                query.projection.apply(&mut resource);
                resource
            })
            .collect();
        Ok((total, resources))
    }
}

/// PUT replaces the user. Okta's wizard-built apps send PUT for every change, often
/// without `active`: an omitted `active` keeps the current state rather than silently
/// deactivating or reactivating the user.
async fn replace(
    State(state): State<AppState>,
    Extension(DirectoryId(directory)): Extension<DirectoryId>,
    Extension(controls): Extension<Controls>,
    Path(params): Path<HashMap<String, String>>,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> Result<Response, ApiError> {
    let id = user_id(&params)?;
    let new = User::from_request(body)?;
    update_with(&state, directory, &controls, id, &headers, |existing| {
        let mut new = new.clone();
        if !new.has_active() && existing.has_active() {
            new.set_active(existing.active());
        }
        Ok(new)
    })
    .await
}

async fn modify(
    State(state): State<AppState>,
    Extension(DirectoryId(directory)): Extension<DirectoryId>,
    Extension(controls): Extension<Controls>,
    Path(params): Path<HashMap<String, String>>,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> Result<Response, ApiError> {
    let id = user_id(&params)?;
    let operations = patch::parse_request(body)?;
    update_with(&state, directory, &controls, id, &headers, |existing| {
        patch::apply(existing, &operations)
    })
    .await
}

/// Optimistic writes retried this often before the client is told to retry (503).
const WRITE_ATTEMPTS: usize = 5;

/// Reads the user, computes its new state with `change`, and writes it with its event
/// unless someone changed the user in between, in which case it starts over (an
/// `If-Match` the user no longer satisfies then fails with 412). A change
/// that changes nothing writes nothing: no new version, no event. The directory's
/// controls apply: new email addresses must be on its trusted domains, and a
/// reactivation needs a free seat. Answers 200 with the user as it now is.
async fn update_with(
    state: &AppState,
    directory: Uuid,
    controls: &Controls,
    id: Uuid,
    headers: &HeaderMap,
    change: impl Fn(&User) -> Result<User, ScimError>,
) -> Result<Response, ApiError> {
    for _ in 0..WRITE_ATTEMPTS {
        let existing = state
            .users
            .read(directory, id)
            .await?
            .ok_or_else(not_found)?;
        etag::check_if_match(headers, existing.version)?;
        let new = change(&existing.user)?;
        state.check_size("user", new.attrs())?;
        if new == existing.user {
            let (resource, etag) = representation(state, directory, existing);
            return Ok(scim(StatusCode::OK, &resource, Some(etag)));
        }
        check_domains(&new, Some(&existing.user), &controls.trusted_domains)?;
        let next = existing.next(new);
        let (resource, etag) = representation(state, directory, next.clone());
        let action = Action::for_update(existing.user.active(), next.user.active());
        let previous = previous(
            (existing.user.attrs(), existing.user.schemas()),
            (next.user.attrs(), next.user.schemas()),
        );
        let event = Event::new(
            directory,
            ResourceType::User,
            id,
            action,
            next.version,
            resource.clone(),
            Some(previous),
        )
        .traced(current_traceparent());
        let write = Write {
            directory,
            user: next,
            event,
        };
        let written = if action == Action::Reactivated && controls.seat_limit.is_some() {
            write_within_seats(state, &write, async |tx, rows| {
                users::update_many(tx, rows).await
            })
            .await?
        } else {
            state.users.updates.run(write).await?
        };
        if written {
            return Ok(scim(StatusCode::OK, &resource, Some(etag)));
        }
    }
    Err(ApiError::Contention)
}

async fn remove(
    State(state): State<AppState>,
    Extension(DirectoryId(directory)): Extension<DirectoryId>,
    Path(params): Path<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = user_id(&params)?;
    for _ in 0..WRITE_ATTEMPTS {
        let last = state
            .users
            .read(directory, id)
            .await?
            .ok_or_else(not_found)?;
        let version = last.version;
        etag::check_if_match(&headers, version)?;
        let (resource, _) = representation(&state, directory, last);
        // The deletion takes the next version number.
        let event = Event::new(
            directory,
            ResourceType::User,
            id,
            Action::Deleted,
            version + 1,
            resource,
            None,
        )
        .traced(current_traceparent());
        let mut tx = state.pool.begin().await?;
        if users::delete(&mut tx, directory, id, version, &event).await? {
            tx.commit().await?;
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
    }
    Err(ApiError::Contention)
}
