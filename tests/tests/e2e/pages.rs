//! The web pages in a real headless Chromium, against the real ingress and worker.
//! The setup page: an IT admin opens the link, creates a team, chooses Okta, generates
//! a token, pastes the base URL and token into Okta (here: makes Okta's calls with what
//! the page shows, a wrong token first), watches the status panel change, maps a
//! pushed group to the team with a preview, saves, sees the team fill, finds a refused
//! push in the request history with what was sent, and is told whom to ask when the
//! link is revoked. In attribute mode the admin switches the team mode with a preview,
//! creates a team and maps a value to it. The console: an operator signs in, creates a
//! directory, acts on it from its page (setup links, a parked event, deletion), reads
//! the request and audit logs, and opens the issued link's setup page. Every state is checked with axe-core, and
//! screenshots of each are saved under `target/artifacts/<test>`.

use reqwest::{Method, StatusCode};
use scim_admin_api::{CreatedDirectory, IssuedSetupLink};
use scim_tests::admin::Admin;
use scim_tests::browser::Browser;
use scim_tests::client::{Scim, okta_user};
use scim_tests::process::{OPERATOR_TOKEN, Service};
use scim_tests::scimctl::Scimctl;
use scim_tests::{NatsServer, TestDb};
use serde_json::json;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// The system the pages run on: Postgres, NATS, the ingress (with `env`) and a worker.
struct Site {
    db: TestDb,
    _nats: NatsServer,
    ingress: Service,
    _worker: Service,
}

impl Site {
    async fn start(env: &[(&str, &str)]) -> Site {
        let db = TestDb::new().await;
        let nats = NatsServer::start();
        let ingress = Service::ingress_with(&db.url, &nats.url, env);
        let worker = Service::worker(&db.url, &nats.url, &[]);
        Site {
            db,
            _nats: nats,
            ingress,
            _worker: worker,
        }
    }

    fn ctl(&self) -> Scimctl {
        Scimctl::new(self.ingress.admin_url())
    }

    /// A directory made as an operator makes it, with scimctl, and a setup link for it
    /// (`--allow-controls` when asked): the directory's scimctl, and both as printed.
    fn directory(
        &self,
        name: &str,
        idp: &str,
        allow_controls: bool,
    ) -> (Scimctl, CreatedDirectory, IssuedSetupLink) {
        let created: CreatedDirectory =
            self.ctl()
                .json(&["directory", "create", "--name", name, "--idp", idp]);
        let ctl = self.ctl().in_directory(created.directory.id);
        let mut args = vec!["directory", "setup-link"];
        if allow_controls {
            args.push("--allow-controls");
        }
        let link = ctl.json(&args);
        (ctl, created, link)
    }
}

