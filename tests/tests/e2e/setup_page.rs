//! The setup page in a real headless Chromium, against the real ingress and worker: an
//! IT admin opens the link, chooses Okta, generates a token, pastes the base URL and
//! token into Okta (here: makes Okta's test call with what the page shows), watches the
//! status panel change, maps a pushed group to a team with a preview, saves, and sees
//! the team fill. Screenshots of each step are saved under `target/artifacts/setup-page`.

use reqwest::{Method, StatusCode};
use scim_tests::browser::Browser;
use scim_tests::client::{Scim, okta_user};
use scim_tests::process::{Service, scimctl};
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
    browser.screenshot("01-opened").await;

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
    browser.screenshot("02-okta-token").await;

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
    browser.screenshot("03-connected").await;

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
    browser.screenshot("04-preview").await;
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
    browser.screenshot("05-team-filled").await;

    // At phone width nothing scrolls sideways.
    browser.resize(390, 844).await;
    let fits = browser
        .eval("return document.documentElement.scrollWidth <= window.innerWidth")
        .await;
    browser.screenshot("06-phone").await;
    assert_eq!(fits, json!(true), "the page is wider than a phone");

    // The mapping is the directory's, made by the link.
    let teams = ctl(&["team", "list", "--directory", &dir]);
    assert_eq!(teams[0]["groups"], json!(["eng-all"]), "{teams}");
}
