//! End to end: a SCIM request's trace continues, through the outbox and a NATS header,
//! into the worker's processing of its event, as an OTLP receiver sees it.

use axum::Json;
use axum::routing::post;
use reqwest::StatusCode;
use scim_tests::client::okta_user;
use scim_tests::process::Service;
use scim_tests::{NatsServer, TestDb, eventually};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A minimal OTLP/HTTP receiver (JSON encoding) on a free port: its base URL and what
/// it received.
async fn otlp_receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |Json(body): Json<Value>| {
            let store = store.clone();
            async move {
                store.lock().unwrap().push(body);
                Json(serde_json::json!({}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

/// Every span received: (service, span).
fn spans(received: &[Value]) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for body in received {
        for rs in body["resourceSpans"].as_array().into_iter().flatten() {
            let service = rs["resource"]["attributes"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|a| a["key"] == "service.name")
                .and_then(|a| a["value"]["stringValue"].as_str())
                .unwrap_or_default()
                .to_owned();
            for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                for span in ss["spans"].as_array().into_iter().flatten() {
                    out.push((service.clone(), span.clone()));
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn a_scim_request_and_the_workers_processing_share_one_trace() {
    let (otlp, received) = otlp_receiver().await;
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ];
    let db = TestDb::new().await;
    let nats = NatsServer::start();
    let ingress = Service::ingress_with(&db.url, &nats.url, &env);
    let _worker = Service::worker(&db.url, &nats.url, &env);
    let (dir, token) = db.directory("acme").await;
    let scim =
        scim_tests::client::Scim::new(format!("{}/scim/v2/{dir}", ingress.base_url()), &token);
    let r = scim.create_user(&okta_user("traced@x.com", "T", "X")).await;
    assert_eq!(r.status, StatusCode::CREATED);

    let (request, applied) = eventually(Duration::from_secs(30), "both spans exported", || async {
        let all = spans(&received.lock().unwrap());
        let request = all
            .iter()
            .find(|(svc, s)| svc == "scim-ingress" && s["name"] == "POST /scim/v2/{id}/Users")?
            .1
            .clone();
        let applied = all
            .iter()
            .find(|(svc, s)| svc == "scim-worker" && s["name"] == "apply user.created")?
            .1
            .clone();
        Some((request, applied))
    })
    .await;
    assert_eq!(applied["traceId"], request["traceId"], "one trace");
    assert_eq!(
        applied["parentSpanId"], request["spanId"],
        "the worker's span is the request's child"
    );
    let everything = serde_json::to_string(&*received.lock().unwrap()).unwrap();
    assert!(!everything.contains(&token), "no token in traces");
    assert!(
        !everything.contains("traced@x.com"),
        "no personal data in traces"
    );
}
