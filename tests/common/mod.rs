//! Helpers for the integration tests: the real application on a random port with its own fresh
//! Postgres database, a small REST client, and a WebSocket client with a selective mailbox.
//!
//! `DATABASE_URL` names the Postgres server (an admin URL such as
//! `postgres://postgres@127.0.0.1:5432/quizroom`); each app gets a database of its own on that
//! server. `TEST_LOG=1` turns the server's logs on.

// Each test file uses a different part of these helpers.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use awc::ws;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use quizroom::config::{LogFormat, Settings};
use quizroom::startup::{Application, Stopper};
use serde_json::{Value, json};
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool};
use tokio::sync::mpsc;
use uuid::Uuid;

pub const ADMIN_TOKEN: &str = "test-admin";

/// How long a message that must come "soon" may take.
pub const SOON: Duration = Duration::from_secs(5);

/// Milliseconds since the Unix epoch on this machine's clock.
pub fn local_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Rule 6: `(points * (2T - r) + T) / (2T)`, `r` clamped to `0..=T`.
pub fn expected_points(points: i64, response_ms: i64, time_limit_ms: i64) -> i64 {
    let t = time_limit_ms;
    let r = response_ms.clamp(0, t);
    (points * (2 * t - r) + t) / (2 * t)
}

/// Rule 16: the mean rounded half up, `None` if there is nothing to average.
pub fn rounded_mean(values: &[i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as i64;
    Some((2 * values.iter().sum::<i64>() + n) / (2 * n))
}

/// The JSON paths of every object key named `name`, at any depth.
pub fn find_key(v: &Value, name: &str) -> Vec<String> {
    fn walk(v: &Value, name: &str, path: String, hits: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let p = format!("{path}.{k}");
                    if k == name {
                        hits.push(p.clone());
                    }
                    walk(x, name, p, hits);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(x, name, format!("{path}[{i}]"), hits);
                }
            }
            _ => {}
        }
    }
    let mut hits = Vec::new();
    walk(v, name, "$".into(), &mut hits);
    hits
}

/// A quiz body. Each question is `(correct, time_limit_ms, points)`, with four choices; `points`
/// `None` leaves the server's default (1000).
pub fn quiz(questions: &[(usize, u32, Option<u32>)], settings: Value) -> Value {
    let questions: Vec<Value> = questions
        .iter()
        .enumerate()
        .map(|(i, (correct, limit, points))| {
            let mut q = json!({
                "prompt": format!("Question {i}?"),
                "choices": ["A", "B", "C", "D"],
                "correct": correct,
                "time_limit_ms": limit,
            });
            if let Some(p) = points {
                q["points"] = json!(p);
            }
            q
        })
        .collect();
    json!({"title": "Integration quiz", "questions": questions, "settings": settings})
}

// ----- the application -----------------------------------------------------------------------

pub struct TestApp {
    pub base_url: String,
    pub ws_url: String,
    pub port: u16,
    /// A pool to this app's own database.
    pub db: PgPool,
    pub db_name: String,
    pub admin_token: String,
    pub stopper: Stopper,
    /// How the server's rooms' thread is scheduled.
    pub rooms_thread: quizroom::priority::Outcome,
    /// The URL of the maintenance database, for dropping ours at the end.
    maintenance_url: String,
    database_url: String,
    /// The settings this app was started with beyond the test defaults (kept for restarts).
    extra: Vec<(String, String)>,
    /// Whether dropping this app drops the database (not once a restarted app took it over).
    owns_db: bool,
    http: awc::Client,
}

