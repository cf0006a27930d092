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
use scim_tests::{NatsServer, TestDb, eventually};
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
    let page = SetupPage::open("setup-page", &link.url).await;
    page.creates_a_team_and_deletes_one_made_by_mistake().await;
    let okta = page.follows_oktas_steps(&created).await;
    page.is_refused_with_a_token_pasted_wrong(&okta).await;
    page.connects(&okta).await;
    page.maps_the_pushed_group_with_a_preview(&okta).await;
    page.maps_the_pushed_group_to_a_role().await;
    // The worker gives Ann the group's role.
    eventually(WAIT, "ann's role from eng-all", || async {
        let members: Vec<scim_admin_api::Member> = ctl.json(&["members"]);
        members
            .iter()
            .any(|m| {
                m.email.as_deref() == Some("ann@acme.com")
                    && m.role.as_deref() == Some("admin")
                    && m.role_source == Some(scim_admin_api::RoleSource::Group)
            })
            .then_some(())
    })
    .await;
    page.finds_a_refused_push_and_what_it_sent(&okta).await;
    page.fits_a_phone().await;
    // The mapping is the directory's, made by the link.
    let teams = ctl.teams();
    assert_eq!(teams[0].groups, ["eng-all"], "{teams:?}");
    page.says_whom_to_ask_when_the_link_is_revoked(&ctl, &link)
        .await;
}

/// The setup page in a browser, as the customer's IT admin uses it.
struct SetupPage {
    browser: Browser,
}

impl SetupPage {
    /// Opens the link: waiting for the first request, its secret out of the address
    /// bar.
    async fn open(name: &str, url: &str) -> SetupPage {
        let browser = Browser::start(name, 1100, 1500).await;
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
        SetupPage { browser }
    }

    async fn click(&self, css: &str) {
        self.browser.click_on(css, WAIT).await;
    }

    /// The admin makes the team the groups will fill, and one made by mistake, deleted
    /// after a confirm step.
    async fn creates_a_team_and_deletes_one_made_by_mistake(&self) {
        let browser = &self.browser;
        for name in ["Engineering", "Temp"] {
            let field = browser.find("#new-team", WAIT).await;
            browser.type_into(&field, name).await;
            self.click("#create-team button[type=submit]").await;
            browser
                .wait_for_text(
                    "#create-team .message",
                    &format!("Team {name} created"),
                    WAIT,
                )
                .await;
        }
        let temp = ".team[data-team=Temp]";
        self.click(&format!("{temp} button[data-action=delete]"))
            .await;
        browser
            .wait_for_text(&format!("{temp} .confirm"), "cannot be undone", WAIT)
            .await;
        browser.checkpoint("01b-confirm-delete").await;
        self.click(&format!("{temp} button[data-action=confirm-delete]"))
            .await;
        browser
            .wait_for_script(
                "return document.querySelector('.team[data-team=Temp]') ? 'there' : 'gone'",
                "gone",
                WAIT,
            )
            .await;
        let shown = browser
            .eval(
                "return [...document.querySelectorAll('.team')].map(t => t.dataset.team).join(',')",
            )
            .await;
        assert_eq!(shown, json!("Engineering"));
    }

    /// Okta is preselected for an Okta directory; its steps show this directory's URL;
    /// the admin generates a token. What Okta is given: the base URL and the token.
    async fn follows_oktas_steps(&self, created: &CreatedDirectory) -> Okta {
        let browser = &self.browser;
        self.click("input[name=idp][value=okta]").await;
        let steps = browser
            .wait_for_text("ol[data-idp=okta]", "userName", WAIT)
            .await;
        let base_url = browser.value(&browser.find("#base-url", WAIT).await).await;
        assert_eq!(base_url, created.directory.scim_base_url);
        assert!(steps.contains(&base_url), "{steps}");
        assert!(steps.contains("Test Connector Configuration"), "{steps}");

        self.click("#generate-token").await;
        let token = browser.value(&browser.find("#token", WAIT).await).await;
        assert!(token.starts_with("scim_"), "{token}");
        browser.wait_for_text("#tokens", "Revoke", WAIT).await;
        browser.checkpoint("02-okta-token").await;
        Okta { base_url, token }
    }

    /// Okta tested with a token pasted wrong first: the panel says so, and what to do.
    async fn is_refused_with_a_token_pasted_wrong(&self, okta: &Okta) {
        let browser = &self.browser;
        let wrong = Scim::new(&okta.base_url, format!("{}x", okta.token));
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
    }

