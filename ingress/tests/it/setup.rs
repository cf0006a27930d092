//! Setup links and the setup page's sessions, over HTTP: a link opens one directory's
//! session and no other; expired and revoked links are refused; revoking ends
//! sessions; a change without the session's CSRF token is refused; no secret is shown
//! twice or written where an operator reads.

use crate::common::{TestApp, spawn_app};
use reqwest::{Method, StatusCode};
use scim_admin_api::CreatedDirectory;
use serde_json::{Value, json};

/// A new directory's id.
async fn directory(app: &TestApp, name: &str) -> String {
    let created = app.admin.create_directory(name, "okta").await;
    created.directory.id.to_string()
}

/// Issues a setup link: (its id, the secret from its URL's fragment).
async fn link(app: &TestApp, dir: &str) -> (String, String) {
    let issued = app.admin.issue_setup_link(dir, false).await;
    let url = &issued.url;
    assert!(
        url.starts_with(&format!("{}/setup#setup_", app.base)),
        "{url}"
    );
    let secret = url.split_once('#').unwrap().1.to_owned();
    (issued.link.id.to_string(), secret)
}

/// Sends a request to the session endpoint: (status, Set-Cookie, body).
async fn setup(
    app: &TestApp,
    method: Method,
    cookie: Option<&str>,
    csrf: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Option<String>, Value) {
    call(app, method, "/setup/session", cookie, csrf, body).await
}

