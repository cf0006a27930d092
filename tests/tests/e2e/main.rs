//! End-to-end tests, one binary: the real `ingress`, `worker` and `scimctl` binaries as
//! processes, real nats-servers and a fresh Postgres database per test, one module per
//! area. The scale-out test runs alone (.config/nextest.toml).

mod admin;
mod adoption;
mod failover;
mod hold;
mod pages;
mod pause;
mod pipeline;
mod reconcile;
mod retention;
mod roles;
mod scale;
mod subscribers;
mod teams;
mod traces;