    /// Okta's "Test Connector Configuration" with what the page showed: connected, the
    /// refusals before it marked resolved and their advice no longer shown.
    async fn connects(&self, okta: &Okta) {
        let browser = &self.browser;
        let test_call = okta
            .client()
            .send(Method::GET, "/Users?startIndex=1&count=2", None)
            .await;
        assert_eq!(test_call.status, StatusCode::OK);
        browser.wait_for_text("#stage", "Connected", WAIT).await;
        browser
            .wait_for_text("#latest-request", "/Users?startIndex=1&count=2 → 200", WAIT)
            .await;
        let errors = browser.wait_for_text("#errors", "resolved", WAIT).await;
        assert!(!errors.contains("Token not recognised"), "{errors}");
        browser.checkpoint("03-connected").await;
        browser.screenshot_of("#status", "status-connected").await;
    }

    /// Okta assigns Ann and pushes eng-all with her in it; the admin maps the pushed
    /// name (offered when mapping) to Engineering after a preview, and the worker fills
    /// the team: the page shows Ann and where she came from.
    async fn maps_the_pushed_group_with_a_preview(&self, okta: &Okta) {
        let browser = &self.browser;
        let okta = okta.client();
        let ann = okta
            .create_user(&okta_user("ann@acme.com", "Ann", "Lee"))
            .await;
        assert_eq!(ann.status, StatusCode::CREATED);
        let group = okta
            .create_group(&json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "eng-all",
                "members": [{"value": ann.body["id"]}],
            }))
            .await;
        assert_eq!(group.status, StatusCode::CREATED);
        browser.wait_for_text("#stage", "Provisioning", WAIT).await;
        browser.wait_for_text("#count-groups", "1", WAIT).await;
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
        self.click(&format!("{card} button[data-action=add]")).await;
        self.click(&format!("{card} button[data-action=preview]"))
            .await;
        let preview = browser
            .wait_for_text(&format!("{card} .preview"), "ann@acme.com", WAIT)
            .await;
        assert!(preview.contains("Engineering: 1 join"), "{preview}");
        browser.checkpoint("04-preview").await;
        self.click(&format!("{card} button[data-action=save]"))
            .await;
        browser
            .wait_for_text(&format!("{card} .message"), "Saved", WAIT)
            .await;

        let shown = wait_for_member(browser, card, "ann@acme.com").await;
        assert!(shown.contains("from eng-all"), "{shown}");
        browser.checkpoint("05-team-filled").await;
        browser.assert_keyboard_reachable("team-filled").await;
        browser.screenshot_of("#teams", "teams").await;
    }

    /// The admin reads the product's roles and gives eng-all's members the Admin role,
    /// after a preview that names Ann and what her role becomes.
    async fn maps_the_pushed_group_to_a_role(&self) {
        let browser = &self.browser;
        let roles = browser
            .wait_for_text("#role-list", "Member (default)", WAIT)
            .await;
        assert!(
            roles.contains("Owner") && roles.contains("admin"),
            "{roles}"
        );
        self.click("#add-role-mapping").await;
        let row = "#role-mappings tbody tr";
        browser
            .type_into(
                &browser.find(&format!("{row} input"), WAIT).await,
                "eng-all",
            )
            .await;
        self.click(&format!("{row} select option[value=admin]"))
            .await;
        self.click("#preview-role-mappings").await;
        let preview = browser
            .wait_for_text("#role-mappings .preview", "ann@acme.com", WAIT)
            .await;
        assert!(preview.contains("Member → Admin"), "{preview}");
        browser.checkpoint("05a-role-preview").await;
        self.click("#save-role-mappings").await;
        browser
            .wait_for_text("#role-mappings .message", "Saved", WAIT)
            .await;
        browser.checkpoint("05a-role-saved").await;
        browser.screenshot_of("#roles", "roles").await;
    }

    /// Okta pushes Ann again (an import matched nothing): refused, and the admin finds
    /// the request, its user and what Okta sent (never the password) in the history.
    async fn finds_a_refused_push_and_what_it_sent(&self, okta: &Okta) {
        let browser = &self.browser;
        let mut again = okta_user("ann@acme.com", "Ann", "Lee");
        again["password"] = json!("okta-password-1");
        assert_eq!(
            okta.client().create_user(&again).await.status,
            StatusCode::CONFLICT
        );
        self.click("#history-block > summary").await;
        self.click("#history-status option[value=errors]").await;
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            self.click("#history-filter button[type=submit]").await;
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
        self.click("#history details.sent > summary").await;
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
    }

    /// At phone width nothing scrolls sideways.
    async fn fits_a_phone(&self) {
        let browser = &self.browser;
        browser.resize(390, 844).await;
        let fits = browser
            .eval("return document.documentElement.scrollWidth <= window.innerWidth")
            .await;
        browser.checkpoint("06-phone").await;
        assert_eq!(fits, json!(true), "the page is wider than a phone");
        browser.resize(1100, 1500).await;
    }

    /// The operator revokes the link while the page is open: it says so, and whom to
    /// ask.
    async fn says_whom_to_ask_when_the_link_is_revoked(
        &self,
        ctl: &Scimctl,
        link: &IssuedSetupLink,
    ) {
        let browser = &self.browser;
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
}

