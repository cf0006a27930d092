//! Group commit for user creates. When an identity provider pushes many users at once,
//! concurrent creates are written together: one statement, one round trip and one
//! commit for the lot, which is where a create's cost lies. A create that arrives alone
//! is written at once; nothing ever waits for company.

use scim_shared::db::users::{self, NewUser, StoredUser};
use scim_shared::event::Event;
use sqlx::PgPool;
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;

use crate::error::ApiError;

/// Most creates written in one statement.
const MAX_BATCH: usize = 128;
/// Batches written at once (each holds one database connection while it writes).
const WRITERS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    /// The userName is taken (possibly by a create in the same batch).
    Conflict,
}

struct Pending {
    directory_id: Uuid,
    user: StoredUser,
    event: Event,
    done: oneshot::Sender<Result<Outcome, ApiError>>,
}

#[derive(Clone)]
pub struct Creates {
    queue: mpsc::Sender<Pending>,
}

impl Creates {
    /// Starts the writers; they stop when every `Creates` handle is dropped.
    pub fn start(pool: PgPool) -> Creates {
        let (queue, rx) = mpsc::channel(MAX_BATCH * WRITERS * 4);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..WRITERS {
            tokio::spawn(write_batches(pool.clone(), rx.clone()));
        }
        Creates { queue }
    }

    /// Creates `user` with its `event`, in whatever batch it lands in.
    pub async fn create(
        &self,
        directory_id: Uuid,
        user: StoredUser,
        event: Event,
    ) -> Result<Outcome, ApiError> {
        let (done, outcome) = oneshot::channel();
        let pending = Pending {
            directory_id,
            user,
            event,
            done,
        };
        let stopped = || ApiError::Internal("the create writers have stopped".into());
        self.queue.send(pending).await.map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }
}

async fn write_batches(pool: PgPool, queue: Arc<Mutex<mpsc::Receiver<Pending>>>) {
    loop {
        let batch = {
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(p) => batch.push(p),
                    Err(_) => break,
                }
            }
            batch
        };
        let rows: Vec<NewUser> = batch
            .iter()
            .map(|p| NewUser {
                directory_id: p.directory_id,
                user: &p.user,
                event: &p.event,
            })
            .collect();
        let result = users::insert_many(&pool, &rows)
            .await
            .map_err(ApiError::from);
        for (i, p) in batch.into_iter().enumerate() {
            let outcome = match &result {
                Ok(created) if created[i] => Ok(Outcome::Created),
                Ok(_) => Ok(Outcome::Conflict),
                Err(e) => Err(e.clone()),
            };
            // The requester may have gone away (client disconnected): nothing to tell.
            let _ = p.done.send(outcome);
        }
    }
}
