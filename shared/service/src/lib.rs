//! What the ingress and the worker both run on: configuration read once at start-up,
//! the NATS connection and the streams, telemetry (logs, traces), Prometheus metrics,
//! health and graceful shutdown.

pub mod config;
pub mod health;
pub mod metrics;
pub mod nats;
pub mod shutdown;
pub mod telemetry;
