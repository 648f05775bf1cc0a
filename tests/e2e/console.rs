//! The web console in a real browser: Debian's `chromium`, driven by
//! `chromedriver` over the W3C WebDriver HTTP protocol (no Selenium). The
//! tests start the real server, publish a namespace of two schemas and walk
//! the pages as a user would, failing on any console error and on any
//! console file that does not load.
//!
//! `PROTOREG_SCREENSHOTS=1` writes screenshots of the main pages to
//! `docs/screenshots/`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Db, INVOICE_V1, MONEY_V1, Server, skip_unless_ci};

const ADMIN: &str = "console-admin-secret";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
const DEADLINE: Duration = Duration::from_secs(30);

/// `billing` v2: `total` removed (breaking: FIELD_NO_DELETE on line 4).
const INVOICE_BREAKING: &str = "syntax = \"proto3\";\npackage billing;\nimport \"common/money.proto\";\nmessage Invoice {\n  string id = 1;\n}\n";
/// `billing` v3: v1 plus a field (compatible).
const INVOICE_V3: &str = "syntax = \"proto3\";\npackage billing;\nimport \"common/money.proto\";\nmessage Invoice {\n  string id = 1;\n  common.Money total = 2;\n  string note = 3;\n}\n";

/// A chromedriver process (in its own process group, with the chromium it
/// starts) and one session; both are killed on drop, panics included.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::blocking::Client,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

impl Browser {
    /// A headless chromium session, or `None` (after [`skip_unless_ci`])
    /// when chromium or chromedriver is not installed.
    fn start() -> Option<Browser> {
        let (Some(chromium), Some(chromedriver)) = (
            find_program(&["chromium", "chromium-browser"]),
            find_program(&["chromedriver"]),
        ) else {
            skip_unless_ci(
                "chromium and chromedriver are not installed (Debian: apt-get install chromium chromium-driver)",
            );
            return None;
        };
        let port = free_port();
        let mut command = Command::new(chromedriver);
        command
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let driver = command.spawn().expect("start chromedriver");
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(90))
            .build()
            .unwrap();
        let profile = tempfile::tempdir().unwrap();
        let mut browser = Browser {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            http,
            _profile: profile,
        };
        let deadline = Instant::now() + DEADLINE;
        loop {
            let ready = browser
                .http
                .get(format!("{}/status", browser.base))
                .send()
                .ok()
                .and_then(|r| r.json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver never became ready");
            std::thread::sleep(Duration::from_millis(50));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.display().to_string(),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--no-first-run", "--window-size=1280,900",
                    format!("--user-data-dir={}", browser._profile.path().display()),
                ],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let created = browser.raw("POST", "/session", Some(caps));
        browser.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_owned();
        Some(browser)
    }

    fn raw(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().expect("chromedriver request");
        let status = response.status();
        let value: Value = response.json().expect("chromedriver JSON");
        assert!(status.is_success(), "WebDriver {path}: {status} {value}");
        value["value"].clone()
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.raw(method, &format!("/session/{}{path}", self.session), body)
    }

    fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page.
    fn js(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// Polls `script` until it returns something truthy; returns it.
    #[track_caller]
    fn wait_js(&self, what: &str, script: &str, args: Value) -> Value {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let value = self.js(script, args.clone());
            if !(value.is_null() || value == false || value == "" || value == 0) {
                return value;
            }
            if Instant::now() >= deadline {
                let text = self.js("return document.body.innerText", json!([]));
                panic!("timed out waiting for {what}; the page says:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for an element matching `css` whose text contains `text`.
    #[track_caller]
    fn wait_text(&self, css: &str, text: &str) -> String {
        let found = self.wait_js(
            &format!("{css} containing {text:?}"),
            "return [...document.querySelectorAll(arguments[0])].map(e => e.innerText).find(t => t.includes(arguments[1])) || null",
            json!([css, text]),
        );
        found.as_str().unwrap().to_owned()
    }

    /// Clicks the first element matching `css` (waiting for it) with a real
    /// WebDriver click.
    #[track_caller]
    fn click(&self, css: &str) {
        self.wait_js(
            css,
            "return !!document.querySelector(arguments[0])",
            json!([css]),
        );
        let element = self.cmd(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        let id = element[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {element}"))
            .to_owned();
        self.cmd("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    /// Types `text` into the element matching `css`.
    fn type_into(&self, css: &str, text: &str) {
        self.wait_js(
            css,
            "return !!document.querySelector(arguments[0])",
            json!([css]),
        );
        let element = self.cmd(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        let id = element[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {element}"))
            .to_owned();
        self.cmd("POST", &format!("/element/{id}/clear"), Some(json!({})));
        self.cmd(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        );
    }

    /// The navigation's `domInteractive` and the console's `console-ready`
    /// mark (its first page drawn), in milliseconds from the navigation.
    fn page_timing(&self) -> Value {
        self.wait_js(
            "the page's timing",
            "const n = performance.getEntriesByType('navigation')[0];
             const r = performance.getEntriesByName('console-ready')[0];
             return n && r ? {dom_interactive_ms: Math.round(n.domInteractive), console_ready_ms: Math.round(r.startTime)} : null",
            json!([]),
        )
    }

    /// Enters `token` in the header's form and waits until the console
    /// shows who it is.
    fn sign_in(&self, token: &str, shows: &str) {
        self.type_into("#token", token);
        // Enabled once app.js handles the form.
        self.click("#token-form button[type=submit]:not([disabled])");
        self.wait_text("#who", shows);
    }

    fn new_window(&self) -> String {
        let created = self.cmd("POST", "/window/new", Some(json!({"type": "window"})));
        created["handle"].as_str().unwrap().to_owned()
    }

    fn window(&self) -> String {
        self.cmd("GET", "/window", None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn switch_to(&self, handle: &str) {
        self.cmd("POST", "/window", Some(json!({ "handle": handle })));
    }

    /// Writes a screenshot to `docs/screenshots/<name>.png` when
    /// `PROTOREG_SCREENSHOTS=1`.
    fn screenshot(&self, name: &str) {
        if std::env::var("PROTOREG_SCREENSHOTS").as_deref() != Ok("1") {
            return;
        }
        let png = self.cmd("GET", "/screenshot", None);
        let bytes = base64_decode(png.as_str().unwrap());
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), bytes).unwrap();
    }

    /// Fails on any error the page reported: the browser log's SEVERE
    /// entries (except API answers the test provoked on purpose, such as
    /// 409 or 403 from `/v1/`), errors the console's window hooks caught,
    /// and any console file that did not load.
    #[track_caller]
    fn assert_no_errors(&self) {
        let log = self.cmd("POST", "/se/log", Some(json!({"type": "browser"})));
        let severe: Vec<&Value> = log
            .as_array()
            .unwrap()
            .iter()
            .filter(|entry| entry["level"] == "SEVERE")
            .filter(|entry| {
                let message = entry["message"].as_str().unwrap_or_default();
                // An API answer the test provoked (409, 403, 401) is not an
                // error of the page; a missing route or file (404) is.
                !message.contains("/v1/") || message.contains(" 404 ")
            })
            .collect();
        assert!(severe.is_empty(), "browser errors: {severe:?}");
        let caught = self.js(
            "return window.__consoleErrors || ['no console hook']",
            json!([]),
        );
        assert_eq!(caught, json!([]), "errors caught by the console");
        let failed = self.js(
            "return performance.getEntriesByType('resource')
                .filter(e => !e.name.includes('/v1/') && e.responseStatus >= 400)
                .map(e => e.name + ' ' + e.responseStatus)",
            json!([]),
        );
        assert_eq!(failed, json!([]), "console files that did not load");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self
                .http
                .delete(format!("{}/session/{}", self.base, self.session))
                .timeout(Duration::from_secs(10))
                .send();
        }
        // The whole group: chromedriver and every chromium process it
        // started, even if the session could not be deleted.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Standard base64 (screenshots), without a dependency for it.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let bytes: Vec<u8> = text.bytes().filter(|c| *c != b'=' && *c != b'\n').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= value(*c) << (18 - 6 * i);
        }
        out.push((n >> 16) as u8);
        if chunk.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if chunk.len() > 3 {
            out.push(n as u8);
        }
    }
    out
}

/// A server with an admin token and `shop`: `common` v1 and `billing` v1
/// current, `billing` v2 (breaking) staged.
fn shop() -> Server {
    let server = Server::start_with_env(&Db::sqlite(), &[("PROTOREG_AUTH__ADMIN_TOKEN", ADMIN)]);
    publish(&server, "common", "common/money.proto", MONEY_V1);
    publish(&server, "billing", "billing/invoice.proto", INVOICE_V1);
    let (status, body) = server.call(
        "POST",
        "/v1/namespaces/shop/promote",
        Some(ADMIN),
        Some(&json!({})),
    );
    assert_eq!(status, 200, "{body}");
    publish(
        &server,
        "billing",
        "billing/invoice.proto",
        INVOICE_BREAKING,
    );
    server
}

fn publish(server: &Server, schema: &str, path: &str, text: &str) {
    let (status, body) = server.call(
        "POST",
        &format!("/v1/namespaces/shop/schemas/{schema}/versions"),
        Some(ADMIN),
        Some(&json!({"sources": {path: text}, "created_by": "console-test"})),
    );
    assert_eq!(status, 201, "{body}");
}

#[test]
fn console_walks_the_pages_and_promotes_live() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let server = shop();

    // Namespaces, after entering the admin token once.
    browser.goto(&server.url("/"));
    eprintln!(
        "first page timing (cold browser): {}",
        browser.page_timing()
    );
    browser.sign_in(ADMIN, "admin in every namespace");
    browser.wait_text("#namespaces tr[data-ns=shop]", "1 staged");
    browser.screenshot("namespaces");

    // A namespace: its schemas, by following the link.
    browser.click("#namespaces tr[data-ns=shop] a");
    browser.wait_text("#schemas tr[data-schema=billing] td.staged", "v2");
    browser.wait_text("#stream-state", "live");
    browser.screenshot("namespace");

    // A schema's versions.
    browser.click("#schemas tr[data-schema=billing] th a");
    browser.wait_text("#versions tr[data-version='1']", "console-test");

    // A version's source, highlighted, its import linked.
    browser.goto(&server.url("/#/ns/shop/schemas/billing/v/1"));
    browser.wait_text("#file-path", "billing/invoice.proto");
    let keywords = browser.js(
        "return [...document.querySelectorAll('.source .tok-keyword')].map(e => e.textContent)",
        json!([]),
    );
    for keyword in ["syntax", "package", "import", "message"] {
        assert!(
            keywords.as_array().unwrap().contains(&json!(keyword)),
            "{keywords}"
        );
    }
    browser.wait_text(".source .line[data-line='5'] .tok-scalar", "string");
    browser.wait_text("#types a", "message Invoice");
    browser.screenshot("version");
    browser.click("a.import");
    browser.wait_text("#file-path", "common/money.proto");
    let hash = browser.js("return location.hash", json!([]));
    assert!(
        hash.as_str().unwrap().contains("/schemas/common/v/1"),
        "{hash}"
    );
    browser.wait_text(".source", "string currency = 2;");

    // The breaking diff: the violation on the line the API names.
    let (status, diff) = server.call(
        "GET",
        "/v1/namespaces/shop/schemas/billing/diff?from=1&to=2",
        Some(ADMIN),
        None,
    );
    assert_eq!(status, 200, "{diff}");
    let violation = &diff["violations"][0];
    let line = violation["line"].as_i64().expect("a violation with a line");
    browser.goto(&server.url("/#/ns/shop/schemas/billing/diff?from=1&to=2"));
    browser.wait_text("#violations li", violation["rule"].as_str().unwrap());
    let marked = browser.wait_js(
        "the violation's row",
        "return [...document.querySelectorAll('tr.violation')].map(r => r.dataset.right)",
        json!([]),
    );
    assert_eq!(marked, json!([line.to_string()]), "{diff}");
    browser.screenshot("diff");

    // Staging: the dry run lists the violation.
    browser.goto(&server.url("/#/ns/shop/staging"));
    browser.wait_text("#staged tr[data-schema=billing]", "v2");
    browser.click("#dry-run");
    browser.wait_text("#promote-output li", violation["rule"].as_str().unwrap());
    browser.screenshot("staging");

    // Promote a compatible v3 in one window; the other updates live.
    publish(&server, "billing", "billing/invoice.proto", INVOICE_V3);
    browser.goto(&server.url("/#/ns/shop"));
    browser.wait_text("#schemas tr[data-schema=billing] td.staged", "v3");
    browser.wait_text("#stream-state", "live");
    browser.js("window.__notReloaded = true", json!([]));
    let watcher = browser.window();
    let promoter = browser.new_window();
    browser.switch_to(&promoter);
    browser.goto(&server.url("/#/ns/shop/staging"));
    // Session storage is per tab: this one needs the token too.
    browser.sign_in(ADMIN, "admin in every namespace");
    browser.click("#promote");
    browser.click("#confirm-yes");
    browser.wait_text("#promoted", "billing v3");
    browser.assert_no_errors();
    browser.switch_to(&watcher);
    browser.wait_text("#schemas tr[data-schema=billing] td.current", "v3");
    browser.wait_text("#events", "namespace.promoted");
    assert_eq!(
        browser.js("return window.__notReloaded === true", json!([])),
        true
    );

    // Try it: a field of the wrong type is a field error.
    browser.goto(&server.url("/#/ns/shop/types/billing.Invoice"));
    browser.wait_text("#fields tr[data-field=total]", "common.Money");
    browser.type_into("#try-input", r#"{"id": 5}"#);
    browser.click("#try-validate");
    browser.wait_text("#try-output", "Invalid");
    browser.wait_text("#try-errors li", "id: invalid type");
    browser.screenshot("type");

    // Where a type is used: Money by Invoice.total.
    browser.goto(&server.url("/#/ns/shop/types/common.Money"));
    browser.wait_text("#used-by", "field billing.Invoice.total");

    // Search by field name.
    browser.goto(&server.url("/#/ns/shop/search?q=currency"));
    browser.wait_text("#search-results", "common.Money.currency");

    // A narrow screen: no sideways scrolling on the namespace page.
    browser.cmd(
        "POST",
        "/window/rect",
        Some(json!({"width": 400, "height": 800})),
    );
    browser.goto(&server.url("/#/ns/shop"));
    browser.wait_text("#schemas tr[data-schema=billing] td.current", "v3");
    let overflow = browser.js(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
        json!([]),
    );
    assert!(
        overflow.as_i64().unwrap() <= 0,
        "scrolls sideways by {overflow}px"
    );
    browser.screenshot("namespace-narrow");

    // A full load again, the browser warm (docs/PERFORMANCE.md).
    browser.goto(&server.url("/ui/"));
    eprintln!(
        "first page timing (warm browser): {}",
        browser.page_timing()
    );
    browser.wait_text("#namespaces tr[data-ns=shop]", "shop");

    browser.assert_no_errors();
}

#[test]
fn console_hides_promote_from_a_read_only_token_and_the_server_refuses_it() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let server = shop();
    let (status, created) = server.call(
        "POST",
        "/v1/tokens",
        Some(ADMIN),
        Some(&json!({"name": "reader", "roles": [{"namespace": "shop", "role": "read"}]})),
    );
    assert_eq!(status, 201, "{created}");
    let reader = created["token"].as_str().unwrap().to_owned();
    let (status, who) = server.call("GET", "/v1/whoami", Some(&reader), None);
    assert_eq!(status, 200, "{who}");
    assert_eq!(
        who,
        json!({"name": "reader", "anonymous": false, "global_admin": false,
               "roles": [{"namespace": "shop", "role": "read"}]})
    );

    // Without a token the console asks for one.
    browser.goto(&server.url("/#/ns/shop/staging"));
    browser.wait_text("#who", "Not signed in");
    browser.wait_text("main", "Enter a token");

    browser.sign_in(&reader, "read in shop");
    browser.wait_text("#staged tr[data-schema=billing]", "v2");
    browser.wait_text("#not-admin", "admin role");
    let buttons = browser.js(
        "return ['#promote', '#discard', '#dry-run'].filter(s => document.querySelector(s))",
        json!([]),
    );
    assert_eq!(buttons, json!([]), "buttons a reader cannot use are shown");
    // The token is not in the URL.
    let url = browser.js("return location.href", json!([]));
    assert!(!url.as_str().unwrap().contains(&reader), "{url}");

    // A forged promote with the reader's token, from the console's own
    // origin, is refused: the server enforces what the page hides.
    let forged = browser.js(
        "return fetch('/v1/namespaces/shop/promote', {method: 'POST',
            headers: {'Content-Type': 'application/json', Authorization: 'Bearer ' + arguments[0]},
            body: '{}'}).then(r => r.status)",
        json!([reader]),
    );
    assert_eq!(forged, 403);
    let (status, body) = server.call(
        "POST",
        "/v1/namespaces/shop/promote",
        Some(&reader),
        Some(&json!({})),
    );
    assert_eq!(status, 403, "{body}");
    let (status, body) = server.call("GET", "/v1/namespaces/shop/staging", Some(ADMIN), None);
    assert_eq!(status, 200);
    assert_eq!(
        body["staged"][0]["version"], 2,
        "nothing was promoted: {body}"
    );

    browser.assert_no_errors();
}
