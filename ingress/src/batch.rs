//! Batching: concurrent requests of one kind share one statement, one round trip and
//! one commit, which is where most of a small request's database cost lies (when an
//! identity provider pushes many users at once, or many GETs arrive together). A
//! request that arrives alone runs at once; nothing ever waits for company.

use sqlx::PgPool;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::error::ApiError;

/// A kind of request that runs many at a time.
pub trait Batch: Send + Sync + 'static {
    type Item: Send + 'static;
    type Output: Send + 'static;

    /// Runs `items` together: one output per item, in their order.
    fn run(
        pool: &PgPool,
        items: &[Self::Item],
    ) -> impl Future<Output = Result<Vec<Self::Output>, sqlx::Error>> + Send;
}

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
        let (items, waiting): (Vec<B::Item>, Vec<_>) =
            batch.drain(..).map(|p| (p.item, p.done)).unzip();
        let outputs = match B::run(&pool, &items).await {
            Ok(outputs) if outputs.len() == items.len() => outputs.into_iter().map(Ok).collect(),
            Ok(_) => failed(
                ApiError::Internal("a batch lost track of its items".into()),
                items.len(),
            ),
            Err(e) => failed(ApiError::from(e), items.len()),
        };
        for (done, output) in waiting.into_iter().zip(outputs) {
            // The requester may have gone away (client disconnected): nothing to tell.
            let _ = done.send(output);
        }
    }
}

fn failed<T>(e: ApiError, n: usize) -> Vec<Result<T, ApiError>> {
    (0..n).map(|_| Err(e.clone())).collect()
}
