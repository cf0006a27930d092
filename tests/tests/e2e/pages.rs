//! The web pages in a real headless Chromium, against the real ingress and worker.
//! The setup page: an IT admin opens the link, chooses Okta, generates a token, pastes
//! the base URL and token into Okta (here: makes Okta's test call with what the page
//! shows), watches the status panel change, maps a pushed group to a team with a
//! preview, saves, and sees the team fill. The console: an operator signs in, creates a
//! directory, reads its request log and the audit log, and issues a setup link that
//! opens that directory's setup page. Screenshots of each step are saved under
//! `target/artifacts/setup-page` and `target/artifacts/console`.

use reqwest::{Method, StatusCode};
use scim_tests::browser::Browser;
use scim_tests::client::{Scim, okta_user};
use scim_tests::process::{OPERATOR_TOKEN, Service, scimctl};
use scim_tests::{NatsServer, TestDb};
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn an_okta_admin_connects_and_maps_a_team_from_the_setup_page() {
    let db = TestDb::new().await;
    let nats = NatsServer::start();
    let ingress = Service::ingress(&db.url, &nats.url);
    let _worker = Service::worker(&db.url, &nats.url, &[]);
    let ctl = |args: &[&str]| -> Value {
        let out = scimctl(&ingress.admin_url(), &[args, &["--json"]].concat())
            .unwrap_or_else(|e| panic!("scimctl {args:?}: {e}"));
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("scimctl {args:?}: {e}: {out}"))
    };
    let created = ctl(&["directory", "create", "--name", "Acme", "--idp", "okta"]);
    let dir = created["id"].as_str().unwrap().to_owned();
    ctl(&[
        "team",
        "create",
        "--directory",
        &dir,
        "--team",
        "Engineering",
    ]);
    let link = ctl(&["directory", "setup-link", "--directory", &dir]);
    let url = link["url"].as_str().unwrap();

    let browser = Browser::start("setup-page", 1100, 1500).await;
    browser.goto(url).await;
    browser
        .wait_for_text("#stage", "Waiting for the first request", WAIT)
        .await;
    let address = browser.eval("return location.href").await;
    assert!(
        !address.as_str().unwrap().contains("setup_"),
        "the link's secret left the address bar: {address}"
    );
    browser.checkpoint("01-opened").await;

    // Okta is preselected for an Okta directory; its steps show this directory's URL.
    let okta = browser.find("input[name=idp][value=okta]", WAIT).await;
    browser.click(&okta).await;
    let steps = browser
        .wait_for_text("ol[data-idp=okta]", "userName", WAIT)
        .await;
    let base_url = browser.value(&browser.find("#base-url", WAIT).await).await;
    assert_eq!(base_url, created["scim_base_url"].as_str().unwrap());
    assert!(steps.contains(&base_url), "{steps}");
    assert!(steps.contains("Test Connector Configuration"), "{steps}");

    let generate = browser.find("#generate-token", WAIT).await;
    browser.click(&generate).await;
    let token = browser.value(&browser.find("#token", WAIT).await).await;
    assert!(token.starts_with("scim_"), "{token}");
    browser.wait_for_text("#tokens", "Revoke", WAIT).await;
    browser.checkpoint("02-okta-token").await;

    // Okta's "Test Connector Configuration" with what the page showed.
    let okta_client = Scim::new(&base_url, &token);
    let test_call = okta_client
        .send(Method::GET, "/Users?startIndex=1&count=2", None)
        .await;
    assert_eq!(test_call.status, StatusCode::OK);
    browser.wait_for_text("#stage", "Connected", WAIT).await;
    browser
        .wait_for_text("#first-request", "/Users?startIndex=1&count=2 → 200", WAIT)
        .await;
    browser.checkpoint("03-connected").await;

    // Okta assigns a person and pushes a group with them in it.
    let ann = okta_client
        .create_user(&okta_user("ann@acme.com", "Ann", "Lee"))
        .await;
    assert_eq!(ann.status, StatusCode::CREATED);
    let group = okta_client
        .create_group(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "eng-all",
            "members": [{"value": ann.body["id"]}],
        }))
        .await;
    assert_eq!(group.status, StatusCode::CREATED);
    browser.wait_for_text("#stage", "Provisioning", WAIT).await;
    browser.wait_for_text("#count-groups", "1", WAIT).await;
    // The pushed name is offered when mapping.
    browser
        .wait_for_script(
            "return [...document.querySelectorAll('#group-names option')].map(o => o.value).join(',')",
            "eng-all",
            WAIT,
        )
        .await;

    let card = ".team[data-team=Engineering]";
    let input = browser.find(&format!("{card} input"), WAIT).await;
    browser.type_into(&input, "eng-all").await;
    browser
        .click(
            &browser
                .find(&format!("{card} button[data-action=add]"), WAIT)
                .await,
        )
        .await;
    browser
        .click(
            &browser
                .find(&format!("{card} button[data-action=preview]"), WAIT)
                .await,
        )
        .await;
    let preview = browser
        .wait_for_text(&format!("{card} .preview"), "ann@acme.com", WAIT)
        .await;
    assert!(preview.contains("Engineering: 1 join"), "{preview}");
    browser.checkpoint("04-preview").await;
    browser
        .click(
            &browser
                .find(&format!("{card} button[data-action=save]"), WAIT)
                .await,
        )
        .await;
    browser
        .wait_for_text(&format!("{card} .message"), "Saved", WAIT)
        .await;

    // The worker fills the team; the page shows the member and where they came from.
    let members = format!("{card} button[data-action=members]");
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let button = browser.find(&members, WAIT).await;
        browser.click(&button).await;
        let shown = browser
            .wait_for_text(&format!("{card} .members"), "", WAIT)
            .await;
        if shown.contains("ann@acme.com") {
            assert!(shown.contains("from eng-all"), "{shown}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the team never filled: {shown}"
        );
        // Hide, wait, show again.
        browser.click(&button).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    browser.checkpoint("05-team-filled").await;

    // At phone width nothing scrolls sideways.
    browser.resize(390, 844).await;
    let fits = browser
        .eval("return document.documentElement.scrollWidth <= window.innerWidth")
        .await;
    browser.checkpoint("06-phone").await;
    assert_eq!(fits, json!(true), "the page is wider than a phone");

    // The mapping is the directory's, made by the link.
    let teams = ctl(&["team", "list", "--directory", &dir]);
    assert_eq!(teams[0]["groups"], json!(["eng-all"]), "{teams}");
}