/// Sends a request to a setup path: (status, Set-Cookie, body).
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    cookie: Option<&str>,
    csrf: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Option<String>, Value) {
    let mut req = reqwest::Client::new().request(method, format!("{}{path}", app.base));
    if let Some(c) = cookie {
        req = req.header("cookie", format!("theme=dark; {c}"));
    }
    if let Some(t) = csrf {
        req = req.header("x-csrf-token", t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let set_cookie = res
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = res.text().await.unwrap();
    (
        status,
        set_cookie,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

/// Opens a session with the link: (the cookie to send back, the session's view).
async fn open(app: &TestApp, secret: &str) -> (String, Value) {
    let (status, set_cookie, body) =
        setup(app, Method::POST, None, None, Some(json!({"link": secret}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let set_cookie = set_cookie.unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/setup"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(
        !set_cookie.contains("Secure"),
        "plain http here: {set_cookie}"
    );
    (set_cookie.split(';').next().unwrap().to_owned(), body)
}

#[tokio::test]
async fn a_setup_link_opens_a_session_of_its_own_directory_only() {
    let app = spawn_app().await;
    let (a, b) = (
        directory(&app, "Acme").await,
        directory(&app, "Globex").await,
    );
    let (link_a, secret_a) = link(&app, &a).await;
    let (_, secret_b) = link(&app, &b).await;

    let (cookie_a, view_a) = open(&app, &secret_a).await;
    assert_eq!(view_a["directory"], json!({"id": a, "name": "Acme"}));
    assert!(view_a["csrf"].as_str().unwrap().len() >= 32);
    let (cookie_b, _) = open(&app, &secret_b).await;
    // Each cookie is its own directory's, whoever else has one.
    let (status, _, seen) = setup(&app, Method::GET, Some(&cookie_a), None, None).await;
    assert_eq!(
        (status, &seen["directory"]["id"]),
        (StatusCode::OK, &json!(a))
    );
    let (_, _, seen) = setup(&app, Method::GET, Some(&cookie_b), None, None).await;
    assert_eq!(seen["directory"]["id"], json!(b));
    // Another directory's link id with this link's secret opens nothing.
    let forged = format!("setup_{}{}", b.replace('-', ""), &secret_a[6 + 32..]);
    let (status, _, body) = setup(
        &app,
        Method::POST,
        None,
        None,
        Some(json!({"link": forged})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    for bad in [
        json!({"link": "setup_nope"}),
        json!({"url": secret_a}),
        json!("x"),
    ] {
        let (status, _, body) = setup(&app, Method::POST, None, None, Some(bad.clone())).await;
        assert!(status.is_client_error(), "{bad}: {status} {body}");
        assert!(body["error"].is_string(), "{body}");
    }
    let (status, _, body) = setup(&app, Method::GET, None, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    // Listed without their secrets; the opening is audited with the link as the actor.
    let (_, links) = app
        .admin
        .send(Method::GET, &format!("/directories/{a}/setup-links"), None)
        .await;
    assert_eq!(links[0]["id"], json!(link_a));
    assert!(links[0]["first_used_at"].is_string());
    assert!(!links.to_string().contains(&secret_a[6..]), "{links}");
    let (_, audit) = app
        .admin
        .send(Method::GET, &format!("/audit?directory={a}"), None)
        .await;
    let text = audit.to_string();
    assert!(
        text.contains("setup.session_opened") && text.contains(&format!("setup link {link_a}")),
        "{text}"
    );
    assert!(!text.contains(&secret_a[6..]), "no secret in the audit log");
}

#[tokio::test]
async fn expired_and_revoked_links_are_refused_and_revoking_ends_sessions() {
    let app = spawn_app().await;
    let dir = directory(&app, "Acme").await;
    let (expiring, expiring_secret) = link(&app, &dir).await;
    sqlx::query(
        "UPDATE setup_links SET expires_at = now() - interval '1 second' WHERE id = $1::uuid",
    )
    .bind(&expiring)
    .execute(&app.db.pool)
    .await
    .unwrap();
    let (status, _, body) = setup(
        &app,
        Method::POST,
        None,
        None,
        Some(json!({"link": expiring_secret})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"].as_str().unwrap().contains("expired"),
        "{body}"
    );

    let (revoked, secret) = link(&app, &dir).await;
    let (cookie, _) = open(&app, &secret).await;
    let link = app.admin.revoke_setup_link(&dir, &revoked).await;
    assert!(link.revoked_at.is_some());
    let (status, _, body) = setup(&app, Method::GET, Some(&cookie), None, None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the session ended with its link: {body}"
    );
    let (status, _, body) = setup(
        &app,
        Method::POST,
        None,
        None,
        Some(json!({"link": secret})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"].as_str().unwrap().contains("revoked"),
        "{body}"
    );

    // Links live 30 days at most, and not in the past.
    for expires_at in ["2001-01-01T00:00:00Z", "2999-01-01T00:00:00Z"] {
        let (status, body) = app
            .admin
            .send(
                Method::POST,
                &format!("/directories/{dir}/setup-links"),
                Some(json!({"expires_at": expires_at})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{expires_at}: {body}");
    }
}

#[tokio::test]
async fn a_change_without_the_sessions_csrf_token_is_refused() {
    let app = spawn_app().await;
    let dir = directory(&app, "Acme").await;
    let (_, secret) = link(&app, &dir).await;
    let (cookie, view) = open(&app, &secret).await;
    let csrf = view["csrf"].as_str().unwrap();
    for forged in [None, Some("0".repeat(64))] {
        let (status, _, body) =
            setup(&app, Method::DELETE, Some(&cookie), forged.as_deref(), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    let (status, _, _) = setup(&app, Method::GET, Some(&cookie), None, None).await;
    assert_eq!(status, StatusCode::OK, "a forged request changed nothing");
    let (status, cleared, _) = setup(&app, Method::DELETE, Some(&cookie), Some(csrf), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(cleared.unwrap().contains("Max-Age=0"));
    let (status, _, _) = setup(&app, Method::GET, Some(&cookie), None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "signed out");
}

/// The status panel: waiting for the first request, then the identity provider's test
/// call with its answer, then users; errors with the detail the provider was given.
#[tokio::test]
async fn the_status_panel_follows_the_identity_providers_first_calls() {
    let app = spawn_app().await;
    let created = app.admin.create_directory("Acme", "okta").await;
    let dir = created.directory.id.to_string();
    let scim =
        scim_tests::client::Scim::new(&created.directory.scim_base_url, &created.token.token);
    let (_, secret) = link(&app, &dir).await;
    let (cookie, _) = open(&app, &secret).await;
    let panel = Panel {
        base: app.base.clone(),
        cookie,
    };
    let first = panel.read().await;
    assert_eq!(
        (&first["stage"], &first["users"]),
        (&json!("waiting"), &json!(0))
    );
    assert!(first["first_request"].is_null());

    connects_with_an_error_shown(&panel, &scim).await;
    let r = scim
        .create_user(&scim_tests::client::okta_user("ann@acme.com", "Ann", "Lee"))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let after = panel.read().await;
    assert_eq!(
        (&after["stage"], &after["users"]),
        (&json!("provisioning"), &json!(1))
    );
    let (status, _, _) = setup(&app, Method::GET, None, None, None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "no panel without a session"
    );
    refused_when_the_token_is_wrong_and_resolved_by_a_success(&panel, &scim).await;
}

/// The setup page's status panel, read with a session.
struct Panel {
    base: String,
    cookie: String,
}

impl Panel {
    async fn read(&self) -> Value {
        let res = reqwest::Client::new()
            .get(format!("{}/setup/status", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.json::<Value>().await.unwrap()
    }

    /// The panel once it shows `stage`.
    async fn at(&self, stage: &str) -> Value {
        scim_tests::eventually(std::time::Duration::from_secs(10), stage, || async {
            let p = self.read().await;
            (p["stage"] == stage).then_some(p)
        })
        .await
    }
}

/// Okta's connection test, then a filter it cannot send: connected, the first request
/// and the error (with the detail Okta was given) shown.
async fn connects_with_an_error_shown(panel: &Panel, scim: &scim_tests::client::Scim) {
    assert_eq!(
        scim.send(Method::GET, "/Users?startIndex=1&count=2", None)
            .await
            .status,
        StatusCode::OK
    );
    let bad = scim
        .send(Method::GET, "/Users?filter=nope%20eq%20%22x%22", None)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let seen = scim_tests::eventually(
        std::time::Duration::from_secs(10),
        "the request log",
        || async {
            let p = panel.read().await;
            (p["recent_errors"].as_array().is_some_and(|e| !e.is_empty())).then_some(p)
        },
    )
    .await;
    assert_eq!(seen["stage"], "connected");
    assert_eq!(seen["first_request"]["status"], 200);
    assert!(
        seen["first_request"]["path"]
            .as_str()
            .unwrap()
            .ends_with("/Users?startIndex=1&count=2"),
        "{seen}"
    );
    assert_eq!(seen["recent_errors"][0]["status"], 400);
    assert!(
        seen["recent_errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("nope"),
        "{seen}"
    );
}

/// The identity provider's token is replaced by a wrong one: the panel says so (never
/// "connected"), with advice; once a good request comes again, the refusals before it
/// are marked resolved.
async fn refused_when_the_token_is_wrong_and_resolved_by_a_success(
    panel: &Panel,
    scim: &scim_tests::client::Scim,
) {
    let wrong = scim_tests::client::Scim::new(scim.base_url.clone(), "scim_wrong");
    for _ in 0..2 {
        let r = wrong
            .send(Method::GET, "/Users?startIndex=1&count=1", None)
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let refused = panel.at("refused").await;
    assert_eq!(refused["last_request"]["status"], 401, "{refused}");
    let unauthorized = |p: &Value| -> Vec<Value> {
        p["recent_errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["status"] == 401)
            .cloned()
            .collect()
    };
    let wrong_token = unauthorized(&refused);
    assert_eq!(wrong_token.len(), 2, "{refused}");
    for e in &wrong_token {
        assert_eq!(e["resolved"], false, "{e}");
        assert!(
            e["advice"]
                .as_str()
                .unwrap()
                .starts_with("Token not recognised"),
            "{e}"
        );
    }
    let r = scim
        .send(Method::GET, "/Users?startIndex=1&count=1", None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let good = panel.at("provisioning").await;
    assert_eq!(good["last_request"]["status"], 200, "{good}");
    // The refusals came before a success: marked resolved.
    for e in unauthorized(&good) {
        assert_eq!(e["resolved"], true, "{e}");
    }
    assert!(good["last_success_at"].is_string(), "{good}");
}

/// A session on a directory's page: its cookie and CSRF token.
struct Page<'a> {
    app: &'a TestApp,
    cookie: String,
    csrf: String,
}

impl Page<'_> {
    async fn open<'a>(app: &'a TestApp, secret: &str) -> Page<'a> {
        let (cookie, view) = open(app, secret).await;
        let csrf = view["csrf"].as_str().unwrap().to_owned();
        Page { app, cookie, csrf }
    }

    /// A read of `/setup/api/{path}`.
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (status, _, body) = call(
            self.app,
            Method::GET,
            &format!("/setup/api/{path}"),
            Some(&self.cookie),
            None,
            None,
        )
        .await;
        (status, body)
    }

    /// A change through `/setup/api/{path}`, with the session's CSRF token.
    async fn change(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let (status, _, body) = call(
            self.app,
            method,
            &format!("/setup/api/{path}"),
            Some(&self.cookie),
            Some(&self.csrf),
            body,
        )
        .await;
        (status, body)
    }
}

/// A link for a new directory with its first token: (directory, link id, secret, token).
async fn directory_with_link(
    app: &TestApp,
    name: &str,
    controls: bool,
) -> (CreatedDirectory, String, String) {
    let created = app.admin.create_directory(name, "okta").await;
    let issued = app
        .admin
        .issue_setup_link(created.directory.id, controls)
        .await;
    let secret = issued.url.split_once('#').unwrap().1.to_owned();
    (created, issued.link.id.to_string(), secret)
}

#[tokio::test]
async fn the_page_is_served_under_a_strict_content_security_policy() {
    let app = spawn_app().await;
    for (path, kind) in [
        ("/setup", "text/html"),
        ("/setup/setup.js", "text/javascript"),
        ("/setup/style.css", "text/css"),
        ("/setup/common.js", "text/javascript"),
    ] {
        crate::common::strict_page(&format!("{}{path}", app.base), kind).await;
    }
    let (status, _, body) = call(&app, Method::GET, "/setup/other.js", None, None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].is_string(), "{body}");
}

#[tokio::test]
async fn the_page_issues_and_revokes_its_own_directorys_tokens_shown_once() {
    let app = spawn_app().await;
    let (a, link_a, secret_a) = directory_with_link(&app, "Acme", false).await;
    let (b, _, _) = directory_with_link(&app, "Globex", false).await;
    let page = Page::open(&app, &secret_a).await;
    let first = a.token.id;

    let (status, view) = page.get("directory").await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(
        (&view["id"], &view["idp"]),
        (&json!(a.directory.id), &json!("okta"))
    );
    assert_eq!(view["scim_base_url"], a.directory.scim_base_url.as_str());

    // A forged request (no CSRF token) issues nothing.
    let (status, _, body) = call(
        &app,
        Method::POST,
        "/setup/api/tokens",
        Some(&page.cookie),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (_, tokens) = page.get("tokens").await;
    assert_eq!(tokens.as_array().unwrap().len(), 1, "{tokens}");

    let (status, issued) = page.change(Method::POST, "tokens", None).await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let token = issued["token"].as_str().unwrap();
    assert!(token.starts_with("scim_"), "{issued}");
    let scim = scim_tests::client::Scim::new(&a.directory.scim_base_url, token);
    assert_eq!(
        scim.send(Method::GET, "/Users?count=1", None).await.status,
        StatusCode::OK
    );
    // Shown once: the list has both tokens and neither secret.
    let (_, tokens) = page.get("tokens").await;
    assert_eq!(tokens.as_array().unwrap().len(), 2, "{tokens}");
    assert!(!tokens.to_string().contains(&token[10..]), "{tokens}");
    let (status, body) = page.change(Method::POST, "tokens", None).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "two live tokens at most: {body}"
    );

    // Rotation: the old token is revoked from the page and stops working at once.
    let (status, _) = page
        .change(Method::DELETE, &format!("tokens/{first}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let old = scim_tests::client::Scim::new(&a.directory.scim_base_url, &a.token.token);
    assert_eq!(
        old.send(Method::GET, "/Users?count=1", None).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Directory B is out of reach: its token is not found, and still works.
    let (status, body) = page
        .change(Method::DELETE, &format!("tokens/{}", b.token.id), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let b_scim = scim_tests::client::Scim::new(&b.directory.scim_base_url, &b.token.token);
    assert_eq!(
        b_scim
            .send(Method::GET, "/Users?count=1", None)
            .await
            .status,
        StatusCode::OK
    );

    operator_actions_are_not_on_the_page(&page).await;
    the_link_is_the_actor_and_no_token_is_logged(&app, &a, &link_a, token).await;
}

/// What only an operator does is not on the page.
async fn operator_actions_are_not_on_the_page(page: &Page<'_>) {
    for (method, path) in [
        (Method::DELETE, "directory"),
        (Method::GET, "setup-links"),
        (Method::POST, "setup-links"),
        (Method::POST, "teams/x/members"),
        (Method::GET, "snapshot"),
        (Method::GET, "audit"),
    ] {
        let (status, body) = page.change(method.clone(), path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {body}");
        assert!(body["error"].is_string(), "{body}");
    }
}

/// Audited, and announced, with the link as the actor; nothing in the log as the API
/// sends it is the token.
async fn the_link_is_the_actor_and_no_token_is_logged(
    app: &TestApp,
    a: &CreatedDirectory,
    link: &str,
    token: &str,
) {
    let audit = app
        .admin
        .audit(&format!("?directory={}", a.directory.id))
        .await;
    let actor = format!("setup link {link}");
    for action in ["directory.token_created", "directory.token_revoked"] {
        assert!(
            audit.iter().any(|r| r.action == action && r.actor == actor),
            "{action} by {actor}: {audit:?}"
        );
    }
    let path = format!("/audit?directory={}", a.directory.id);
    let (_, sent) = app.admin.send(Method::GET, &path, None).await;
    assert!(!sent.to_string().contains(&token[10..]));
}

#[tokio::test]
async fn controls_change_only_through_a_link_that_allows_it() {
    let app = spawn_app().await;
    let (plain, _, plain_secret) = directory_with_link(&app, "Acme", false).await;
    let page = Page::open(&app, &plain_secret).await;
    for (path, body) in [
        ("trusted-domains", json!({"domains": ["acme.com"]})),
        ("seat-limit", json!({"seat_limit": 5})),
        (
            "access-rules",
            json!({"trusted_domains": ["acme.com"], "seat_limit": 5}),
        ),
        ("team-mapping", json!({"team_mode": "mirrored"})),
    ] {
        let (status, answer) = page.change(Method::PUT, path, Some(body)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {answer}");
    }
    let (status, answer) = page
        .change(
            Method::POST,
            "team-mapping/preview",
            Some(json!({"team_mode": "mirrored"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    let (_, view) = page.get("directory").await;
    assert_eq!(
        (&view["trusted_domains"], &view["seat_limit"]),
        (&json!([]), &Value::Null),
        "unchanged: {view}"
    );
    assert_eq!(view["id"], json!(plain.directory.id));

    let (_, _, secret) = directory_with_link(&app, "Globex", true).await;
    let page = Page::open(&app, &secret).await;
    let (status, body) = page
        .change(
            Method::PUT,
            "trusted-domains",
            Some(json!({"domains": ["Globex.com"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = page
        .change(Method::PUT, "seat-limit", Some(json!({"seat_limit": 5})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = page
        .change(
            Method::PUT,
            "seat-limit",
            Some(json!({"seat_limit": "five"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (_, view) = page.get("directory").await;
    assert_eq!(
        (&view["trusted_domains"], &view["seat_limit"]),
        (&json!(["globex.com"]), &json!(5))
    );

    // Both rules in one change: a bad domain refuses the whole of it.
    let (status, body) = page
        .change(
            Method::PUT,
            "access-rules",
            Some(json!({"trusted_domains": ["not a domain"], "seat_limit": 9})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (_, view) = page.get("directory").await;
    assert_eq!(view["seat_limit"], 5, "nothing half-saved: {view}");
    let (status, body) = page
        .change(
            Method::PUT,
            "access-rules",
            Some(json!({"trusted_domains": ["globex.com", "globex.io"], "seat_limit": null})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["trusted_domains"], &body["seat_limit"]),
        (&json!(["globex.com", "globex.io"]), &Value::Null)
    );

    // The team mode, previewed and then switched.
    let mirrored = json!({"team_mode": "mirrored", "mirror_pattern": "app-*"});
    let (status, preview) = page
        .change(Method::POST, "team-mapping/preview", Some(mirrored.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(page.get("directory").await.1["team_mode"], "mapped");
    let (status, body) = page
        .change(Method::PUT, "team-mapping", Some(mirrored))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["team_mode"], &body["mirror_pattern"]),
        (&json!("mirrored"), &json!("app-*"))
    );
}

/// The customer's admin makes, renames and deletes teams on the page, in the modes where
/// teams are theirs to make; in mirrored mode the identity provider's groups are the
/// teams.
#[tokio::test]
async fn the_page_creates_renames_and_deletes_teams_where_the_mode_allows() {
    let app = spawn_app().await;
    let (dir, link_id, secret) = directory_with_link(&app, "Acme", false).await;
    let id = dir.directory.id.to_string();
    let page = Page::open(&app, &secret).await;
    let (status, team) = page
        .change(Method::POST, "teams", Some(json!({"name": "Design"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let team_id = team["id"].as_str().unwrap();
    let (status, renamed) = page
        .change(
            Method::PATCH,
            &format!("teams/{team_id}"),
            Some(json!({"name": "Product Design"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    let (status, other) = page
        .change(Method::POST, "teams", Some(json!({"name": "Sales"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    let (status, body) = page
        .change(
            Method::DELETE,
            &format!("teams/{}", other["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, teams) = page.get("teams").await;
    let names: Vec<&str> = teams
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Product Design"]);
    let (status, body) = page
        .change(Method::POST, "teams", Some(json!({"name": ""})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // The value table names teams the page made; a missing one is named, with no
    // vendor command in the answer.
    let (status, body) = app.admin.send(Method::PUT,
        &format!("/directories/{id}/team-mapping"),
        Some(json!({"team_mode": "attribute", "team_attribute": "urn:acme:scim:schemas:2.0:User:group"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = page
        .change(
            Method::PUT,
            "team-values",
            Some(json!({"values": {"PD": "Product Design", "Ops": "Operations"}})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("Operations") && !error.contains("scimctl"),
        "{error}"
    );
    let (status, body) = page
        .change(
            Method::PUT,
            "team-values",
            Some(json!({"values": {"PD": "Product Design"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Made by the link, as the audit log says.
    let audit = app.admin.audit(&format!("?directory={id}")).await;
    let by_link = |action: &str| {
        audit
            .iter()
            .any(|r| r.action == action && r.actor == format!("setup link {link_id}"))
    };
    for action in ["team.created", "team.renamed", "team.deleted"] {
        assert!(by_link(action), "{action}: {audit:?}");
    }
}

/// The request history names the user each request was about and, for a failed one,
/// shows what the identity provider sent with its secrets hidden; a stranger's request
/// keeps nothing. Until a request succeeds the panel says "failing", with what to do.
#[tokio::test]
async fn a_failed_push_is_shown_with_its_user_and_what_it_sent_without_secrets() {
    let app = spawn_app().await;
    let (dir, _, secret) = directory_with_link(&app, "Acme", false).await;
    let page = Page::open(&app, &secret).await;
    let panel = Panel {
        base: app.base.clone(),
        cookie: page.cookie.clone(),
    };
    let scim = scim_tests::client::Scim::new(&dir.directory.scim_base_url, &dir.token.token);
    let missing = scim
        .send(
            Method::GET,
            &format!("/Users/{}", uuid::Uuid::now_v7()),
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let failing = scim_tests::eventually(
        std::time::Duration::from_secs(10),
        "the first request",
        || async {
            let p = panel.read().await;
            p["last_request"].is_object().then_some(p)
        },
    )
    .await;
    assert_eq!(failing["stage"], "failing", "{failing}");
    assert!(
        failing["last_request"]["advice"]
            .as_str()
            .unwrap()
            .contains("base URL"),
        "{failing}"
    );

    let mut ann = scim_tests::client::okta_user("ann@acme.com", "Ann", "Lee");
    ann["password"] = json!("hunter2-secret");
    ann["phoneNumbers"] = json!([{"value": "+1 555 0100", "type": "work"}]);
    assert_eq!(scim.create_user(&ann).await.status, StatusCode::CREATED);
    let again = scim.create_user(&ann).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    // A stranger posting to the directory's URL: refused, and nothing of it kept.
    let stranger = scim_tests::client::Scim::new(scim.base_url.clone(), "scim_wrong");
    let mut mallory = ann.clone();
    mallory["userName"] = json!("mallory-was-here@evil.example");
    assert_eq!(
        stranger.create_user(&mallory).await.status,
        StatusCode::UNAUTHORIZED
    );

    the_history_keeps_what_a_failed_push_sent_without_secrets(&page).await;
    a_success_names_its_user_and_the_history_pages(&page).await;
    // What arrived: the user, searchable; and the panel now connected.
    let (_, users) = page.get("users?search=ANN").await;
    assert_eq!(users[0]["user_name"], "ann@acme.com", "{users}");
    assert_eq!(users[0]["active"], true);
    let (_, none) = page.get("users?search=zed").await;
    assert_eq!(none, json!([]));
    // The stranger's refusal is the newest request; the next good one ends it.
    assert_eq!(panel.read().await["stage"], "refused");
    let ok = scim.send(Method::GET, "/Users?count=1", None).await;
    assert_eq!(ok.status, StatusCode::OK);
    scim_tests::eventually(
        std::time::Duration::from_secs(10),
        "provisioning",
        || async { (panel.read().await["stage"] == "provisioning").then_some(()) },
    )
    .await;
}

/// The 409 keeps its user and what it sent, without the password or the redacted
/// phone number; the stranger's 401 keeps nothing.
async fn the_history_keeps_what_a_failed_push_sent_without_secrets(page: &Page<'_>) {
    let errors = scim_tests::eventually(
        std::time::Duration::from_secs(10),
        "the failed requests in the history",
        || async {
            let (_, list) = page.get("requests?status=errors").await;
            (list.as_array().is_some_and(|l| l.len() >= 3)).then_some(list)
        },
    )
    .await;
    let conflict = errors
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["status"] == 409)
        .unwrap_or_else(|| panic!("{errors}"));
    assert_eq!(conflict["resource"], "ann@acme.com", "{conflict}");
    let body = conflict["body"].as_str().unwrap();
    assert!(body.contains("ann@acme.com"), "{body}");
    for secret in ["hunter2-secret", "+1 555 0100"] {
        assert!(!body.contains(secret), "{secret} kept: {body}");
    }
    let refused = errors
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["status"] == 401)
        .unwrap_or_else(|| panic!("{errors}"));
    assert!(refused["body"].is_null(), "{refused}");
    assert!(!errors.to_string().contains("mallory"), "{errors}");
}

/// A success names its user too (the created one, by its current userName) and keeps
/// nothing of what it sent; the history pages by time.
async fn a_success_names_its_user_and_the_history_pages(page: &Page<'_>) {
    let (_, all) = page.get("requests").await;
    let created = all
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["status"] == 201)
        .unwrap_or_else(|| panic!("{all}"));
    assert_eq!(created["resource"], "ann@acme.com", "{created}");
    assert!(
        created["body"].is_null(),
        "nothing kept of a success: {created}"
    );
    // Paging: older than the newest entry.
    let newest = all[0]["at"].as_str().unwrap();
    let (status, older) = page
        .get(&format!("requests?before={}", newest.replace('+', "%2B")))
        .await;
    assert_eq!(status, StatusCode::OK, "{older}");
    assert_eq!(
        older.as_array().unwrap().len(),
        all.as_array().unwrap().len() - 1
    );
}

/// While the request inspector window is open, what every request sends is kept (its
/// secrets still hidden); once closed, a success keeps nothing again. Bounded to an hour.
#[tokio::test]
async fn the_inspector_window_keeps_every_requests_body_until_it_closes() {
    let app = spawn_app().await;
    let (dir, link_id, secret) = directory_with_link(&app, "Acme", false).await;
    let page = Page::open(&app, &secret).await;
    let scim = scim_tests::client::Scim::new(&dir.directory.scim_base_url, &dir.token.token);
    let (status, body) = page
        .change(Method::PUT, "inspection", Some(json!({"minutes": 61})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, opened) = page
        .change(Method::PUT, "inspection", Some(json!({"minutes": 5})))
        .await;
    assert_eq!(status, StatusCode::OK, "{opened}");
    assert!(opened["inspect_until"].is_string(), "{opened}");

    let mut ann = scim_tests::client::okta_user("ann@acme.com", "Ann", "Lee");
    ann["password"] = json!("hunter2-secret");
    assert_eq!(scim.create_user(&ann).await.status, StatusCode::CREATED);
    let (status, closed) = page
        .change(Method::PUT, "inspection", Some(json!({"minutes": 0})))
        .await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert!(closed["inspect_until"].is_null(), "{closed}");
    let bob = scim_tests::client::okta_user("bob@acme.com", "Bob", "Ray");
    assert_eq!(scim.create_user(&bob).await.status, StatusCode::CREATED);

    let created = scim_tests::eventually(
        std::time::Duration::from_secs(10),
        "both creates in the history",
        || async {
            let (_, list) = page.get("requests?status=201").await;
            (list.as_array().is_some_and(|l| l.len() == 2)).then_some(list)
        },
    )
    .await;
    let (bob_entry, ann_entry) = (&created[0], &created[1]);
    assert_eq!(ann_entry["resource"], "ann@acme.com");
    let kept = ann_entry["body"]
        .as_str()
        .unwrap_or_else(|| panic!("{ann_entry}"));
    assert!(
        kept.contains("ann@acme.com") && !kept.contains("hunter2"),
        "{kept}"
    );
    assert_eq!(bob_entry["resource"], "bob@acme.com");
    assert!(bob_entry["body"].is_null(), "window closed: {bob_entry}");

    let audit = app
        .admin
        .audit(&format!("?directory={}", dir.directory.id))
        .await;
    let actions: Vec<&str> = audit
        .iter()
        .filter(|r| r.actor == format!("setup link {link_id}"))
        .map(|r| r.action.as_str())
        .collect();
    assert!(
        actions.contains(&"directory.inspection_started")
            && actions.contains(&"directory.inspection_stopped"),
        "{actions:?}"
    );
}

/// Whose page it is and whom to ask, before any session.
#[tokio::test]
async fn the_page_names_the_product_and_its_support() {
    let app = spawn_app().await;
    let (status, _, vendor) = call(&app, Method::GET, "/setup/vendor", None, None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(vendor["name"], "Acme Scheduling");
    assert_eq!(
        vendor["support"],
        json!({"text": "help@acme-scheduling.example", "href": "mailto:help@acme-scheduling.example"})
    );
    assert_eq!(vendor["logo"], false);
    let (status, _, body) = call(&app, Method::GET, "/setup/logo", None, None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].is_string(), "{body}");
}

#[tokio::test]
async fn the_page_maps_pushed_groups_to_teams_with_a_preview() {
    let app = spawn_app().await;
    let (dir, _, secret) = directory_with_link(&app, "Acme", false).await;
    let id = dir.directory.id.to_string();
    let team = app.admin.create_team(&id, "Engineering").await;
    let team_id = team.id;
    let scim = scim_tests::client::Scim::new(&dir.directory.scim_base_url, &dir.token.token);
    let ann = scim
        .create_user(&scim_tests::client::okta_user("ann@acme.com", "Ann", "Lee"))
        .await;
    let group = scim
        .create_group(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "eng-all",
            "members": [{"value": ann.body["id"]}],
        }))
        .await;
    assert_eq!(group.status, StatusCode::CREATED, "{:?}", group.body);

    let page = Page::open(&app, &secret).await;
    let (_, groups) = page.get("groups").await;
    assert_eq!(groups[0]["display_name"], "eng-all", "{groups}");
    let (_, teams) = page.get("teams").await;
    assert_eq!(teams[0]["name"], "Engineering");

    let mapping = json!({"groups": ["eng-all"]});
    let path = format!("teams/{team_id}/groups");
    let (status, preview) = page
        .change(
            Method::POST,
            &format!("{path}/preview"),
            Some(mapping.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    // Ann was pushed a moment ago (no worker runs here, so she has no member record):
    // the preview makes hers as the worker will, shows her joining, and keeps nothing.
    assert_eq!(
        preview["joined"],
        json!({"Engineering": ["ann@acme.com"]}),
        "{preview}"
    );
    let (_, teams) = page.get("teams").await;
    assert_eq!(teams[0]["groups"], json!([]), "a preview changes nothing");
    let members: i64 = sqlx::query_scalar("SELECT count(*) FROM members")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(members, 0, "nor does it keep the member records it made");

    let (status, saved) = page.change(Method::PUT, &path, Some(mapping)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["groups"], json!(["eng-all"]));
    // Another directory's team is out of reach.
    let (other, _, _) = directory_with_link(&app, "Globex", false).await;
    let theirs = app.admin.create_team(other.directory.id, "Sales").await.id;
    let (status, body) = page.get(&format!("teams/{theirs}/members")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = page
        .change(
            Method::PUT,
            &format!("teams/{theirs}/groups"),
            Some(json!({"groups": ["eng-all"]})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, members) = page.get(&format!("teams/{team_id}/members")).await;
    assert_eq!(status, StatusCode::OK, "{members}");
    // A mapping in attribute mode's table is refused in this (mapped) directory.
    let (status, body) = page
        .change(
            Method::PUT,
            "team-values",
            Some(json!({"values": {"x": "Engineering"}})),
        )
        .await;
    assert!(status.is_client_error(), "{body}");
}

#[tokio::test]
async fn the_page_edits_an_attribute_directorys_value_table() {
    let app = spawn_app().await;
    let (dir, _, secret) = directory_with_link(&app, "Acme", false).await;
    let id = dir.directory.id.to_string();
    let (status, body) = app.admin.send(Method::PUT,
        &format!("/directories/{id}/team-mapping"),
        Some(json!({"team_mode": "attribute", "team_attribute": "urn:acme:scim:schemas:2.0:User:group"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for team in ["Field Ops", "Office"] {
        app.admin.create_team(&id, team).await;
    }
    let page = Page::open(&app, &secret).await;
    let (_, view) = page.get("directory").await;
    assert_eq!(view["team_mode"], "attribute");

    let table = json!({"values": {"field": "Field Ops", "FIELD-OPS": "Field Ops", "hq": "Office"}});
    let (status, preview) = page
        .change(Method::POST, "team-values/preview", Some(table.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    let (_, unchanged) = page.get("team-values").await;
    assert_eq!(unchanged, json!({"values": {}}), "a preview saves nothing");
    let (status, body) = page
        .change(Method::PUT, "team-values", Some(table.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, saved) = page.get("team-values").await;
    assert_eq!(saved, table);
    // A value naming no team is refused, and the table stays as it was.
    let (status, body) = page
        .change(
            Method::PUT,
            "team-values",
            Some(json!({"values": {"x": "Nowhere"}})),
        )
        .await;
    assert!(status.is_client_error(), "{body}");
    assert!(body["error"].is_string(), "{body}");
    let (_, kept) = page.get("team-values").await;
    assert_eq!(kept, table);
    // Group mappings are for mapped mode only.
    let (_, teams) = page.get("teams").await;
    let team = teams[0]["id"].as_str().unwrap();
    let (status, body) = page
        .change(
            Method::PUT,
            &format!("teams/{team}/groups"),
            Some(json!({"groups": ["x"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

/// Attempts to open a link are refused by shape before the database, and past their
/// rate per link and per client address (429 with Retry-After); expired sessions and
/// long-dead links are purged.
#[tokio::test]
async fn attempts_to_open_setup_links_are_limited_and_dead_sessions_purged() {
    let app = spawn_app().await;
    let dir = directory(&app, "Acme").await;
    let (_, secret) = link(&app, &dir).await;
    let post = |link: String, from: &'static str| {
        let base = app.base.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{base}/setup/session"))
                .header("x-forwarded-for", from)
                .json(&json!({"link": link}))
                .send()
                .await
                .unwrap()
        }
    };
    // Not a link's shape: refused, and not counted against anything.
    for _ in 0..40 {
        assert_eq!(
            post("setup_nope".into(), "198.51.100.1").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // The right link with a wrong secret, from many addresses: ten a minute.
    let wrong = format!(
        "{}{}",
        &secret[..secret.len() - 1],
        if secret.ends_with('0') { '1' } else { '0' }
    );
    let froms = [
        "203.0.113.1",
        "203.0.113.2",
        "203.0.113.3",
        "203.0.113.4",
        "203.0.113.5",
        "203.0.113.6",
        "203.0.113.7",
        "203.0.113.8",
        "203.0.113.9",
        "203.0.113.10",
        "203.0.113.11",
    ];
    for from in &froms[..10] {
        assert_eq!(
            post(wrong.clone(), from).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let limited = post(wrong.clone(), froms[10]).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().contains_key("retry-after"));
    // One address trying many links: thirty a minute.
    let fake = |i: usize| {
        format!(
            "setup_{}{}",
            uuid::Uuid::from_u128(i as u128).simple(),
            "0".repeat(64)
        )
    };
    for i in 0..30 {
        assert_eq!(
            post(fake(i), "192.0.2.50").await.status(),
            StatusCode::UNAUTHORIZED,
            "{i}"
        );
    }
    assert_eq!(
        post(fake(30), "192.0.2.50").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    // Purged: a session past its expiry, and a link dead for more than 30 days.
    let (_, other) = link(&app, &dir).await;
    let (cookie, _) = open(&app, &other).await;
    sqlx::query("UPDATE setup_sessions SET expires_at = now() - interval '1 second'")
        .execute(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(
        scim_store::setup::purge(&app.db.pool).await.unwrap(),
        (1, 0)
    );
    let (status, _, _) = setup(&app, Method::GET, Some(&cookie), None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    sqlx::query("UPDATE setup_links SET expires_at = now() - interval '31 days'")
        .execute(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(
        scim_store::setup::purge(&app.db.pool).await.unwrap(),
        (0, 2)
    );
}

/// Served over https, the session cookie is a `__Host-` cookie: Secure, for the whole
/// host, set by no one else.
#[tokio::test]
async fn under_https_the_session_cookie_is_a_host_cookie() {
    let app =
        crate::common::spawn_app_with(|c| c.public_base_url = "https://scim.example.com".into())
            .await;
    let dir = directory(&app, "Acme").await;
    let (status, body) = app
        .admin
        .send(
            Method::POST,
            &format!("/directories/{dir}/setup-links"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let secret = body["url"]
        .as_str()
        .unwrap()
        .split_once('#')
        .unwrap()
        .1
        .to_owned();
    let (status, set_cookie, _) = setup(
        &app,
        Method::POST,
        None,
        None,
        Some(json!({"link": secret})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let set_cookie = set_cookie.unwrap();
    assert!(set_cookie.starts_with("__Host-scim_setup="), "{set_cookie}");
    for attribute in ["Path=/;", "Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let cookie = set_cookie.split(';').next().unwrap();
    let (status, _, view) = setup(&app, Method::GET, Some(cookie), None, None).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let plain = cookie.trim_start_matches("__Host-");
    let (status, _, _) = setup(&app, Method::GET, Some(plain), None, None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "only the __Host- cookie counts"
    );
}
