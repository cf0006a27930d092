//! Creating, changing and deleting a user: each writes the user with its event in one
//! statement, and returns only after it committed. Single-user reads and writes run in
//! batches with those of concurrent requests ([`Batches`]).

use scim_core::ScimError;
use scim_core::controls::{check_domains, over_capacity};
use scim_core::patch::{self, Operation};
use scim_core::user::User;
use scim_events::{Action, Event, ResourceType, previous};
use scim_service::telemetry::current_traceparent;
use scim_store::directories::{self, ExistingMembers};
use scim_store::users::{self, StoredUser, UserRow, UserWrite};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use std::collections::HashMap;
use uuid::Uuid;

use super::batch::{Batch, Batcher};
use super::{Scope, WRITE_ATTEMPTS};
use crate::AppState;
use crate::error::{ApiError, user_name_taken};
use crate::etag::IfMatch;
use crate::representation;

/// Most users read or written in one statement.
const MAX_BATCH: usize = 128;
/// Write batches of each kind running at once (each holds a database connection
/// meanwhile).
const RUNNERS: usize = 4;
/// Read batches running at once. One: a read is short, and a batch that starts as soon
/// as a runner is free holds the reads that arrived meanwhile; most of a read batch's
/// database cost is the statement, not its rows, so fewer, fuller batches serve more
/// GETs than more runners do (docs/benchmarks-history.md).
const READ_RUNNERS: usize = 1;

/// Single-user reads, creates and updates, each kind batched across requests.
#[derive(Clone)]
pub(crate) struct Batches {
    reads: Batcher<Reads>,
    creates: Batcher<Creates>,
    updates: Batcher<Updates>,
}

impl Batches {
    pub(crate) fn start(pool: &PgPool) -> Batches {
        Batches {
            reads: Batcher::start(pool.clone(), READ_RUNNERS, MAX_BATCH),
            creates: Batcher::start(pool.clone(), RUNNERS, MAX_BATCH),
            updates: Batcher::start(pool.clone(), RUNNERS, MAX_BATCH),
        }
    }

    /// The user, as a read starting after this call sees it.
    pub(crate) async fn read(
        &self,
        directory: Uuid,
        id: Uuid,
    ) -> Result<Option<StoredUser>, ApiError> {
        let row = self.read_row(directory, id).await?;
        Ok(row.as_ref().map(UserRow::decode).transpose()?)
    }

    /// [`Batches::read`], the user not yet decoded.
    pub(crate) async fn read_row(
        &self,
        directory: Uuid,
        id: Uuid,
    ) -> Result<Option<UserRow>, ApiError> {
        self.reads.run((directory, id)).await
    }
}

/// A user to write with its event.
struct Write {
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