/// A plain HTTP response, read in full.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub content_type: String,
    pub headers: HashMap<String, String>,
    pub body: Bytes,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "HTTP {} body is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts the status and the protocol's error body; returns the `error` object.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> Value {
        assert_eq!(
            self.status,
            status,
            "expected HTTP {status} {code}, got {}: {}",
            self.status,
            self.text()
        );
        let body = self.json();
        let err = body["error"].clone();
        assert_eq!(err["code"], code, "error body: {body}");
        assert!(
            err["message"].is_string(),
            "error without a message: {body}"
        );
        err
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Splits `postgres://user@host:port/db?opts` into the part before the database name, the name,
/// and the query string (with its `?`).
fn split_db_url(url: &str) -> (String, String, String) {
    let (base, query) = match url.find('?') {
        Some(i) => (&url[..i], &url[i..]),
        None => (url, ""),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    match base[after_scheme..].find('/') {
        Some(i) => {
            let cut = after_scheme + i;
            (
                base[..cut].to_owned(),
                base[cut + 1..].to_owned(),
                query.to_owned(),
            )
        }
        None => (base.to_owned(), String::new(), query.to_owned()),
    }
}

/// Starts the application against a fresh database, with the test defaults overridden by
/// `extra` (setting names as in `.env.example`).
pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    if std::env::var("TEST_LOG").is_ok_and(|v| !v.is_empty() && v != "0") {
        quizroom::telemetry::init(LogFormat::Text);
    }
    let admin_url = std::env::var("DATABASE_URL").unwrap_or_default();
    assert!(
        !admin_url.is_empty(),
        "DATABASE_URL is not set: the integration tests need a Postgres server they may create \
         databases on, e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/quizroom"
    );
    let (server, _, query) = split_db_url(&admin_url);
    // The database named in DATABASE_URL may not exist yet: connect to the maintenance one.
    let maintenance_url = format!("{server}/postgres{query}");
    let db_name = format!("quizroom_test_{}", Uuid::new_v4().simple());
    let mut conn = PgConnection::connect(&maintenance_url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to Postgres at {maintenance_url}: {e}"));
    sqlx::query(AssertSqlSafe(format!(r#"CREATE DATABASE "{db_name}""#)))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("cannot create database {db_name}: {e}"));
    let _ = conn.close().await;
    let database_url = format!("{server}/{db_name}{query}");
    let extra = extra
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    start(database_url, db_name, maintenance_url, extra).await
}

/// Builds and runs the application on an existing database.
async fn start(
    database_url: String,
    db_name: String,
    maintenance_url: String,
    extra: Vec<(String, String)>,
) -> TestApp {
    let mut values: HashMap<String, String> = [
        ("DATABASE_URL", database_url.as_str()),
        ("QUIZROOM_ADDR", "127.0.0.1:0"),
        ("ADMIN_TOKEN", ADMIN_TOKEN),
        ("SHUTDOWN_TIMEOUT_MS", "1000"),
        ("DB_POOL_SIZE", "5"),
        (
            "QUIZROOM_STATIC_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/static"),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in &extra {
        values.insert(k.clone(), v.clone());
    }
    let settings = Settings::from_lookup(|k| values.get(k).cloned()).expect("valid test settings");
    let app = Application::build(settings)
        .await
        .expect("the application starts");
    let port = app.port();
    let stopper = app.stopper();
    let rooms_thread = app.rooms_thread().clone();
    actix_web::rt::spawn(app.run_until_stopped());

    let db = PgPoolOptions::new()
        .max_connections(3)
        .connect(&database_url)
        .await
        .expect("connect to the test database");
    TestApp {
        base_url: format!("http://127.0.0.1:{port}"),
        ws_url: format!("ws://127.0.0.1:{port}/ws"),
        port,
        db,
        db_name,
        admin_token: ADMIN_TOKEN.to_owned(),
        stopper,
        rooms_thread,
        maintenance_url,
        database_url,
        extra,
        owns_db: true,
        http: awc::Client::builder()
            .timeout(Duration::from_secs(20))
            .finish(),
    }
}

impl TestApp {
    /// Stops the server gracefully; the database goes when the `TestApp` is dropped.
    pub async fn teardown(self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.stopper.stop()).await;
        self.db.close().await;
    }

    /// Stops this server on purpose (its sockets close with 1012) and starts a new one on the
    /// same database and settings, on a new port, as a deploy would.
    pub async fn restart(mut self) -> TestApp {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.stopper.stop()).await;
        self.db.close().await;
        self.owns_db = false;
        start(
            self.database_url.clone(),
            self.db_name.clone(),
            self.maintenance_url.clone(),
            self.extra.clone(),
        )
        .await
    }

    /// Any request: `method`, a path below the base URL, an optional bearer token and body.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Resp {
        let method = awc::http::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base_url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let sent = match body {
            Some(b) => req.content_type("application/json").send_body(b).await,
            None => req.send().await,
        };
        let mut resp = sent.unwrap_or_else(|e| panic!("{path}: request failed: {e}"));
        let status = resp.status().as_u16();
        let headers: HashMap<String, String> = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let content_type = headers.get("content-type").cloned().unwrap_or_default();
        let body = resp
            .body()
            .limit(64 << 20)
            .await
            .unwrap_or_else(|e| panic!("{path}: body: {e}"));
        Resp {
            status,
            content_type,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.request("GET", path, None, None).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Resp {
        self.request("POST", path, None, Some(body.to_string().into_bytes()))
            .await
    }

    pub async fn admin_get(&self, path: &str) -> Resp {
        self.request("GET", path, Some(&self.admin_token), None)
            .await
    }

    /// Creates a room; returns `(code, room_id, host_token)`.
    pub async fn create_room(&self, quiz: &Value) -> (String, Uuid, String) {
        let resp = self.post_json("/api/rooms", quiz).await;
        assert_eq!(resp.status, 201, "create room: {}", resp.text());
        let body = resp.json();
        let code = body["code"].as_str().expect("code").to_owned();
        let room_id = body["room_id"]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
            .expect("room_id");
        let token = body["host_token"].as_str().expect("host_token").to_owned();
        (code, room_id, token)
    }

    /// A host control (`start`, `pause`, `resume`, `lock`, `next`, `end`) that must succeed;
    /// returns the room view.
    pub async fn control(&self, code: &str, token: &str, action: &str) -> Value {
        let resp = self.try_control(code, token, action).await;
        assert_eq!(resp.status, 200, "{action}: {}", resp.text());
        resp.json()
    }

    pub async fn try_control(&self, code: &str, token: &str, action: &str) -> Resp {
        self.request(
            "POST",
            &format!("/api/rooms/{code}/{action}"),
            Some(token),
            None,
        )
        .await
    }

    pub async fn kick(&self, code: &str, token: &str, player_id: &str) -> Resp {
        self.request(
            "DELETE",
            &format!("/api/rooms/{code}/players/{player_id}"),
            Some(token),
            None,
        )
        .await
    }

    /// The host's results of a room.
    pub async fn results(&self, code: &str, token: &str) -> Value {
        let resp = self
            .request(
                "GET",
                &format!("/api/rooms/{code}/results"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(resp.status, 200, "results: {}", resp.text());
        resp.json()
    }

    /// A new WebSocket connection.
    pub async fn ws(&self) -> WsClient {
        WsClient::connect(&self.ws_url).await
    }

    /// A new socket joined to a room as a player.
    pub async fn player(&self, code: &str, nickname: &str) -> WsClient {
        let mut c = self.ws().await;
        c.join(code, nickname).await;
        c
    }

    /// A new socket joined to a room as its host.
    pub async fn host(&self, code: &str, token: &str) -> WsClient {
        let mut c = self.ws().await;
        c.host(code, token).await;
        c
    }
}

/// Drops the test's database, also when the test panicked. `Drop` cannot await, so a thread of
/// its own with a small runtime does it.
impl Drop for TestApp {
    fn drop(&mut self) {
        if !self.owns_db {
            return;
        }
        let url = self.maintenance_url.clone();
        let name = self.db_name.clone();
        let dropper = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut conn) = PgConnection::connect(&url).await {
                    let sql = format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#);
                    let _ = sqlx::query(AssertSqlSafe(sql)).execute(&mut conn).await;
                    let _ = conn.close().await;
                }
            });
        });
        let _ = dropper.join();
    }
}

// ----- the WebSocket client ------------------------------------------------------------------

enum Cmd {
    Text(String),
    Binary(Vec<u8>),
    /// One text message split into continuation frames.
    Fragments(Vec<String>),
    /// A WebSocket-level ping (a control frame).
    Ping,
    Close,
}

enum Incoming {
    Text(String),
    Binary,
    /// The server's close frame: code and reason.
    Closed(Option<u16>, String),
    /// The connection ended without (more) frames, or failed.
    Ended(String),
}

/// How a socket ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseInfo {
    /// The code of the server's close frame; `None` if the connection ended without one.
    pub code: Option<u16>,
    pub reason: String,
}

