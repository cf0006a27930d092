//! Logs and traces. Logs go to standard output, as JSON lines (`LOG_FORMAT=json`) or
//! text, filtered by `RUST_LOG`. Traces are exported over OTLP/HTTP when the standard
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, and
//! not at all otherwise. `OTEL_EXPORTER_OTLP_PROTOCOL` chooses `http/protobuf` (the
//! default) or `http/json`; the exporter reads the other `OTEL_*` variables itself.
//!
//! Trace context crosses NATS as a W3C `traceparent` header: the ingress stores the
//! request's with each outbox row ([`current_traceparent`]), the relay sends it with the
//! event, and the worker's processing span takes it as its parent ([`parent_from`]).

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::collections::HashMap;
use std::io::IsTerminal;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The W3C trace context header.
pub const TRACEPARENT: &str = "traceparent";

/// Flushes and stops trace export when shut down (on SIGTERM, before exiting).
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(e) = provider.shutdown()
        {
            tracing::warn!(error = %e, "flushing traces at shutdown");
        }
    }
}

/// Whether traces are exported (an OTLP endpoint is configured).
pub fn exporting() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|v| std::env::var(v).is_ok_and(|e| !e.trim().is_empty()))
}

/// Sets up logs, and traces named for `service` when an OTLP endpoint is configured.
pub fn init(service: &'static str) -> Telemetry {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let logs = if json {
        tracing_subscriber::fmt::layer().json().boxed()
    } else {
        // Colours only on a terminal: in a file or a log collector, escape codes are
        // noise (and formatting them was work on every request's span).
        tracing_subscriber::fmt::layer()
            .with_ansi(std::io::stdout().is_terminal())
            .boxed()
    };
    let provider = exporting().then(|| tracer_provider(service)).transpose();
    let (provider, failure) = match provider {
        Ok(p) => (p, None),
        Err(e) => (None, Some(e)),
    };
    let traces = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer(service))
            .with_filter(EnvFilter::new("info"))
    });
    tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(traces)
        .init();
    if let Some(e) = failure {
        tracing::warn!(error = %e, "traces are not exported");
    }
    Telemetry { provider }
}

fn tracer_provider(service: &'static str) -> Result<SdkTracerProvider, String> {
    let protocol = match std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL").as_deref() {
        Ok("http/json") => Protocol::HttpJson,
        Ok("http/protobuf") | Err(_) => Protocol::HttpBinary,
        Ok(other) => {
            return Err(format!(
                "OTEL_EXPORTER_OTLP_PROTOCOL {other:?} is not supported; use http/protobuf or http/json"
            ));
        }
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(protocol)
        .build()
        .map_err(|e| e.to_string())?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service)
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// Records the span's trace id in its `trace_id` field, so that log lines written
/// inside it (JSON logs include the current span's fields) name their trace. Nothing
/// when traces are not exported.
pub fn record_trace_id(span: &tracing::Span) {
    use opentelemetry::trace::TraceContextExt;
    let context = span.context();
    let span_context = context.span().span_context().clone();
    if span_context.is_valid() {
        span.record("trace_id", span_context.trace_id().to_string());
    }
}

/// The `traceparent` of the current span, when traces are being exported.
pub fn current_traceparent() -> Option<String> {
    let context = tracing::Span::current().context();
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove(TRACEPARENT)
}

/// Makes `span` a child of the trace a `traceparent` names (ignored when malformed).
pub fn parent_from(span: &tracing::Span, traceparent: &str) {
    let carrier = HashMap::from([(TRACEPARENT.to_owned(), traceparent.to_owned())]);
    let context = TraceContextPropagator::new().extract(&carrier);
    // An invalid context leaves the span a root of its own.
    let _ = span.set_parent(context);
}
