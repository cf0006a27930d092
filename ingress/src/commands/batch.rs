//! Batching: concurrent requests of one kind share one statement, one round trip and
//! one commit, which is where most of a small request's database cost lies (when an
//! identity provider pushes many users at once, or many GETs arrive together). A
//! request that arrives alone runs at once; nothing ever waits for company.

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres};
use std::future::Future;
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::error::ApiError;
use scim_store::failure::Failure;

/// A kind of request that runs many at a time.
pub trait Batch: Send + Sync + 'static {
    type Item: Send + Sync + 'static;
    type Output: Send + 'static;

    /// Runs `items` together: one output per item, in their order.
    fn run(
        conn: &mut PgConnection,
        items: &[Self::Item],
    ) -> impl Future<Output = Result<Vec<Self::Output>, sqlx::Error>> + Send;

    /// Runs `items` again after the connection of a run was lost: the lost run did not
    /// take effect, or, lost at its commit, did. Outputs as [`Batch::run`]'s would have
    /// been; by default, running them again gives them.
    fn rerun(
        conn: &mut PgConnection,
        items: &[Self::Item],
    ) -> impl Future<Output = Result<Vec<Self::Output>, sqlx::Error>> + Send {
        Self::run(conn, items)
    }
}

/// Times a batch whose connection was lost runs again on a fresh one before its
/// requests are answered 503.
const LOST_RETRIES: usize = 3;

struct Pending<B: Batch> {
    item: B::Item,
    done: oneshot::Sender<Result<B::Output, ApiError>>,
}

pub struct Batcher<B: Batch> {
    queue: mpsc::Sender<Pending<B>>,
}

impl<B: Batch> Clone for Batcher<B> {
    fn clone(&self) -> Self {
        Batcher {
            queue: self.queue.clone(),
        }
    }
}

impl<B: Batch> Batcher<B> {
    /// Starts `runners` tasks, each running up to `max` items at a time and holding a
    /// database connection while it does; they stop when every handle is dropped.
    pub fn start(pool: PgPool, runners: usize, max: usize) -> Batcher<B> {
        let (queue, rx) = mpsc::channel(max * runners * 4);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..runners {
            tokio::spawn(run_batches::<B>(pool.clone(), rx.clone(), max));
        }
        Batcher { queue }
    }

    /// Runs `item` in whatever batch it lands in.
    pub async fn run(&self, item: B::Item) -> Result<B::Output, ApiError> {
        let (done, output) = oneshot::channel();
        let stopped = || ApiError::Internal("the batch runners have stopped".into());
        self.queue
            .send(Pending { item, done })
            .await
            .map_err(|_| stopped())?;
        output.await.map_err(|_| stopped())?
    }
}

/// A runner holds a database connection only while it has work: it takes one for a
/// batch and keeps it for the next while requests are waiting, so a busy runner does
/// not give its connection back and take it again for every batch (through the pool,
/// each statement also built a large stream and spawned a task to return the
/// connection: a tenth of a GET's work in the ingress).
async fn run_batches<B: Batch>(
    pool: PgPool,
    queue: Arc<Mutex<mpsc::Receiver<Pending<B>>>>,
    max: usize,
) {
    let mut batch = Vec::with_capacity(max);
    loop {
        {
            let mut queue = queue.lock().await;
            if queue.recv_many(&mut batch, max).await == 0 {
                return;
            }
        }
        let mut conn = match pool.acquire().await {
            Ok(conn) => conn,
            Err(e) => {
                let n = batch.len();
                answer(
                    batch.drain(..).map(|p| p.done),
                    failed(ApiError::from(e), n),
                );
                continue;
            }
        };
        // A failed batch ends the run: the connection may be what failed.
        while run_batch::<B>(&pool, &mut conn, &mut batch).await {
            // Taken by a runner waiting for items: let it run them.
            let Ok(mut queue) = queue.try_lock() else {
                break;
            };
            while batch.len() < max
                && let Ok(pending) = queue.try_recv()
            {
                batch.push(pending);
            }
            if batch.is_empty() {
                break;
            }
        }
    }
}

/// Runs and answers `batch`, leaving it empty; whether the connection is still good.
async fn run_batch<B: Batch>(
    pool: &PgPool,
    conn: &mut PoolConnection<Postgres>,
    batch: &mut Vec<Pending<B>>,
) -> bool {
    let (items, waiting): (Vec<B::Item>, Vec<_>) =
        batch.drain(..).map(|p| (p.item, p.done)).unzip();
    let (outputs, ok) = match run_items::<B>(pool, conn, &items).await {
        Ok(outputs) => (checked(outputs, items.len()), true),
        Err(e) if items.len() > 1 && !Failure::of(&e).is_transient() => {
            let mut outputs = Vec::with_capacity(items.len());
            let mut ok = true;
            for item in &items {
                let output = match run_items::<B>(pool, conn, std::slice::from_ref(item)).await {
                    Ok(output) => checked(output, 1).pop().unwrap_or_else(lost_track),
                    Err(e) => {
                        ok &= !Failure::of(&e).is_transient();
                        Err(ApiError::from(e))
                    }
                };
                outputs.push(output);
            }
            (outputs, ok)
        }
        Err(e) => {
            let ok = !Failure::of(&e).is_transient();
            (failed(ApiError::from(e), items.len()), ok)
        }
    };
    answer(waiting, outputs);
    ok
}

/// Runs `items` on `conn`, and again on a fresh connection when `conn` turns out to
/// have been lost (a failover, a restart; [`Batch::rerun`]).
async fn run_items<B: Batch>(
    pool: &PgPool,
    conn: &mut PoolConnection<Postgres>,
    items: &[B::Item],
) -> Result<Vec<B::Output>, sqlx::Error> {
    let mut lost = 0;
    loop {
        let ran = match lost {
            0 => B::run(conn, items).await,
            _ => B::rerun(conn, items).await,
        };
        match ran {
            Err(e) if Failure::of(&e) == Failure::Lost && lost < LOST_RETRIES => {
                lost += 1;
                conn.close_on_drop();
                *conn = pool.acquire().await?;
            }
            ran => return ran,
        }
    }
}

/// One output per item, or an internal error for each.
fn checked<T>(outputs: Vec<T>, n: usize) -> Vec<Result<T, ApiError>> {
    if outputs.len() == n {
        outputs.into_iter().map(Ok).collect()
    } else {
        (0..n).map(|_| lost_track()).collect()
    }
}

fn lost_track<T>() -> Result<T, ApiError> {
    Err(ApiError::Internal("a batch lost track of its items".into()))
}

fn answer<T>(
    waiting: impl IntoIterator<Item = oneshot::Sender<Result<T, ApiError>>>,
    outputs: Vec<Result<T, ApiError>>,
) {
    for (done, output) in waiting.into_iter().zip(outputs) {
        // The requester may have gone away (client disconnected): nothing to tell.
        let _ = done.send(output);
    }
}

fn failed<T>(e: ApiError, n: usize) -> Vec<Result<T, ApiError>> {
    (0..n).map(|_| Err(e.clone())).collect()
}