/// One WebSocket connection. A task owns the socket: it answers pings, sends what the test
/// queues, and records every frame. Messages wait in a mailbox until the test takes them, so
/// `wait_for` can pick one type and leave the others for later.
pub struct WsClient {
    out: mpsc::UnboundedSender<Cmd>,
    events: mpsc::UnboundedReceiver<Incoming>,
    mailbox: VecDeque<Value>,
    /// Every message received, in order, with the local time it arrived.
    pub history: Vec<(i64, Value)>,
    /// Binary frames received.
    pub binary_frames: usize,
    pub closed: Option<CloseInfo>,
    pub welcome: Option<Value>,
    pub player_id: Option<String>,
    pub player_token: Option<String>,
    pub nickname: Option<String>,
}

impl WsClient {
    pub async fn connect(url: &str) -> WsClient {
        let (_, framed) = awc::Client::new()
            .ws(url)
            .max_frame_size(16 << 20)
            .connect()
            .await
            .unwrap_or_else(|e| panic!("WebSocket connect to {url}: {e}"));
        let (out, mut cmds) = mpsc::unbounded_channel::<Cmd>();
        let (tx, events) = mpsc::unbounded_channel::<Incoming>();
        actix_web::rt::spawn(async move {
            let mut framed = framed;
            loop {
                tokio::select! {
                    cmd = cmds.recv() => {
                        let Some(cmd) = cmd else {
                            // The client was dropped: let the connection drop without a close
                            // frame, like a phone losing its network.
                            break;
                        };
                        // Everything queued goes out in one flush, so "at once" means at once.
                        let mut next = Some(cmd);
                        let mut failed = false;
                        while let Some(cmd) = next.take() {
                            let msgs = match cmd {
                                Cmd::Text(s) => vec![ws::Message::Text(s.into())],
                                Cmd::Binary(b) => vec![ws::Message::Binary(b.into())],
                                Cmd::Fragments(parts) => {
                                    let n = parts.len();
                                    parts
                                        .into_iter()
                                        .enumerate()
                                        .map(|(i, p)| {
                                            let b = Bytes::from(p);
                                            ws::Message::Continuation(match i {
                                                0 => actix_ws::Item::FirstText(b),
                                                i if i + 1 == n => actix_ws::Item::Last(b),
                                                _ => actix_ws::Item::Continue(b),
                                            })
                                        })
                                        .collect()
                                }
                                Cmd::Ping => vec![ws::Message::Ping(Bytes::from_static(b"hi"))],
                                Cmd::Close => vec![ws::Message::Close(Some(ws::CloseCode::Normal.into()))],
                            };
                            for msg in msgs {
                                if framed.feed(msg).await.is_err() {
                                    failed = true;
                                    break;
                                }
                            }
                            if failed {
                                break;
                            }
                            next = cmds.try_recv().ok();
                        }
                        if !failed {
                            let _ = framed.flush().await;
                        }
                    }
                    frame = framed.next() => match frame {
                        Some(Ok(ws::Frame::Text(bytes))) => {
                            let _ = tx.send(Incoming::Text(String::from_utf8_lossy(&bytes).into_owned()));
                        }
                        Some(Ok(ws::Frame::Binary(_))) => {
                            let _ = tx.send(Incoming::Binary);
                        }
                        Some(Ok(ws::Frame::Ping(bytes))) => {
                            let _ = framed.send(ws::Message::Pong(bytes)).await;
                        }
                        Some(Ok(ws::Frame::Pong(_) | ws::Frame::Continuation(_))) => {}
                        Some(Ok(ws::Frame::Close(reason))) => {
                            let (code, text) = match reason {
                                Some(r) => (Some(u16::from(r.code)), r.description.unwrap_or_default()),
                                None => (None, String::new()),
                            };
                            let _ = tx.send(Incoming::Closed(code, text));
                            let _ = framed.send(ws::Message::Close(None)).await;
                            break;
                        }
                        Some(Err(e)) => {
                            let _ = tx.send(Incoming::Ended(e.to_string()));
                            break;
                        }
                        None => {
                            let _ = tx.send(Incoming::Ended("the connection ended".into()));
                            break;
                        }
                    }
                }
            }
        });
        WsClient {
            out,
            events,
            mailbox: VecDeque::new(),
            history: Vec::new(),
            binary_frames: 0,
            closed: None,
            welcome: None,
            player_id: None,
            player_token: None,
            nickname: None,
        }
    }

