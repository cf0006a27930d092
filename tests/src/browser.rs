//! A real headless Chromium, driven over W3C WebDriver by the system's `chromedriver`
//! (Debian's `chromium` and `chromium-driver`, which `scripts/deps.sh` installs). Only
//! the commands the page tests use; each failure panics with what the driver said.
//!
//! - `CHROMEDRIVER` (default `/usr/bin/chromedriver`), `CHROMIUM` (default
//!   `/usr/bin/chromium`).
//! - `AXE_CORE`: axe-core's `axe.min.js` (`scripts/deps.sh` installs it), which
//!   [`Browser::assert_accessible`] runs in the page.
//! - Screenshots go to `SCIM_ARTIFACTS` (default `target/artifacts`), one folder per
//!   test.

use base64::Engine;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The W3C name of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A browser session with its own chromedriver; both end when it is dropped.
pub struct Browser {
    http: reqwest::Client,
    driver: Child,
    session: String,
    artifacts: PathBuf,
}

/// An element of the page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium of `width`×`height`;
    /// screenshots go to the artifacts folder `name`.
    pub async fn start(name: &str, width: u32, height: u32) -> Browser {
        let driver_bin =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let port = crate::free_port();
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("starting {driver_bin} (scripts/deps.sh installs chromium-driver): {e}")
            });
        assert!(
            crate::wait_for_port(port, Duration::from_secs(20)),
            "chromedriver did not listen"
        );
        let http = reqwest::Client::new();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--no-first-run",
                         format!("--window-size={width},{height}")],
            },
        }}});
        let res: Value = http
            .post(format!("http://127.0.0.1:{port}/session"))
            .json(&caps)
            .send()
            .await
            .expect("asking chromedriver for a session")
            .json()
            .await
            .expect("chromedriver's answer");
        let session = res["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {res}"))
            .to_owned();
        let root = std::env::var("SCIM_ARTIFACTS").map_or_else(
            |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/artifacts"),
            PathBuf::from,
        );
        let artifacts = root.join(name);
        std::fs::create_dir_all(&artifacts).expect("creating the artifacts folder");
        Browser {
            http,
            session: format!("http://127.0.0.1:{port}/session/{session}"),
            driver,
            artifacts,
        }
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.session));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res: Value = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        if res["value"]["error"].is_string() {
            panic!("WebDriver {method} {path}: {}", res["value"]);
        }
        res["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.command(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.command(reqwest::Method::GET, path, None).await
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({"url": url})).await;
    }

    pub async fn resize(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({"width": width, "height": height}))
            .await;
    }

    /// Runs `script` (a function body) in the page; its return value.
    pub async fn eval(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": []}))
            .await
    }

    /// The displayed elements matching `css`.
    async fn visible(&self, css: &str) -> Vec<Element> {
        let found = self
            .post("/elements", json!({"using": "css selector", "value": css}))
            .await;
        let mut shown = Vec::new();
        for e in found.as_array().into_iter().flatten() {
            let el = Element(e[ELEMENT].as_str().unwrap_or_default().to_owned());
            if self.get(&format!("/element/{}/displayed", el.0)).await == json!(true) {
                shown.push(el);
            }
        }
        shown
    }

    /// The first displayed element matching `css`, waited for up to `timeout`.
    pub async fn find(&self, css: &str, timeout: Duration) -> Element {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(el) = self.visible(css).await.into_iter().next() {
                return el;
            }
            if Instant::now() > deadline {
                self.screenshot("failed").await;
                panic!("no visible {css} within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the text of the first visible `css` contains `wanted`; that text.
    pub async fn wait_for_text(&self, css: &str, wanted: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let mut last = String::new();
            if let Some(el) = self.visible(css).await.into_iter().next() {
                last = self.text(&el).await;
                if last.contains(wanted) {
                    return last;
                }
            }
            if Instant::now() > deadline {
                self.screenshot("failed").await;
                panic!("{css} did not show {wanted:?} within {timeout:?}; it shows {last:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until `script` (a function body returning a string) returns one containing
    /// `wanted`.
    pub async fn wait_for_script(&self, script: &str, wanted: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.eval(script).await;
            if got.as_str().is_some_and(|s| s.contains(wanted)) {
                return;
            }
            if Instant::now() > deadline {
                self.screenshot("failed").await;
                panic!("{script} did not return {wanted:?} within {timeout:?}; it returned {got}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Runs `script` (a function body) in the page and waits for it to call its last
    /// argument; the value it passed.
    pub async fn eval_async(&self, script: &str) -> Value {
        self.post("/execute/async", json!({"script": script, "args": []}))
            .await
    }

    /// axe-core's violations, of any impact, on the page as it is now: one line per
    /// rule, naming the elements.
    pub async fn accessibility_violations(&self) -> Vec<String> {
        if self.eval("return typeof axe").await != json!("object") {
            let path = std::env::var("AXE_CORE")
                .unwrap_or_else(|_| panic!("AXE_CORE must name axe.min.js (scripts/deps.sh)"));
            let source =
                std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
            self.eval(&source).await;
        }
        let found = self
            .eval_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {resultTypes: ['violations']})
                   .then((r) => done(r.violations.map((v) => `${v.id} (${v.impact}): ${v.help}: `
                       + v.nodes.map((n) => n.target.join(' ')).join(', '))))
                   .catch((e) => done([`axe failed: ${e}`]));",
            )
            .await;
        found
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Fails, with a screenshot named after `state`, if axe-core finds any violation.
    pub async fn assert_accessible(&self, state: &str) {
        let violations = self.accessibility_violations().await;
        if !violations.is_empty() {
            self.screenshot(&format!("inaccessible-{state}")).await;
            panic!("axe-core in state {state}:\n{}", violations.join("\n"));
        }
    }

    /// A state the test reached: its screenshot, and no axe-core violation in it.
    pub async fn checkpoint(&self, name: &str) {
        self.screenshot(name).await;
        self.assert_accessible(name).await;
    }

    pub async fn click(&self, el: &Element) {
        self.post(&format!("/element/{}/click", el.0), json!({}))
            .await;
    }

    /// Clicks the element `css` selects, once it is there (within `timeout`).
    pub async fn click_on(&self, css: &str, timeout: Duration) {
        self.click(&self.find(css, timeout).await).await;
    }

    /// Presses `key` (a WebDriver key code: `\u{E004}` is Tab, `\u{E007}` Enter) on
    /// whatever has the focus, as a keyboard does.
    pub async fn press(&self, key: &str) {
        let actions = json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
            {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]}]});
        self.post("/actions", actions).await;
    }

    /// A keyboard-only pass over the page as it is: Tab from the top until the focus
    /// comes round again. Fails naming any enabled, visible control Tab never reaches
    /// (of a radio group, its checked radio), and any the focus reaches without a
    /// visible focus ring.
    pub async fn assert_keyboard_reachable(&self, state: &str) {
        const TAB: &str = "\u{E004}";
        const DESCRIBE: &str = "const e = document.activeElement;
            if (!e || e === document.body) return null;
            const s = getComputedStyle(e);
            return [e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' ' +
                (e.getAttribute('aria-label') || e.textContent || e.value || '').trim().slice(0, 40),
                s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,
                e.dataset.keyboard === 'reached'];";
        const EXPECTED: &str = "const target = (e) => {
                const group = [...document.getElementsByName(e.name)];
                return group.find((r) => r.checked) || group[0];
            };
            return [...document.querySelectorAll('a[href], button, input, select, summary, textarea')]
                .filter((e) => !e.disabled && e.tabIndex >= 0
                    && e.checkVisibility({visibilityProperty: true}))
                .filter((e) => e.type !== 'radio' || target(e) === e)
                .map((e) => { e.dataset.keyboard = 'expected'; return e.tagName; }).length;";
        self.eval(
            "document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);",
        )
        .await;
        let expected = self.eval(EXPECTED).await.as_u64().unwrap_or_default();
        let mut seen: Vec<String> = Vec::new();
        let mut unringed = Vec::new();
        for _ in 0..(expected * 2 + 10) {
            self.press(TAB).await;
            let now = self.eval(DESCRIBE).await;
            let Some(name) = now[0].as_str() else {
                continue;
            };
            // Round again: the focus is back on a control it has been on.
            if now[2] == json!(true) {
                break;
            }
            if now[1] != json!(true) {
                unringed.push(name.to_owned());
            }
            self.eval("document.activeElement.dataset.keyboard = 'reached';")
                .await;
            seen.push(name.to_owned());
        }
        let missed = self
            .eval(
                "return [...document.querySelectorAll('[data-keyboard=expected]')].map((e) =>
                    e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' ' +
                    (e.getAttribute('aria-label') || e.textContent || '').trim().slice(0, 40));",
            )
            .await;
        self.eval("for (const e of document.querySelectorAll('[data-keyboard]')) delete e.dataset.keyboard;")
            .await;
        let missed: Vec<&str> = missed
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
            .collect();
        if !missed.is_empty() || !unringed.is_empty() {
            self.screenshot(&format!("keyboard-{state}")).await;
            panic!(
                "keyboard pass in state {state}: never reached {missed:?}; reached without a focus ring {unringed:?} (order: {seen:?})"
            );
        }
    }

    /// Empties an input.
    pub async fn clear(&self, el: &Element) {
        self.post(&format!("/element/{}/clear", el.0), json!({}))
            .await;
    }

    pub async fn type_into(&self, el: &Element, text: &str) {
        self.post(&format!("/element/{}/value", el.0), json!({"text": text}))
            .await;
    }

    pub async fn text(&self, el: &Element) -> String {
        self.get(&format!("/element/{}/text", el.0))
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// An input's current value.
    pub async fn value(&self, el: &Element) -> String {
        self.get(&format!("/element/{}/property/value", el.0))
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Saves the viewport as `{name}.png` in the test's artifacts folder; its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        self.save_png(name, self.get("/screenshot").await)
    }

    /// Saves the first visible `css` alone as `{name}.png` (for the guides' pictures).
    pub async fn screenshot_of(&self, css: &str, name: &str) -> PathBuf {
        let el = self.find(css, Duration::from_secs(5)).await;
        let png = self.get(&format!("/element/{}/screenshot", el.0)).await;
        self.save_png(name, png)
    }

    fn save_png(&self, name: &str, png: Value) -> PathBuf {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or_default())
            .expect("a base64 screenshot");
        let path = self.artifacts.join(format!("{name}.png"));
        std::fs::write(&path, bytes).expect("writing a screenshot");
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session closes Chromium (killing chromedriver alone would leave it
        // running). A blocking request: no runtime is at hand in a drop.
        use std::io::{Read, Write};
        if let Some((addr, path)) = self
            .session
            .strip_prefix("http://")
            .and_then(|s| s.split_once('/'))
            && let Ok(mut conn) = std::net::TcpStream::connect(addr)
        {
            let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = write!(
                conn,
                "DELETE /{path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let _ = conn.read_to_end(&mut Vec::new());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