    /// A user stored under its own id was created by the lost run (it committed).
    async fn rerun(conn: &mut PgConnection, writes: &[Write]) -> Result<Vec<bool>, sqlx::Error> {
        let mut created = users::insert_many(&mut *conn, &rows(writes)).await?;
        let refused: Vec<(Uuid, Uuid)> = writes
            .iter()
            .zip(&created)
            .filter(|(_, created)| !**created)
            .map(|(w, _)| (w.directory, w.user.id))
            .collect();
        if refused.is_empty() {
            return Ok(created);
        }
        let stored = users::get_rows(&mut *conn, &refused)
            .await?
            .iter()
            .map(UserRow::key)
            .collect::<Result<Vec<_>, _>>()?;
        for (write, created) in writes.iter().zip(created.iter_mut()) {
            *created |= stored.contains(&(write.directory, write.user.id));
        }
        Ok(created)
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

/// A user as a command left it: its resource and ETag.
pub(crate) struct Saved {
    pub id: Uuid,
    pub resource: Value,
    pub etag: String,
}

impl Saved {
    fn of(state: &AppState, directory: Uuid, stored: StoredUser) -> Saved {
        let id = stored.id;
        let (resource, etag) = representation::user(state, directory, stored);
        Saved { id, resource, etag }
    }

    /// Where the user is (`meta.location`).
    pub(crate) fn location(&self) -> Option<&str> {
        self.resource["meta"]["location"].as_str()
    }
}

/// A user id from a path: an unknown or malformed id is simply not found in this
/// directory.
pub(crate) fn id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::try_parse(text).map_err(|_| not_found())
}

pub(crate) fn not_found() -> ApiError {
    ScimError::NotFound("no such user in this directory".into()).into()
}

/// Creates the user, active unless it says otherwise; its email addresses must be on
/// the directory's trusted domains, and an active user needs a free seat.
pub(crate) async fn create(scope: &Scope, mut user: User) -> Result<Saved, ApiError> {
    let (state, directory, controls) = (&scope.state, scope.directory, &scope.controls);
    state.check_user_size(&user, None)?;
    if !user.has_active() {
        // Stored explicitly, so the representation says what the member's state is.
        user.set_active(true);
    }
    check_domains(&user, None, &controls.trusted_domains)?;
    if controls.existing_members == ExistingMembers::Refuse {
        refuse_existing(state, directory, &user).await?;
    }
    let stored = StoredUser::new(user);
    let saved = Saved::of(state, directory, stored.clone());
    let event = Event::new(
        directory,
        ResourceType::User,
        stored.id,
        Action::Created,
        stored.version,
        saved.resource.clone(),
        None,
    )
    .traced(current_traceparent());
    let write = Write {
        directory,
        user: stored,
        event,
    };
    let created = if controls.seat_limit.is_some() && write.user.user.active() {
        write_within_seats(state, &write, async |tx, rows| {
            users::insert_many(tx, rows).await
        })
        .await?
    } else {
        state.users.creates.run(write).await?
    };
    if !created {
        return Err(user_name_taken());
    }
    Ok(saved)
}

/// In a directory that refuses existing members: 409 `uniqueness` when the product
/// already has a member made by hand with the user's email, naming it.
async fn refuse_existing(state: &AppState, directory: Uuid, user: &User) -> Result<(), ApiError> {
    let Some(email) = user.main_email() else {
        return Ok(());
    };
    match scim_product::members::made_by_hand(&state.pool, directory, email).await? {
        None => Ok(()),
        Some(member) => Err(ScimError::Conflict(format!(
            "{email} is already a member of the product (member {member}, made by hand) and this \
             directory does not take over existing members: remove that member in the product, \
             or ask its team to let provisioning adopt existing members"
        ))
        .into()),
    }
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

/// PUT: replaces the user. Okta's wizard-built apps send PUT for every change, often
/// without `active`: an omitted `active` keeps the current state rather than silently
/// deactivating or reactivating the user.
pub(crate) async fn replace(
    scope: &Scope,
    id: Uuid,
    if_match: &IfMatch,
    new: User,
) -> Result<Saved, ApiError> {
    update(scope, id, if_match, |existing| {
        let mut new = new.clone();
        if !new.has_active() && existing.has_active() {
            new.set_active(existing.active());
        }
        Ok(new)
    })
    .await
}

/// PATCH: applies the operations to the user as it is.
pub(crate) async fn patch(
    scope: &Scope,
    id: Uuid,
    if_match: &IfMatch,
    operations: &[Operation],
) -> Result<Saved, ApiError> {
    update(scope, id, if_match, |existing| {
        patch::apply(existing, operations)
    })
    .await
}

/// Reads the user, computes its new state with `change`, and writes it with its event
/// unless someone changed the user in between, in which case it starts over (an
/// `If-Match` the user no longer satisfies then fails with 412). A change
/// that changes nothing writes nothing: no new version, no event. The directory's
/// controls apply: new email addresses must be on its trusted domains, and a
/// reactivation needs a free seat.
async fn update(
    scope: &Scope,
    id: Uuid,
    if_match: &IfMatch,
    change: impl Fn(&User) -> Result<User, ScimError>,
) -> Result<Saved, ApiError> {
    let (state, directory, controls) = (&scope.state, scope.directory, &scope.controls);
    for _ in 0..WRITE_ATTEMPTS {
        let existing = state
            .users
            .read(directory, id)
            .await?
            .ok_or_else(not_found)?;
        if_match.check(existing.version)?;
        let new = change(&existing.user)?;
        state.check_user_size(&new, Some(&existing.user))?;
        if new == existing.user {
            return Ok(Saved::of(state, directory, existing));
        }
        check_domains(&new, Some(&existing.user), &controls.trusted_domains)?;
        let next = existing.next(new);
        let saved = Saved::of(state, directory, next.clone());
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
            saved.resource.clone(),
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
            return Ok(saved);
        }
    }
    Err(ApiError::Contention)
}

/// Deletes the user with its `user.deleted` event, unless it changed meanwhile (then
/// it starts over, and a stale `If-Match` fails with 412).
pub(crate) async fn delete(scope: &Scope, id: Uuid, if_match: &IfMatch) -> Result<(), ApiError> {
    delete_in(&scope.state, scope.directory, id, if_match).await
}

/// Deletes a user of `directory` (what [`delete`] does without a caller's controls, for
/// the directory's own retention).
pub(crate) async fn delete_in(
    state: &AppState,
    directory: Uuid,
    id: Uuid,
    if_match: &IfMatch,
) -> Result<(), ApiError> {
    for _ in 0..WRITE_ATTEMPTS {
        let last = state
            .users
            .read(directory, id)
            .await?
            .ok_or_else(not_found)?;
        let version = last.version;
        if_match.check(version)?;
        let event = deleted(state, directory, last).traced(current_traceparent());
        let mut tx = state.pool.begin().await?;
        if users::delete(&mut tx, directory, id, version, &event).await? {
            tx.commit().await?;
            return Ok(());
        }
    }
    Err(ApiError::Contention)
}

/// The `user.deleted` event of a user as it was last: it takes the next version
/// number and carries the user's last representation. A deletion of the whole
/// directory writes one for each of its users.
pub(crate) fn deleted(state: &AppState, directory: Uuid, last: StoredUser) -> Event {
    let (id, version) = (last.id, last.version);
    let (resource, _) = representation::user(state, directory, last);
    Event::new(
        directory,
        ResourceType::User,
        id,
        Action::Deleted,
        version + 1,
        resource,
        None,
    )
}