    // -- sending ------------------------------------------------------------------------------

    pub fn send_text(&self, text: impl Into<String>) {
        let _ = self.out.send(Cmd::Text(text.into()));
    }

    pub fn send_json(&self, msg: &Value) {
        self.send_text(msg.to_string());
    }

    pub fn send_binary(&self, bytes: Vec<u8>) {
        let _ = self.out.send(Cmd::Binary(bytes));
    }

    /// Sends one text message in continuation frames (at least two parts).
    pub fn send_fragments(&self, parts: Vec<String>) {
        let _ = self.out.send(Cmd::Fragments(parts));
    }

    /// Sends a WebSocket ping control frame.
    pub fn send_ping_frame(&self) {
        let _ = self.out.send(Cmd::Ping);
    }

    /// Closes the socket cleanly (close frame 1000).
    pub fn close(&self) {
        let _ = self.out.send(Cmd::Close);
    }

    pub fn answer(&self, question: i64, choice: i64) {
        self.send_json(&json!({"type": "answer", "question": question, "choice": choice}));
    }

    // -- receiving ----------------------------------------------------------------------------

    /// Takes one event off the socket, waiting until `until`. False on timeout or when the
    /// socket is closed and nothing more can come.
    async fn pump(&mut self, until: tokio::time::Instant) -> bool {
        if self.closed.is_some() {
            // Whatever was sent before the close is still in the channel.
            return match self.events.try_recv() {
                Ok(ev) => {
                    self.take(ev);
                    true
                }
                Err(_) => false,
            };
        }
        match tokio::time::timeout_at(until, self.events.recv()).await {
            Ok(Some(ev)) => {
                self.take(ev);
                true
            }
            Ok(None) => {
                self.closed.get_or_insert(CloseInfo {
                    code: None,
                    reason: "the socket task ended".into(),
                });
                false
            }
            Err(_) => false,
        }
    }