/// Opens the team `card`'s members until `email` is among them (the worker applies
/// changes a moment later).
async fn wait_for_member(browser: &Browser, card: &str, email: &str) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let button = browser
            .find(&format!("{card} button[data-action=members]"), WAIT)
            .await;
        browser.click(&button).await;
        let shown = browser
            .wait_for_text(&format!("{card} .members"), "", WAIT)
            .await;
        if shown.contains(email) {
            return shown;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{email} never joined {card}: {shown}"
        );
        // Hide, wait, show again.
        browser.click(&button).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn an_okta_admin_connects_and_maps_a_team_from_the_setup_page() {
    let site = Site::start(&[]).await;
    let (ctl, created, link) = site.directory("Acme", "okta", false);
    let url = &link.url;

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

    // The admin makes the team the groups will fill, and one made by mistake.
    for name in ["Engineering", "Temp"] {
        let field = browser.find("#new-team", WAIT).await;
        browser.type_into(&field, name).await;
        browser
            .click(&browser.find("#create-team button[type=submit]", WAIT).await)
            .await;
        browser
            .wait_for_text(
                "#create-team .message",
                &format!("Team {name} created"),
                WAIT,
            )
            .await;
    }
    let temp = ".team[data-team=Temp]";
    browser
        .click(
            &browser
                .find(&format!("{temp} button[data-action=delete]"), WAIT)
                .await,
        )
        .await;
    browser
        .wait_for_text(&format!("{temp} .confirm"), "cannot be undone", WAIT)
        .await;
    browser.checkpoint("01b-confirm-delete").await;
    browser
        .click(
            &browser
                .find(&format!("{temp} button[data-action=confirm-delete]"), WAIT)
                .await,
        )
        .await;
    browser
        .wait_for_script(
            "return document.querySelector('.team[data-team=Temp]') ? 'there' : 'gone'",
            "gone",
            WAIT,
        )
        .await;
    let shown = browser
        .eval("return [...document.querySelectorAll('.team')].map(t => t.dataset.team).join(',')")
        .await;
    assert_eq!(shown, json!("Engineering"));

    // Okta is preselected for an Okta directory; its steps show this directory's URL.
    let okta = browser.find("input[name=idp][value=okta]", WAIT).await;
    browser.click(&okta).await;
    let steps = browser
        .wait_for_text("ol[data-idp=okta]", "userName", WAIT)
        .await;
    let base_url = browser.value(&browser.find("#base-url", WAIT).await).await;
    assert_eq!(base_url, created.directory.scim_base_url);
    assert!(steps.contains(&base_url), "{steps}");
    assert!(steps.contains("Test Connector Configuration"), "{steps}");

    let generate = browser.find("#generate-token", WAIT).await;
    browser.click(&generate).await;
    let token = browser.value(&browser.find("#token", WAIT).await).await;
    assert!(token.starts_with("scim_"), "{token}");
    browser.wait_for_text("#tokens", "Revoke", WAIT).await;
    browser.checkpoint("02-okta-token").await;

    // Okta tested with a token pasted wrong first: the panel says so, and what to do.
    let wrong = Scim::new(&base_url, format!("{token}x"));
    for _ in 0..2 {
        let r = wrong
            .send(Method::GET, "/Users?startIndex=1&count=2", None)
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    browser.wait_for_text("#stage", "Not connected", WAIT).await;
    let errors = browser
        .wait_for_text("#errors", "Token not recognised", WAIT)
        .await;
    assert!(errors.contains("401"), "{errors}");
    browser.checkpoint("02b-wrong-token").await;
    browser.screenshot_of("#status", "status-refused").await;

    // Okta's "Test Connector Configuration" with what the page showed.
    let okta_client = Scim::new(&base_url, &token);
    let test_call = okta_client
        .send(Method::GET, "/Users?startIndex=1&count=2", None)
        .await;
    assert_eq!(test_call.status, StatusCode::OK);
    browser.wait_for_text("#stage", "Connected", WAIT).await;
    browser
        .wait_for_text("#latest-request", "/Users?startIndex=1&count=2 → 200", WAIT)
        .await;
    // The refusals came before it: marked resolved, their advice no longer shown.
    let errors = browser.wait_for_text("#errors", "resolved", WAIT).await;
    assert!(!errors.contains("Token not recognised"), "{errors}");
    browser.checkpoint("03-connected").await;
    browser.screenshot_of("#status", "status-connected").await;

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
    let shown = wait_for_member(&browser, card, "ann@acme.com").await;
    assert!(shown.contains("from eng-all"), "{shown}");
    browser.checkpoint("05-team-filled").await;
    browser.assert_keyboard_reachable("team-filled").await;
    browser.screenshot_of("#teams", "teams").await;

    // Okta pushes Ann again (an import matched nothing): refused, and the admin finds
    // the request, its user and what Okta sent in the history.
    let mut again = okta_user("ann@acme.com", "Ann", "Lee");
    again["password"] = json!("okta-password-1");
    assert_eq!(
        okta_client.create_user(&again).await.status,
        StatusCode::CONFLICT
    );
    browser
        .click(&browser.find("#history-block > summary", WAIT).await)
        .await;
    browser
        .click(
            &browser
                .find("#history-status option[value=errors]", WAIT)
                .await,
        )
        .await;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        browser
            .click(
                &browser
                    .find("#history-filter button[type=submit]", WAIT)
                    .await,
            )
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let shown = browser.text(&browser.find("#history", WAIT).await).await;
        if shown.contains("409") {
            assert!(shown.contains("/Users (ann@acme.com)"), "{shown}");
            assert!(shown.contains("already exists"), "{shown}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no 409 in the history: {shown}"
        );
    }
    browser
        .click(&browser.find("#history details.sent > summary", WAIT).await)
        .await;
    let body = browser
        .wait_for_text("#history details.sent pre", "userName", WAIT)
        .await;
    assert!(body.contains("ann@acme.com"), "{body}");
    assert!(
        !body.contains("okta-password-1"),
        "the password shown: {body}"
    );
    browser.checkpoint("05b-history").await;
    browser.screenshot_of("#received", "history").await;

    // At phone width nothing scrolls sideways.
    browser.resize(390, 844).await;
    let fits = browser
        .eval("return document.documentElement.scrollWidth <= window.innerWidth")
        .await;
    browser.checkpoint("06-phone").await;
    assert_eq!(fits, json!(true), "the page is wider than a phone");

    // The mapping is the directory's, made by the link.
    let teams = ctl.teams();
    assert_eq!(teams[0].groups, ["eng-all"], "{teams:?}");

    // The operator revokes the link while the page is open: it says so, and whom to ask.
    browser.resize(1100, 1500).await;
    let link_id = link.link.id.to_string();
    ctl.ok(&["directory", "revoke-setup-link", "--link", &link_id]);
    browser
        .wait_for_text("#gate-message", "revoked", WAIT)
        .await;
    let help = browser
        .wait_for_text("#gate-help", "for a new setup link", WAIT)
        .await;
    assert!(help.contains("Ask"), "{help}");
    browser.checkpoint("07-revoked").await;
}

/// Attribute mode, set up from the page: the admin (with a link that allows it) switches
/// the team mode after a preview, creates a team, maps a value to it, and sees the user
/// whose attribute carries that value join it.
#[tokio::test]
async fn an_admin_switches_to_attribute_teams_and_maps_a_value_from_the_setup_page() {
    let site = Site::start(&[]).await;
    let (_, created, link) = site.directory("Initech", "onelogin", true);

    let browser = Browser::start("setup-page-attribute", 1100, 1500).await;
    browser.goto(&link.url).await;
    // OneLogin's own steps, with this directory's URL to copy.
    let steps = browser
        .wait_for_text("ol[data-idp=onelogin]", "SCIM Provisioner", WAIT)
        .await;
    assert!(steps.contains(&created.directory.scim_base_url), "{steps}");
    assert!(
        browser.eval("return document.querySelectorAll('ol[data-idp=onelogin] code.copyable + button').length").await
            .as_u64()
            .unwrap()
            >= 1
    );

    // And a link to the full OneLogin guide, served beside the page.
    let guide = browser
        .eval("return document.querySelector('#guide-link a').href")
        .await;
    let guide = guide.as_str().unwrap();
    assert!(guide.ends_with("/setup/guides/onelogin"), "{guide}");
    let text = reqwest::get(guide).await.unwrap().text().await.unwrap();
    assert!(
        text.starts_with("# Setting up provisioning with OneLogin"),
        "{text}"
    );

    let urn = "urn:acme:scim:schemas:2.0:User:group";
    browser
        .click(&browser.find("#team-mode-switch > summary", WAIT).await)
        .await;
    browser
        .click(
            &browser
                .find("input[name=team-mode][value=attribute]", WAIT)
                .await,
        )
        .await;
    browser
        .type_into(&browser.find("#team-attribute-urn", WAIT).await, urn)
        .await;
    browser
        .click(&browser.find("#preview-mode", WAIT).await)
        .await;
    browser
        .wait_for_text("#mode-form .preview", "No one joins or leaves", WAIT)
        .await;
    browser.checkpoint("01-mode-preview").await;
    browser.click(&browser.find("#save-mode", WAIT).await).await;
    browser
        .wait_for_text("#mode-form .message", "Switched to attribute teams", WAIT)
        .await;
    // The page now says which attribute the identity provider must send.
    let attribute = browser.wait_for_text("#team-attribute", urn, WAIT).await;
    assert!(
        attribute.contains("urn:acme:scim:schemas:2.0:User"),
        "{attribute}"
    );

    browser
        .type_into(&browser.find("#new-team", WAIT).await, "Customer Success")
        .await;
    browser
        .click(&browser.find("#create-team button[type=submit]", WAIT).await)
        .await;
    browser
        .wait_for_text("#create-team .message", "created", WAIT)
        .await;
    browser.click(&browser.find("#add-value", WAIT).await).await;
    browser
        .type_into(
            &browser.find("#value-table tbody tr input", WAIT).await,
            "CS EMEA",
        )
        .await;
    browser
        .click(&browser.find("#save-values", WAIT).await)
        .await;
    browser
        .wait_for_text("#value-table .message", "Saved", WAIT)
        .await;
    browser.checkpoint("02-value-saved").await;
    browser.screenshot_of("#teams", "attribute-teams").await;

    let onelogin = Scim::new(&created.directory.scim_base_url, &created.token.token);
    let mut kim = okta_user("kim@initech.com", "Kim", "Ode");
    kim["schemas"] = json!([
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:acme:scim:schemas:2.0:User"
    ]);
    kim["urn:acme:scim:schemas:2.0:User"] = json!({"group": "CS EMEA"});
    assert_eq!(onelogin.create_user(&kim).await.status, StatusCode::CREATED);
    wait_for_member(
        &browser,
        ".team[data-team='Customer Success']",
        "kim@initech.com",
    )
    .await;
    browser.checkpoint("03-member-by-attribute").await;
}

/// A link past its expiry: the page says so and whom to ask, in the product's name.
#[tokio::test]
async fn an_expired_link_says_whom_to_ask() {
    let logo = std::env::temp_dir().join(format!("logo-{}.svg", uuid::Uuid::now_v7()));
    std::fs::write(
        &logo,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="120" height="32"><rect width="120" height="32" rx="6" fill="#0b5cad"/></svg>"##,
    )
    .unwrap();
    let site = Site::start(&[
        ("PRODUCT_NAME", "Acme Scheduling"),
        ("SUPPORT_CONTACT", "https://acme-scheduling.example/help"),
        ("PRODUCT_LOGO_FILE", logo.to_str().unwrap()),
    ])
    .await;
    let ingress = &site.ingress;
    let created: CreatedDirectory = site
        .ctl()
        .json(&["directory", "create", "--name", "Umbrella"]);
    // A link for two seconds (scimctl's shortest is a minute).
    let expires = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
    let body = json!({"expires_at": expires.format(&time::format_description::well_known::Rfc3339).unwrap()});
    let link: IssuedSetupLink = Admin::new(ingress.admin_url())
        .call(
            Method::POST,
            &format!("/directories/{}/setup-links", created.directory.id),
            Some(body),
        )
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    let browser = Browser::start("setup-page-expired", 1100, 900).await;
    browser.goto(&link.url).await;
    browser
        .wait_for_text("#gate-message", "expired", WAIT)
        .await;
    let help = browser
        .wait_for_text("#gate-help", "Acme Scheduling", WAIT)
        .await;
    assert!(help.contains("acme-scheduling.example/help"), "{help}");
    let title = browser.text(&browser.find("h1", WAIT).await).await;
    assert_eq!(title, "Set up user provisioning for Acme Scheduling");
    // The product's logo, loaded from its own host.
    browser.find("#logo", WAIT).await;
    browser
        .wait_for_script(
            "return String(document.getElementById('logo').naturalWidth)",
            "120",
            WAIT,
        )
        .await;
    browser.checkpoint("01-expired").await;
    std::fs::remove_file(logo).unwrap();
}

/// The console: sign in, create a directory (a second of the same name is refused),
/// read its errors and request log, issue setup links and revoke one, republish a
/// parked event, read the audit log with its directory column, delete a directory, and
/// open the issued link's setup page.
#[tokio::test]
async fn an_operator_acts_on_a_directory_from_the_console() {
    let site = Site::start(&[]).await;
    let ingress = &site.ingress;

    let browser = Browser::start("console", 1280, 1500).await;
    browser
        .goto(&format!("{}/console", ingress.admin_url()))
        .await;
    let click = |css: &'static str| {
        let browser = &browser;
        async move { browser.click(&browser.find(css, WAIT).await).await }
    };
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
    browser.checkpoint("00-sign-in-refused").await;
    sign_in(OPERATOR_TOKEN).await;
    browser.wait_for_text("#signed-in", "Olga", WAIT).await;
    // The worker's consumer and its lag; focus on the view's heading.
    browser
        .wait_for_text("#consumers", "member-sync", WAIT)
        .await;
    let focused = browser.eval("return document.activeElement.id").await;
    assert_eq!(focused, json!("pipeline-heading"));
    browser.checkpoint("01-overview").await;

    click("#nav a[href='#directories']").await;
    let create = |name: &'static str, idp: &'static str| {
        let browser = &browser;
        async move {
            let field = browser.find("#new-name", WAIT).await;
            browser.clear(&field).await;
            browser.type_into(&field, name).await;
            browser
                .click(
                    &browser
                        .find(&format!("#new-idp option[value={idp}]"), WAIT)
                        .await,
                )
                .await;
            browser
                .click(
                    &browser
                        .find("#create-directory button[type=submit]", WAIT)
                        .await,
                )
                .await;
        }
    };
    create("Globex", "entra").await;
    browser
        .wait_for_text("#directory-heading", "Globex", WAIT)
        .await;
    let token = browser
        .value(&browser.find("#created-token", WAIT).await)
        .await;
    let base_url = browser
        .value(&browser.find("#created-url", WAIT).await)
        .await;
    assert!(token.starts_with("scim_"), "{token}");
    let dir = base_url.rsplit('/').next().unwrap().to_owned();
    browser.checkpoint("02-created").await;

    // A second Globex is refused, naming the first.
    click("#nav a[href='#directories']").await;
    create("globex", "okta").await;
    let refused = browser
        .wait_for_text("#create-directory .message", "already exists", WAIT)
        .await;
    assert!(refused.contains(&dir), "{refused}");
    let listed = browser
        .wait_for_text("#directory-list", "Globex", WAIT)
        .await;
    assert!(listed.contains(&dir), "ids beside names: {listed}");

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
    // An event NATS will never take, as an older release could have written it.
    let payload = json!({"id": uuid::Uuid::now_v7(), "blob": "b".repeat(1_100_000)});
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO outbox (event_id, subject, payload) VALUES ($1, $2, $3::json) RETURNING seq",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(format!("scim.v1.{dir}.user.updated"))
    .bind(payload.to_string())
    .fetch_one(&site.db.pool)
    .await
    .unwrap();

    browser
        .click(
            &browser
                .find(&format!("#directory-list a[href='#directory/{dir}']"), WAIT)
                .await,
        )
        .await;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        click("#directory-refresh").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let errors = browser
            .text(&browser.find("#recent-errors", WAIT).await)
            .await;
        let parked = browser
            .text(&browser.find("#directory-parked", WAIT).await)
            .await;
        if errors.contains("nope") && parked.contains(&seq.to_string()) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "errors: {errors}; parked: {parked}"
        );
    }
    let counts = browser
        .text(&browser.find("#directory-counts", WAIT).await)
        .await;
    assert!(counts.contains("50% (1 of the last 2)"), "{counts}");

    // Two setup links; the first revoked, with a confirm step.
    for _ in 0..2 {
        click("#issue-link button[type=submit]").await;
        browser
            .wait_for_text("#issue-link .message", "Shown only now", WAIT)
            .await;
    }
    let link = browser
        .value(&browser.find("#issued-url", WAIT).await)
        .await;
    assert!(link.contains("/setup#setup_"), "{link}");
    let links = browser.wait_for_text("#link-list", "live", WAIT).await;
    assert_eq!(links.matches("live").count(), 2, "{links}");
    let first = browser
        .find("#link-list tbody tr:last-child button.danger", WAIT)
        .await;
    browser.click(&first).await;
    browser.checkpoint("03-confirm-revoke-link").await;
    click("#link-list tbody tr:last-child button.danger").await;
    browser
        .wait_for_text("#link-message", "revoked", WAIT)
        .await;
    let links = browser.wait_for_text("#link-list", "revoked", WAIT).await;
    assert_eq!(links.matches("live").count(), 1, "{links}");

    // The parked event, put back in the outbox (NATS sets it aside again).
    browser
        .click(
            &browser
                .find(
                    &format!("button[aria-label='Republish parked event {seq}']"),
                    WAIT,
                )
                .await,
        )
        .await;
    browser
        .wait_for_text("#directory-parked-message", "put back in the outbox", WAIT)
        .await;
    let audit = browser
        .wait_for_text("#directory-audit", "outbox.republished", WAIT)
        .await;
    assert!(audit.contains("setup_link.revoked"), "{audit}");
    browser.checkpoint("04-directory").await;
    browser.screenshot_of("#directory", "directory-page").await;
    browser.assert_keyboard_reachable("directory").await;

    // The request log, filtered, searched and paged.
    click("#all-requests").await;
    browser
        .wait_for_text("#requests-heading", "Request log", WAIT)
        .await;
    click("#requests-status option[value=errors]").await;
    click("#request-filter button[type=submit]").await;
    let shown = browser.wait_for_text("#request-list", "400", WAIT).await;
    assert!(
        shown.contains("nope"),
        "the detail Entra was given: {shown}"
    );
    assert!(!shown.contains("probe"), "errors only: {shown}");
    browser.checkpoint("05-requests").await;

    // The audit log names each action's directory.
    click("#nav a[href='#audit']").await;
    click("#audit-filter button[type=submit]").await;
    let audit = browser
        .wait_for_text("#audit-list", "setup_link.created", WAIT)
        .await;
    assert!(audit.contains("Olga (console)"), "{audit}");
    assert!(audit.contains("directory.created"), "{audit}");
    assert!(
        audit.contains(&format!("Globex ({}…)", &dir[..8])),
        "{audit}"
    );
    assert!(!audit.contains(&token[10..]), "no secret in the audit log");
    browser.checkpoint("06-audit").await;

    click("#nav a[href='#parked']").await;
    // Set aside again under a new number: NATS still refuses it.
    let parked = browser
        .wait_for_text("#parked-list", "max payload", WAIT)
        .await;
    assert!(
        parked.contains("user.updated") && parked.contains("Globex"),
        "{parked}"
    );
    browser.checkpoint("07-parked").await;
    click("#nav a[href='#dead-letters']").await;
    browser
        .wait_for_text("#dead-letter-list", "No dead letters", WAIT)
        .await;

    // A directory made by mistake, deleted from its page after typing its name.
    click("#nav a[href='#directories']").await;
    create("Temp Co", "generic").await;
    browser
        .wait_for_text("#directory-heading", "Temp Co", WAIT)
        .await;
    click("#delete-directory button[type=submit]").await;
    browser
        .wait_for_text("#delete-directory .message", "Type Temp Co exactly", WAIT)
        .await;
    browser
        .type_into(&browser.find("#delete-confirm", WAIT).await, "Temp Co")
        .await;
    click("#delete-directory button[type=submit]").await;
    browser
        .wait_for_text(
            "#create-directory .message",
            "Directory Temp Co deleted",
            WAIT,
        )
        .await;
    let listed = browser
        .wait_for_text("#directory-list", "Globex", WAIT)
        .await;
    assert!(!listed.contains("Temp Co"), "{listed}");

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
    browser.checkpoint("08-setup-page-for-entra").await;
}
