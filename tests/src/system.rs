//! The whole system for an end-to-end test: a fresh database, a nats-server, the real
//! ingress and worker binaries, one directory, and the clients a test drives it with.

use scim_events::STREAM;
use serde_json::Value;
use std::time::Duration;
use uuid::Uuid;

use crate::admin::Admin;
use crate::client::Scim;
use crate::process::Service;
use crate::scimctl::Scimctl;
use crate::{NatsServer, TestDb};

pub struct System {
    pub db: TestDb,
    pub nats: NatsServer,
    pub ingress: Service,
    pub worker: Service,
    /// The directory made for the test ("acme").
    pub dir: Uuid,
    /// Its identity provider's SCIM client, with the directory's token.
    pub scim: Scim,
    /// The admin API, with the operator token.
    pub admin: Admin,
    /// `scimctl` against the admin API, for the directory's commands.
    pub ctl: Scimctl,
}

impl System {
    pub async fn start() -> System {
        System::start_with(&[], &[]).await
    }

    /// With these environment variables for the ingress and for the worker.
    pub async fn start_with(ingress_env: &[(&str, &str)], worker_env: &[(&str, &str)]) -> System {
        let db = TestDb::new().await;
        let nats = NatsServer::start();
        let ingress = Service::ingress_with(&db.url, &nats.url, ingress_env);
        let worker = Service::worker(&db.url, &nats.url, worker_env);
        let (dir, token) = db.directory("acme").await;
        let scim = Scim::new(format!("{}/scim/v2/{dir}", ingress.base_url()), token);
        let admin = Admin::new(ingress.admin_url());
        let ctl = Scimctl::new(ingress.admin_url()).in_directory(dir);
        System {
            db,
            nats,
            ingress,
            worker,
            dir,
            scim,
            admin,
            ctl,
        }
    }

    /// Every event published once the outbox is empty, in publication order, each
    /// checked against the published contract.
    pub async fn all_events(&self) -> Vec<Value> {
        crate::eventually(Duration::from_secs(30), "an empty outbox", || async {
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
                .fetch_one(&self.db.pool)
                .await
                .unwrap();
            (n == 0).then_some(())
        })
        .await;
        let validator = crate::event_schema();
        let total = crate::stream_len(&self.nats.url, STREAM).await;
        let events: Vec<Value> = crate::read_stream(&self.nats.url, STREAM, total)
            .await
            .into_iter()
            .map(|r| r.payload)
            .collect();
        for event in &events {
            let errors: Vec<String> = validator
                .iter_errors(event)
                .map(|e| e.to_string())
                .collect();
            assert!(
                errors.is_empty(),
                "event {event} violates the schema: {errors:?}"
            );
        }
        events
    }
}