    fn take(&mut self, ev: Incoming) {
        match ev {
            Incoming::Text(text) => {
                let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
                    panic!("the server sent a text frame that is not JSON ({e}): {text:?}")
                });
                self.history.push((local_ms(), v.clone()));
                self.mailbox.push_back(v);
            }
            Incoming::Binary => self.binary_frames += 1,
            Incoming::Closed(code, reason) => {
                self.closed.get_or_insert(CloseInfo { code, reason });
            }
            Incoming::Ended(reason) => {
                self.closed.get_or_insert(CloseInfo { code: None, reason });
            }
        }
    }

    fn mailbox_types(&self) -> Vec<String> {
        self.mailbox
            .iter()
            .map(|m| m["type"].as_str().unwrap_or("?").to_owned())
            .collect()
    }

    /// The next message, whatever its type.
    pub async fn recv_json(&mut self, timeout: Duration) -> Value {
        match self.try_recv_json(timeout).await {
            Some(v) => v,
            None => panic!("no message within {timeout:?} (closed: {:?})", self.closed),
        }
    }

    pub async fn try_recv_json(&mut self, timeout: Duration) -> Option<Value> {
        let until = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(v) = self.mailbox.pop_front() {
                return Some(v);
            }
            if !self.pump(until).await {
                return None;
            }
        }
    }

    /// The first message of one of `types` not taken yet; other messages stay in the mailbox.
    pub async fn try_wait_for_any(&mut self, types: &[&str], timeout: Duration) -> Option<Value> {
        let until = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(i) = self
                .mailbox
                .iter()
                .position(|m| types.iter().any(|t| m["type"] == *t))
            {
                return self.mailbox.remove(i);
            }
            if !self.pump(until).await {
                return None;
            }
        }
    }

    pub async fn wait_for_any(&mut self, types: &[&str], timeout: Duration) -> Value {
        match self.try_wait_for_any(types, timeout).await {
            Some(v) => v,
            None => panic!(
                "{}: no {types:?} within {timeout:?}; unread: {:?}; closed: {:?}",
                self.nickname.as_deref().unwrap_or("socket"),
                self.mailbox_types(),
                self.closed
            ),
        }
    }

    pub async fn wait_for(&mut self, kind: &str, timeout: Duration) -> Value {
        self.wait_for_any(&[kind], timeout).await
    }

    /// Waits until the server closes the socket; returns how.
    pub async fn wait_closed(&mut self, timeout: Duration) -> CloseInfo {
        let until = tokio::time::Instant::now() + timeout;
        while self.closed.is_none() {
            if !self.pump(until).await && self.closed.is_none() {
                panic!(
                    "the socket is still open after {timeout:?}; unread: {:?}",
                    self.mailbox_types()
                );
            }
        }
        // Collect what arrived with the close.
        while self.pump(until).await {}
        self.closed.clone().unwrap_or(CloseInfo {
            code: None,
            reason: String::new(),
        })
    }

    /// Reads whatever arrives within `duration` into the mailbox.
    pub async fn settle(&mut self, duration: Duration) {
        let until = tokio::time::Instant::now() + duration;
        while self.pump(until).await {}
    }

    /// Unread messages of a type (without taking them).
    pub fn unread(&self, kind: &str) -> Vec<Value> {
        self.mailbox
            .iter()
            .filter(|m| m["type"] == kind)
            .cloned()
            .collect()
    }

    /// Every message of a type received so far, read or not.
    pub fn received(&self, kind: &str) -> Vec<Value> {
        self.history
            .iter()
            .filter(|(_, m)| m["type"] == kind)
            .map(|(_, m)| m.clone())
            .collect()
    }

    /// The types received so far, in order, without `tick`s.
    pub fn received_types(&self) -> Vec<String> {
        self.history
            .iter()
            .filter(|(_, m)| m["type"] != "tick")
            .map(|(_, m)| m["type"].as_str().unwrap_or("?").to_owned())
            .collect()
    }

    // -- protocol steps -----------------------------------------------------------------------

    /// Sends `join` and returns the answer: `welcome` or `error`.
    pub async fn try_join(&mut self, code: &str, nickname: &str) -> Value {
        self.send_json(&json!({"type": "join", "code": code, "nickname": nickname}));
        let reply = self.wait_for_any(&["welcome", "error"], SOON).await;
        self.remember(&reply);
        reply
    }

    pub async fn join(&mut self, code: &str, nickname: &str) -> Value {
        let reply = self.try_join(code, nickname).await;
        assert_eq!(
            reply["type"], "welcome",
            "join {code} as {nickname}: {reply}"
        );
        reply
    }

    pub async fn try_resume(&mut self, code: &str, token: &str) -> Value {
        self.send_json(&json!({"type": "resume", "code": code, "player_token": token}));
        let reply = self.wait_for_any(&["welcome", "error"], SOON).await;
        self.remember(&reply);
        reply
    }

    pub async fn resume(&mut self, code: &str, token: &str) -> Value {
        let reply = self.try_resume(code, token).await;
        assert_eq!(reply["type"], "welcome", "resume in {code}: {reply}");
        reply
    }

    pub async fn host(&mut self, code: &str, token: &str) -> Value {
        self.send_json(&json!({"type": "host", "code": code, "host_token": token}));
        let reply = self.wait_for_any(&["welcome", "error"], SOON).await;
        assert_eq!(reply["type"], "welcome", "host {code}: {reply}");
        assert_eq!(reply["role"], "host", "{reply}");
        self.nickname = Some("host".into());
        self.welcome = Some(reply.clone());
        reply
    }

    fn remember(&mut self, reply: &Value) {
        if reply["type"] == "welcome" {
            self.welcome = Some(reply.clone());
            self.player_id = reply["player_id"].as_str().map(str::to_owned);
            self.player_token = reply["player_token"].as_str().map(str::to_owned);
            self.nickname = reply["nickname"].as_str().map(str::to_owned);
        }
    }

    /// Sends an answer and waits for its `answer_ack` or `answer_rejected`.
    pub async fn answer_and_wait(&mut self, question: i64, choice: i64) -> Value {
        self.answer(question, choice);
        self.wait_for_any(&["answer_ack", "answer_rejected"], SOON)
            .await
    }

    pub fn id(&self) -> &str {
        self.player_id.as_deref().expect("joined as a player")
    }

    pub fn token(&self) -> &str {
        self.player_token.as_deref().expect("joined as a player")
    }

    /// `server_time - local time` from ping/pong: the sample with the shortest round trip of
    /// `samples`.
    pub async fn clock_offset(&mut self, samples: usize) -> i64 {
        let mut best: Option<(i64, i64)> = None;
        for _ in 0..samples {
            let t0 = local_ms();
            self.send_json(&json!({"type": "ping", "client_time": t0}));
            let pong = loop {
                let p = self.wait_for("pong", SOON).await;
                if p["client_time"] == t0 {
                    break p;
                }
            };
            let t1 = local_ms();
            let server = pong["server_time"].as_i64().expect("pong.server_time");
            let rtt = t1 - t0;
            let offset = server - (t0 + t1) / 2;
            if best.is_none_or(|(r, _)| rtt < r) {
                best = Some((rtt, offset));
            }
        }
        best.map_or(0, |(_, o)| o)
    }
}

/// Integer field of a message, with a useful panic.
pub fn int(v: &Value, key: &str) -> i64 {
    v[key]
        .as_i64()
        .unwrap_or_else(|| panic!("{key} is not an integer in {v}"))
}