/// What the admin gives Okta from the page.
struct Okta {
    base_url: String,
    token: String,
}

impl Okta {
    fn client(&self) -> Scim {
        Scim::new(&self.base_url, &self.token)
    }
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
    browser.click_on("#team-mode-switch > summary", WAIT).await;
    browser
        .click_on("input[name=team-mode][value=attribute]", WAIT)
        .await;
    browser
        .type_into(&browser.find("#team-attribute-urn", WAIT).await, urn)
        .await;
    browser.click_on("#preview-mode", WAIT).await;
    browser
        .wait_for_text("#mode-form .preview", "No one joins or leaves", WAIT)
        .await;
    browser.checkpoint("01-mode-preview").await;
    browser.click_on("#save-mode", WAIT).await;
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
        .click_on("#create-team button[type=submit]", WAIT)
        .await;
    browser
        .wait_for_text("#create-team .message", "created", WAIT)
        .await;
    browser.click_on("#add-value", WAIT).await;
    browser
        .type_into(
            &browser.find("#value-table tbody tr input", WAIT).await,
            "CS EMEA",
        )
        .await;
    browser.click_on("#save-values", WAIT).await;
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

/// The customer's admin finds people held by the deprovisioning safeguard on the setup
/// page, sees who and why, and keeps their access.
#[tokio::test]
async fn a_customer_admin_keeps_access_held_by_the_safeguard() {
    let site = Site::start(&[]).await;
    let (ctl, created, link) = site.directory("Hooli", "okta", true);
    ctl.ok(&[
        "directory",
        "hold-policy",
        "--min-members",
        "2",
        "--share",
        "10",
    ]);
    let browser = Browser::start("setup-page-hold", 1100, 1500).await;
    browser.goto(&link.url).await;
    browser
        .wait_for_text(
            "#hold-summary",
            "On: if your identity provider deactivates or deletes more than 2 people",
            WAIT,
        )
        .await;

    // Okta deactivates 6 of 10 people at once: 2 go, 4 are held.
    let okta = Scim::new(&created.directory.scim_base_url, &created.token.token);
    let mut ids = Vec::new();
    for i in 0..10 {
        let r = okta
            .create_user(&okta_user(&format!("p{i}@hooli.com"), "P", &i.to_string()))
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    let active = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM members WHERE status = 'active'")
            .fetch_one(&site.db.pool)
            .await
            .unwrap()
    };
    scim_tests::eventually(WAIT, "ten members", || async {
        (active().await == 10).then_some(())
    })
    .await;
    for id in &ids[..6] {
        let off = json!([{"op": "replace", "value": {"active": false}}]);
        assert_eq!(okta.patch_user(id, off).await.status, StatusCode::OK);
    }
    let summary = browser
        .wait_for_text(
            "#hold-summary",
            "than this directory lets through. 4 of them keep their access",
            WAIT,
        )
        .await;
    assert!(summary.contains("keep their access"), "{summary}");
    let held = browser.wait_for_text("#held", "p", WAIT).await;
    assert_eq!(held.matches("@hooli.com").count(), 4, "{held}");
    assert!(held.contains("Deactivated"), "{held}");
    browser.checkpoint("01-held").await;
    browser.screenshot_of("#hold", "held").await;
    // The operator sees the same hold on the directory's page in the console.
    let console = Console::open(&site).await;
    console.sign_in(OPERATOR_TOKEN).await;
    let operator = &console.browser;
    operator.wait_for_text("#signed-in", "Olga", WAIT).await;
    let page = format!(
        "location.hash = '#directory/{}'; return 1",
        created.directory.id
    );
    operator.eval(&page).await;
    operator
        .wait_for_text(
            "#hold-state",
            "4 deactivations, 0 deletions and 0 members leaving teams wait",
            WAIT,
        )
        .await;
    let listed = operator
        .wait_for_text("#held-list", "@hooli.com", WAIT)
        .await;
    assert_eq!(listed.matches("@hooli.com").count(), 4, "{listed}");
    operator.checkpoint("hold-01-held").await;

    browser
        .click_on("#hold-actions button[data-action=keep]", WAIT)
        .await;
    browser.checkpoint("02-confirm-keep").await;
    browser
        .click_on(
            "#hold-actions button[aria-label='Confirm: keep their access']",
            WAIT,
        )
        .await;
    browser
        .wait_for_text(
            "#hold-message",
            "Kept: the people held keep their access",
            WAIT,
        )
        .await;
    browser
        .wait_for_text("#hold-summary", "Nothing is held now", WAIT)
        .await;
    browser.checkpoint("03-kept").await;
    let status: scim_admin_api::HoldStatus = ctl.json(&["directory", "hold", "show"]);
    assert!(status.hold.is_none(), "{status:?}");
    // Paused by the product's team: the page says so.
    ctl.ok(&["directory", "pause"]);
    browser
        .wait_for_text(
            "#paused-note",
            "access in the product does not change",
            WAIT,
        )
        .await;
    browser.checkpoint("04-paused").await;
    assert_eq!(
        ctl.directory().active_users,
        4,
        "the directory records what Okta said"
    );
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
/// read its errors and request log, pause and resume it, issue setup links and revoke one, republish a
/// parked event, read the audit log with its directory column, delete a directory, and
/// open the issued link's setup page.
#[tokio::test]
async fn an_operator_acts_on_a_directory_from_the_console() {
    let site = Site::start(&[]).await;
    let console = Console::open(&site).await;
    console.signs_in().await;
    let globex = console.creates_globex_once().await;
    let seq = globex.fails_a_request_and_has_an_event_parked(&site).await;
    console
        .sees_the_error_and_the_parked_event(&globex, seq)
        .await;
    console.pauses_resumes_and_previews_a_reconcile().await;
    let link = console.issues_two_links_and_revokes_one().await;
    console.republishes_the_parked_event(seq).await;
    console.reads_the_request_log().await;
    console
        .reads_the_audit_log_and_the_parked_events(&globex)
        .await;
    console.deletes_a_directory_made_by_mistake().await;
    console.opens_the_setup_page_of(&link, &globex).await;
}

/// The operator's console in a browser.
struct Console {
    browser: Browser,
}

/// The directory the operator created from the console, as the console showed it.
struct Created {
    id: String,
    token: String,
    base_url: String,
}

impl Created {
    /// Entra's connection test passes, then a request it gets wrong is refused; an event
    /// NATS will never take is written as an older release could have written it: its
    /// outbox seq.
    async fn fails_a_request_and_has_an_event_parked(&self, site: &Site) -> i64 {
        let entra = Scim::new(&self.base_url, &self.token);
        let filter = "/Users?filter=userName%20eq%20%22probe%22";
        assert_eq!(
            entra.send(Method::GET, filter, None).await.status,
            StatusCode::OK
        );
        let bad = entra
            .send(Method::GET, "/Users?filter=nope%20eq%201", None)
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        let payload = json!({"id": uuid::Uuid::now_v7(), "blob": "b".repeat(1_100_000)});
        sqlx::query_scalar(
            "INSERT INTO outbox (event_id, subject, payload) VALUES ($1, $2, $3::json) RETURNING seq",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(format!("scim.v1.{}.user.updated", self.id))
        .bind(payload.to_string())
        .fetch_one(&site.db.pool)
        .await
        .unwrap()
    }
}

impl Console {
    async fn open(site: &Site) -> Console {
        let browser = Browser::start("console", 1280, 1500).await;
        browser
            .goto(&format!("{}/console", site.ingress.admin_url()))
            .await;
        Console { browser }
    }

    async fn click(&self, css: &str) {
        self.browser.click_on(css, WAIT).await;
    }

    async fn sign_in(&self, token: &str) {
        let browser = &self.browser;
        let field = browser.find("#operator-token", WAIT).await;
        browser.type_into(&field, token).await;
        let name = browser.find("#operator-name", WAIT).await;
        browser.type_into(&name, "Olga").await;
        self.click("#sign-in button[type=submit]").await;
    }

    /// Refused with a wrong token, then in: the pipeline's overview, with the worker's
    /// consumer and its lag, the focus on the view's heading.
    async fn signs_in(&self) {
        let browser = &self.browser;
        self.sign_in("not-the-token").await;
        browser
            .wait_for_text("#sign-in .message", "not accepted", WAIT)
            .await;
        browser.checkpoint("00-sign-in-refused").await;
        self.sign_in(OPERATOR_TOKEN).await;
        browser.wait_for_text("#signed-in", "Olga", WAIT).await;
        browser
            .wait_for_text("#consumers", "member-sync", WAIT)
            .await;
        let focused = browser.eval("return document.activeElement.id").await;
        assert_eq!(focused, json!("pipeline-heading"));
        browser.checkpoint("01-overview").await;
    }

    async fn create(&self, name: &str, idp: &str) {
        let browser = &self.browser;
        self.click("#nav a[href='#directories']").await;
        let field = browser.find("#new-name", WAIT).await;
        browser.clear(&field).await;
        browser.type_into(&field, name).await;
        self.click(&format!("#new-idp option[value={idp}]")).await;
        self.click("#create-directory button[type=submit]").await;
    }

    /// Globex (Entra) is created, its token and URL shown once; a second Globex is
    /// refused, naming the first; the list shows ids beside names.
    async fn creates_globex_once(&self) -> Created {
        let browser = &self.browser;
        self.create("Globex", "entra").await;
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
        let id = base_url.rsplit('/').next().unwrap().to_owned();
        browser.checkpoint("02-created").await;

        self.create("globex", "okta").await;
        let refused = browser
            .wait_for_text("#create-directory .message", "already exists", WAIT)
            .await;
        assert!(refused.contains(&id), "{refused}");
        let listed = browser
            .wait_for_text("#directory-list", "Globex", WAIT)
            .await;
        assert!(listed.contains(&id), "ids beside names: {listed}");
        Created {
            id,
            token,
            base_url,
        }
    }

    /// The directory's page shows the refused request among its errors, the parked
    /// event, and its error rate.
    async fn sees_the_error_and_the_parked_event(&self, globex: &Created, seq: i64) {
        let browser = &self.browser;
        let dir = &globex.id;
        self.click(&format!("#directory-list a[href='#directory/{dir}']"))
            .await;
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            self.click("#directory-refresh").await;
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
        // The directory's roles, highest first, with the groups mapped to each.
        let roles = browser
            .wait_for_text("#role-list", "Member (default)", WAIT)
            .await;
        assert!(
            roles.contains("Owner") && roles.contains("Admin"),
            "{roles}"
        );
    }

    /// Pauses the directory's provisioning and resumes it; the page says which it is. A
    /// reconcile preview finds nothing to change.
    async fn pauses_resumes_and_previews_a_reconcile(&self) {
        let browser = &self.browser;
        browser.wait_for_text("#pause-state", "Running", WAIT).await;
        self.click("#pause-toggle").await;
        browser
            .wait_for_text(
                "#pause-message",
                "Paused: members and teams stay as they are",
                WAIT,
            )
            .await;
        browser
            .wait_for_text("#pause-state", "Paused since", WAIT)
            .await;
        browser.checkpoint("02-paused").await;
        self.click("#pause-toggle").await;
        browser.wait_for_text("#pause-state", "Running", WAIT).await;
        browser
            .wait_for_text("#pause-message", "Resumed", WAIT)
            .await;
        // A reconcile preview of a directory whose product matches it.
        self.click("#reconcile-preview").await;
        browser
            .wait_for_text(
                "#reconcile-result",
                "Every member record matches the directory: nothing would change",
                WAIT,
            )
            .await;
        browser.checkpoint("02-reconcile-preview").await;
    }

    /// Two setup links; the first revoked, with a confirm step. The second's URL.
    async fn issues_two_links_and_revokes_one(&self) -> String {
        let browser = &self.browser;
        for _ in 0..2 {
            self.click("#issue-link button[type=submit]").await;
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
        self.click("#link-list tbody tr:last-child button.danger")
            .await;
        browser.checkpoint("03-confirm-revoke-link").await;
        self.click("#link-list tbody tr:last-child button.danger")
            .await;
        browser
            .wait_for_text("#link-message", "revoked", WAIT)
            .await;
        let links = browser.wait_for_text("#link-list", "revoked", WAIT).await;
        assert_eq!(links.matches("live").count(), 1, "{links}");
        link
    }

    /// The parked event, put back in the outbox (NATS sets it aside again); the
    /// directory's audit shows it and the revocation. The page is keyboard-reachable.
    async fn republishes_the_parked_event(&self, seq: i64) {
        let browser = &self.browser;
        self.click(&format!(
            "button[aria-label='Republish parked event {seq}']"
        ))
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
    }

    /// The request log, errors only: the detail Entra was given.
    async fn reads_the_request_log(&self) {
        let browser = &self.browser;
        self.click("#all-requests").await;
        browser
            .wait_for_text("#requests-heading", "Request log", WAIT)
            .await;
        self.click("#requests-status option[value=errors]").await;
        self.click("#request-filter button[type=submit]").await;
        let shown = browser.wait_for_text("#request-list", "400", WAIT).await;
        assert!(
            shown.contains("nope"),
            "the detail Entra was given: {shown}"
        );
        assert!(!shown.contains("probe"), "errors only: {shown}");
        browser.checkpoint("05-requests").await;
    }

    /// The audit log names each action's actor and directory and no secret; the
    /// parked event is set aside again under a new number; no dead letters.
    async fn reads_the_audit_log_and_the_parked_events(&self, globex: &Created) {
        let browser = &self.browser;
        self.click("#nav a[href='#audit']").await;
        self.click("#audit-filter button[type=submit]").await;
        let audit = browser
            .wait_for_text("#audit-list", "setup_link.created", WAIT)
            .await;
        assert!(audit.contains("Olga (console)"), "{audit}");
        assert!(audit.contains("directory.created"), "{audit}");
        assert!(
            audit.contains(&format!("Globex ({}…)", &globex.id[..8])),
            "{audit}"
        );
        assert!(
            !audit.contains(&globex.token[10..]),
            "no secret in the audit log"
        );
        browser.checkpoint("06-audit").await;

        self.click("#nav a[href='#parked']").await;
        let parked = browser
            .wait_for_text("#parked-list", "max payload", WAIT)
            .await;
        assert!(
            parked.contains("user.updated") && parked.contains("Globex"),
            "{parked}"
        );
        browser.checkpoint("07-parked").await;
        self.click("#nav a[href='#dead-letters']").await;
        browser
            .wait_for_text("#dead-letter-list", "No dead letters", WAIT)
            .await;
    }

    /// A directory made by mistake, deleted from its page after typing its name.
    async fn deletes_a_directory_made_by_mistake(&self) {
        let browser = &self.browser;
        self.create("Temp Co", "generic").await;
        browser
            .wait_for_text("#directory-heading", "Temp Co", WAIT)
            .await;
        self.click("#delete-directory button[type=submit]").await;
        browser
            .wait_for_text("#delete-directory .message", "Type Temp Co exactly", WAIT)
            .await;
        browser
            .type_into(&browser.find("#delete-confirm", WAIT).await, "Temp Co")
            .await;
        self.click("#delete-directory button[type=submit]").await;
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
    }

    /// The link opens the directory's setup page, with Entra's steps; the field with
    /// the Copy button holds what Entra is to be given: the tenant URL.
    async fn opens_the_setup_page_of(&self, link: &str, globex: &Created) {
        let browser = &self.browser;
        browser.goto(link).await;
        browser
            .wait_for_text("#directory-name", "Globex", WAIT)
            .await;
        let steps = browser
            .wait_for_text("ol[data-idp=entra]", "Tenant URL", WAIT)
            .await;
        let tenant_url = format!("{}?aadOptscim062020", globex.base_url);
        assert!(steps.contains(&tenant_url), "{steps}");
        let field = browser.value(&browser.find("#base-url", WAIT).await).await;
        assert_eq!(field, tenant_url);
        let label = browser
            .text(&browser.find("#base-url-label", WAIT).await)
            .await;
        assert!(label.starts_with("Tenant URL"), "{label}");
        browser.checkpoint("08-setup-page-for-entra").await;
    }
}
