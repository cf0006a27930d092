//! Golden identity-provider fixtures: every file under `tests/fixtures/<kind>/` is
//! replayed against a fresh directory of that identity-provider kind, so each runs
//! under its provider's profile (format in `tests/fixtures/README.md`).

use crate::common::spawn_app;
use reqwest::Method;
use scim_core::profile::Idp;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Each fixture with the identity-provider kind its folder names.
fn fixture_files() -> Vec<(Idp, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
    let mut files = Vec::new();
    for idp in Idp::ALL {
        for entry in std::fs::read_dir(root.join(idp.as_str())).expect("a fixtures directory") {
            let path = entry.expect("a directory entry").path();
            if path.extension().is_some_and(|e| e == "json") {
                files.push((idp, path));
            }
        }
    }
    files.sort_by(|a, b| a.1.cmp(&b.1));
    files
}

fn substitute(text: &str, saved: &HashMap<String, String>) -> String {
    saved.iter().fold(text.to_owned(), |t, (name, value)| {
        t.replace(&format!("{{{name}}}"), value)
    })
}

/// Why `actual` does not contain `expected`, if it does not.
fn mismatch(expected: &Value, actual: Option<&Value>, at: &str) -> Option<String> {
    match (expected, actual) {
        (Value::String(s), None) if s == "<absent>" => None,
        (Value::String(s), Some(_)) if s == "<absent>" => Some(format!("{at}: should be absent")),
        (_, None) => Some(format!("{at}: missing")),
        (Value::String(s), Some(_)) if s == "<any>" => None,
        (Value::Object(e), Some(Value::Object(a))) => e
            .iter()
            .find_map(|(k, v)| mismatch(v, a.get(k), &format!("{at}.{k}"))),
        (Value::Array(e), Some(Value::Array(a))) if e.len() == a.len() => e
            .iter()
            .zip(a)
            .enumerate()
            .find_map(|(i, (e, a))| mismatch(e, Some(a), &format!("{at}[{i}]"))),
        (e, Some(a)) if e == a => None,
        (e, Some(a)) => Some(format!("{at}: expected {e}, got {a}")),
    }
}

#[tokio::test]
async fn identity_provider_fixtures_get_the_expected_answers() {
    let files = fixture_files();
    for idp in Idp::ALL {
        assert!(
            files.iter().filter(|(i, _)| *i == idp).count() >= 3,
            "{idp} fixtures are missing"
        );
    }
    let app = spawn_app().await;
    let mut failures = Vec::new();
    for (idp, file) in &files {
        let name = format!(
            "{idp}/{}",
            file.file_name().unwrap_or_default().to_string_lossy()
        );
        let fixture: Value =
            serde_json::from_str(&std::fs::read_to_string(file).expect("reading a fixture"))
                .unwrap_or_else(|e| panic!("{name}: invalid JSON: {e}"));
        // Each fixture gets its own directory, so fixtures cannot see each other.
        let (dir, token) = app.db.directory_for(&name, *idp).await;
        let base = format!("{}/scim/v2/{dir}", app.base);
        let mut saved: HashMap<String, String> = HashMap::new();
        for (i, step) in fixture["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .enumerate()
        {
            let req = &step["request"];
            let method: Method = req["method"]
                .as_str()
                .expect("a method")
                .parse()
                .expect("an HTTP method");
            let url = format!(
                "{base}{}",
                substitute(req["path"].as_str().expect("a path"), &saved)
            );
            let mut builder = app.scim.http.request(method, url);
            if req["auth"] != Value::Bool(false) {
                builder = builder.bearer_auth(&token);
            }
            let mut headers: Map<String, Value> =
                req["headers"].as_object().cloned().unwrap_or_default();
            if let Some(body) = req.get("body") {
                headers
                    .entry("content-type")
                    .or_insert("application/scim+json".into());
                builder = builder.body(substitute(&body.to_string(), &saved));
            }
            for (h, v) in headers {
                if let Some(v) = v.as_str() {
                    builder = builder.header(h, v);
                }
            }
            let res = builder.send().await.expect("sending a fixture request");
            let status = res.status().as_u16();
            let text = res.text().await.unwrap_or_default();
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let expect = &step["expect"];
            let mut problems = Vec::new();
            if expect["status"].as_u64() != Some(u64::from(status)) {
                problems.push(format!("status {status}, expected {}", expect["status"]));
            }
            let expected_body = expect.get("body").map(|b| {
                serde_json::from_str::<Value>(&substitute(&b.to_string(), &saved))
                    .expect("a fixture body")
            });
            if let Some(expected_body) = expected_body
                && let Some(why) = mismatch(&expected_body, Some(&body), "body")
            {
                problems.push(why);
            }
            if !problems.is_empty() {
                failures.push(format!(
                    "{name} step {}: {} (response {text})",
                    i + 1,
                    problems.join("; ")
                ));
                break;
            }
            for (var, field) in step["save"].as_object().cloned().unwrap_or_default() {
                let value = body[field.as_str().unwrap_or_default()]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                saved.insert(var, value);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