#[tokio::test]
async fn an_operator_creates_a_directory_reads_its_logs_and_sends_a_setup_link() {
    let db = TestDb::new().await;
    let nats = NatsServer::start();
    let ingress = Service::ingress(&db.url, &nats.url);
    let _worker = Service::worker(&db.url, &nats.url, &[]);

    let browser = Browser::start("console", 1280, 1500).await;
    browser
        .goto(&format!("{}/console", ingress.admin_url()))
        .await;
    let sign_in = |token: &'static str| {
        let browser = &browser;
        async move {
            let field = browser.find("#operator-token", WAIT).await;
            browser.type_into(&field, token).await;
            let name = browser.find("#operator-name", WAIT).await;
            browser.type_into(&name, "Olga").await;
            browser
                .click(&browser.find("#sign-in button[type=submit]", WAIT).await)
                .await;
        }
    };
    sign_in("not-the-token").await;
    browser
        .wait_for_text("#sign-in .message", "not accepted", WAIT)
        .await;
    sign_in(OPERATOR_TOKEN).await;
    browser.wait_for_text("#signed-in", "Olga", WAIT).await;
    // The worker's consumer and its lag.
    browser
        .wait_for_text("#consumers", "member-sync", WAIT)
        .await;

    let name = browser.find("#new-name", WAIT).await;
    browser.type_into(&name, "Globex").await;
    browser
        .click(&browser.find("#new-idp option[value=entra]", WAIT).await)
        .await;
    browser
        .click(
            &browser
                .find("#create-directory button[type=submit]", WAIT)
                .await,
        )
        .await;
    let token = browser
        .value(&browser.find("#created-token", WAIT).await)
        .await;
    let base_url = browser
        .value(&browser.find("#created-url", WAIT).await)
        .await;
    assert!(token.starts_with("scim_"), "{token}");
    browser
        .wait_for_text("#directory-list", "Globex", WAIT)
        .await;
    browser.checkpoint("01-created").await;
    let dir = base_url.rsplit('/').next().unwrap().to_owned();

    // Entra's connection test, then a request it gets wrong.
    let entra = Scim::new(&base_url, &token);
    let filter = "/Users?filter=userName%20eq%20%22probe%22";
    assert_eq!(
        entra.send(Method::GET, filter, None).await.status,
        StatusCode::OK
    );
    let bad = entra
        .send(Method::GET, "/Users?filter=nope%20eq%201", None)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    let pick = |select: &'static str, value: String| {
        let browser = &browser;
        async move {
            browser
                .click(
                    &browser
                        .find(&format!("{select} option[value='{value}']"), WAIT)
                        .await,
                )
                .await;
        }
    };
    pick("#requests-directory", dir.clone()).await;
    pick("#requests-status", "errors".into()).await;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        browser
            .click(
                &browser
                    .find("#request-filter button[type=submit]", WAIT)
                    .await,
            )
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let shown = browser
            .text(&browser.find("#request-list", WAIT).await)
            .await;
        if shown.contains("400") {
            assert!(
                shown.contains("nope"),
                "the detail Entra was given: {shown}"
            );
            assert!(!shown.contains("probe"), "errors only: {shown}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no request logged: {shown}"
        );
    }
    browser.checkpoint("02-requests").await;
    browser.click(&browser.find("#refresh", WAIT).await).await;
    browser
        .wait_for_text("#directory-list", "50% (1 of the last 2)", WAIT)
        .await;

    pick("#link-directory", dir.clone()).await;
    browser
        .click(&browser.find("#issue-link button[type=submit]", WAIT).await)
        .await;
    let link = browser
        .value(&browser.find("#issued-url", WAIT).await)
        .await;
    assert!(link.contains("/setup#setup_"), "{link}");

    browser
        .click(
            &browser
                .find("#audit-filter button[type=submit]", WAIT)
                .await,
        )
        .await;
    let audit = browser
        .wait_for_text("#audit-list", "setup_link.created", WAIT)
        .await;
    assert!(audit.contains("Olga (console)"), "{audit}");
    assert!(audit.contains("directory.created"), "{audit}");
    assert!(!audit.contains(&token[10..]), "no secret in the audit log");
    browser.checkpoint("03-audit").await;
    let dead = browser
        .text(&browser.find("#dead-letter-list", WAIT).await)
        .await;
    assert!(dead.contains("No dead letters"), "{dead}");

    // The link opens the directory's setup page, with Entra's steps.
    browser.goto(&link).await;
    browser
        .wait_for_text("#directory-name", "Globex", WAIT)
        .await;
    let steps = browser
        .wait_for_text("ol[data-idp=entra]", "Tenant URL", WAIT)
        .await;
    assert!(
        steps.contains(&format!("{base_url}?aadOptscim062020")),
        "{steps}"
    );
    // The field with the Copy button holds what Entra is to be given: the tenant URL.
    let field = browser.value(&browser.find("#base-url", WAIT).await).await;
    assert_eq!(field, format!("{base_url}?aadOptscim062020"));
    let label = browser
        .text(&browser.find("#base-url-label", WAIT).await)
        .await;
    assert!(label.starts_with("Tenant URL"), "{label}");
    browser.checkpoint("04-setup-page-for-entra").await;
}
