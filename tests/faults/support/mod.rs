//! Helpers for the process-level fault tests (`tests/faults/`): the real `quizroom` binary as a
//! child process that can be killed, terminated and restarted on the same port and database
//! ([`server`]), a fresh database per test ([`db`]), a TCP proxy in front of Postgres that can
//! refuse, stall or lose replies ([`proxy`]), a WebSocket client with a selective mailbox
//! ([`ws`]) and a small REST client ([`api`]).
//!
//! `DATABASE_URL` names the Postgres server (an admin URL such as
//! `postgres://postgres@127.0.0.1:5432/quizroom`). Server logs go to
//! `target/tmp/faults/<test>.log` (one file per test, every start appended).

// Each test uses a different part of these helpers.
#![allow(dead_code)]

pub mod api;
pub mod db;
pub mod proxy;
pub mod server;
pub mod ws;

use std::future::Future;
use std::time::Duration;

use serde_json::{Value, json};

pub use api::CreatedRoom;
pub use db::TestDb;
pub use proxy::PgProxy;
pub use server::Server;
pub use ws::{Client, Outcome};

/// How long a message that must come "soon" may take on a loaded two-core machine.
pub const SOON: Duration = Duration::from_secs(5);

/// The clock: milliseconds since the Unix epoch. The server runs on this machine, so this is
/// also the server's clock (`server_time`, `deadline_at`, ...).
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Sleeps until the clock reads `at_ms` (no-op if it already has).
pub async fn sleep_until_ms(at_ms: i64) {
    let left = at_ms - now_ms();
    if left > 0 {
        tokio::time::sleep(Duration::from_millis(left as u64)).await;
    }
}

/// Polls `probe` every 25 ms until it yields a value; panics with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let give_up = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < give_up,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A quiz body. Each question is `(correct, time_limit_ms)` with four choices.
pub fn quiz(questions: &[(usize, u32)], settings: Value) -> Value {
    let questions: Vec<Value> = questions
        .iter()
        .enumerate()
        .map(|(i, (correct, limit))| {
            json!({
                "prompt": format!("Question {i}?"),
                "choices": ["A", "B", "C", "D"],
                "correct": correct,
                "time_limit_ms": limit,
            })
        })
        .collect();
    json!({"title": "Fault quiz", "questions": questions, "settings": settings})
}

/// An integer field of a message (panics with the message if it is missing).
pub fn int(v: &Value, field: &str) -> i64 {
    v[field]
        .as_i64()
        .unwrap_or_else(|| panic!("no integer {field:?} in {v}"))
}

/// `(player_id, question) -> choice` for every answer the results list.
pub fn result_answers(results: &Value) -> std::collections::BTreeMap<(String, i64), i64> {
    let mut out = std::collections::BTreeMap::new();
    for p in results["players"].as_array().into_iter().flatten() {
        let id = p["player_id"].as_str().unwrap_or_default().to_owned();
        for a in p["answers"].as_array().into_iter().flatten() {
            out.insert((id.clone(), int(a, "question")), int(a, "choice"));
        }
    }
    out
}
