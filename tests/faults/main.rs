//! Process-level fault tests: the real `quizroom` binary as a child process, killed with
//! SIGKILL, stopped with SIGTERM, restarted on the same port and database, cut off from Postgres
//! by a proxy, and fed a client that never reads. What each test proves is in
//! `docs/reliability.md`.
//!
//! Run: `SQLX_OFFLINE=true DATABASE_URL=postgres://postgres@127.0.0.1:5432/quizroom
//! cargo test --test faults -- --test-threads=2`. Server logs: `target/tmp/faults/<test>.log`.
//!
//! The tests are grouped by the fault they inject: `restart` (SIGKILL, SIGTERM, restarts),
//! `database` (Postgres refusing, hanging or losing a reply) and `slow_clients` (sockets that
//! never read). `support` runs the server, the proxy, the clients and the test database.
//! `FAULTS_SEED` replays the random game loop; `FAULTS_RUST_LOG` sets the servers' `RUST_LOG`.

// Helpers outside #[test] functions panic on purpose too (clippy.toml allows it in tests only).
#![allow(clippy::expect_used)]

mod database;
mod restart;
mod slow_clients;
mod support;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use sqlx::Row;
use support::*;

/// A room whose questions all run to their deadline, with `n` players (`p0`, `p1`, ...)
/// joined, started, and every player shown the first question.
async fn started_room(
    srv: &Server,
    questions: &[(usize, u32)],
    n: usize,
) -> (CreatedRoom, Vec<Client>) {
    let api = srv.api();
    let room = api
        .create_room(&quiz(questions, json!({"end_when_all_answered": false})))
        .await;
    let mut players = join_players(srv, &room.code, "p", n).await;
    api.control(&room, "start").await;
    for p in &mut players {
        p.wait_for_q("question", 0, SOON).await;
    }
    (room, players)
}

/// Joins `n` players named `{prefix}{i}`.
async fn join_players(srv: &Server, code: &str, prefix: &str, n: usize) -> Vec<Client> {
    let mut players = Vec::with_capacity(n);
    for i in 0..n {
        players.push(
            Client::join(&srv.ws_url(), code, &format!("{prefix}{i}"))
                .await
                .0,
        );
    }
    players
}

fn tokens(players: &[Client]) -> Vec<String> {
    players
        .iter()
        .map(|p| p.token.clone().expect("a player token"))
        .collect()
}

fn ids(players: &[Client]) -> Vec<String> {
    players
        .iter()
        .map(|p| p.player_id.clone().expect("a player id"))
        .collect()
}

/// Expects an `answer_ack` echoing the choice; returns it.
async fn ack(p: &mut Client, question: i64, choice: i64) -> Value {
    match p.answer(question, choice, SOON).await {
        Ok(Outcome::Ack(a)) => {
            assert_eq!(a["choice"], choice, "{}: ack {a}", p.name);
            a
        }
        other => panic!("{}: answer {choice} to {question}: {other:?}", p.name),
    }
}

/// Distribution over four choices of `choices`.
fn distribution(choices: impl IntoIterator<Item = i64>) -> Value {
    let mut d = [0i64; 4];
    for c in choices {
        d[c as usize] += 1;
    }
    json!(d)
}

/// Every accepted answer in the database: `(player_id, question) -> choice`.
async fn stored_answers(db: &TestDb) -> BTreeMap<(String, i64), i64> {
    let pool = db.pool().await;
    let rows = sqlx::query("SELECT player_id::text AS p, question, choice FROM answers")
        .fetch_all(&pool)
        .await
        .expect("read answers");
    pool.close().await;
    rows.iter()
        .map(|r| {
            (
                (
                    r.get::<String, _>("p"),
                    i64::from(r.get::<i32, _>("question")),
                ),
                i64::from(r.get::<i32, _>("choice")),
            )
        })
        .collect()
}

/// The deadline-closing `time_up` is sent once the clock has passed `deadline_at`, and not much
/// later than `max(deadline_at, not_before)`.
fn assert_time_up_on_time(
    who: &str,
    time_up: &Value,
    deadline_at: i64,
    not_before: i64,
    slack: i64,
) {
    assert_eq!(time_up["reason"], "deadline", "{who}: {time_up}");
    let at = int(time_up, "server_time");
    assert!(
        at > deadline_at,
        "{who}: time_up at {at}, not after the deadline {deadline_at}"
    );
    let bound = deadline_at.max(not_before) + slack;
    assert!(
        at <= bound,
        "{who}: time_up {} ms after the deadline (bound {} ms): {time_up}",
        at - deadline_at,
        bound - deadline_at
    );
}

// ----- 1. kill -9 mid-question --------------------------------------------------------------
