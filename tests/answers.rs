//! Acknowledged answers and the `answers` table: every ack is a row with the same server
//! timestamp, and at the deadline "acknowledged ⇔ counted in the reveal" holds under a burst.

// A test's job is to panic with a clear message when something is off.
#![allow(clippy::expect_used)]

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::{SOON, TestApp, WsClient, expected_points, int, local_ms, quiz, spawn_app};
use serde_json::{Value, json};
use uuid::Uuid;

/// One row of `answers`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    choice: i64,
    received_at: i64,
    response_ms: i64,
    points: i64,
    correct: bool,
}

async fn rows(app: &TestApp, room_id: Uuid, question: i32) -> HashMap<String, Row> {
    let rows: Vec<(Uuid, i32, DateTime<Utc>, i32, i32, bool)> = sqlx::query_as(
        "SELECT player_id, choice, received_at, response_ms, points, correct
           FROM answers WHERE room_id = $1 AND question = $2",
    )
    .bind(room_id)
    .bind(question)
    .fetch_all(&app.db)
    .await
    .expect("answers");
    rows.into_iter()
        .map(|(p, choice, at, r, points, correct)| {
            let row = Row {
                choice: i64::from(choice),
                received_at: at.timestamp_millis(),
                response_ms: i64::from(r),
                points: i64::from(points),
                correct,
            };
            (p.to_string(), row)
        })
        .collect()
}

#[actix_web::test]
async fn every_acknowledged_answer_is_a_row_with_the_same_received_at() {
    let app = spawn_app().await;
    let (limit, points, correct) = (1500_i64, 800_i64, 2_i64);
    let body = quiz(
        &[(correct as usize, limit as u32, Some(points as u32))],
        json!({}),
    );
    let (code, room_id, token) = app.create_room(&body).await;
    let mut players = Vec::new();
    for name in ["p0", "p1", "p2", "p3"] {
        players.push(app.player(&code, name).await);
    }
    app.control(&code, &token, "start").await;
    let mut question = Value::Null;
    for p in players.iter_mut() {
        question = p.wait_for("question", SOON).await;
    }
    let started = int(&question, "started_at");

    // p0 answers at once; then a pause; p1 and p2 after it; p3 never (the host locks).
    let mut acks: Vec<(usize, Value, i64)> = Vec::new();
    let ack = players[0].answer_and_wait(0, correct).await;
    acks.push((0, ack, 0));
    app.control(&code, &token, "pause").await;
    let paused = players[1].wait_for("paused", SOON).await;
    actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    app.control(&code, &token, "resume").await;
    let resumed = players[1].wait_for("resumed", SOON).await;
    let paused_ms = int(&resumed, "server_time") - int(&paused, "server_time");
    for (i, choice) in [(1, correct), (2, 0)] {
        let ack = players[i].answer_and_wait(0, choice).await;
        acks.push((i, ack, paused_ms));
    }
    // Acked before reveal: the row is there already (durable before acknowledged).
    let stored = rows(&app, room_id, 0).await;
    assert_eq!(stored.len(), 3, "{stored:?}");
    for (i, ack, paused_ms) in &acks {
        assert_eq!(ack["type"], "answer_ack", "{ack}");
        let received_at = int(ack, "received_at");
        let response_ms = received_at - started - paused_ms;
        let choice = int(ack, "choice");
        let is_correct = choice == correct;
        let want = Row {
            choice,
            received_at,
            response_ms,
            points: if is_correct {
                expected_points(points, response_ms, limit)
            } else {
                0
            },
            correct: is_correct,
        };
        assert_eq!(
            stored.get(players[*i].id()),
            Some(&want),
            "player {i}: {ack}"
        );
    }
    app.control(&code, &token, "lock").await;
    let late = players[3].answer_and_wait(0, correct).await;
    assert_eq!(late["reason"], "too_late");
    for (i, ack, _) in &acks {
        let reveal = players[*i].wait_for("reveal", SOON).await;
        let row = &stored[players[*i].id()];
        assert_eq!(reveal["you"]["choice"], ack["choice"]);
        assert_eq!(int(&reveal["you"], "response_ms"), row.response_ms);
        assert_eq!(int(&reveal["you"], "points"), row.points);
    }
    assert_eq!(
        rows(&app, room_id, 0).await,
        stored,
        "a refused answer left a row"
    );
    app.teardown().await;
}

/// What one player of a burst saw.
struct Outcome {
    choice: i64,
    reply: Value,
}

/// One room: `n` players each answer within a few ms of the deadline, some before and some
/// after. Returns (acknowledged, rejected).
async fn burst(app: &TestApp, n: usize, spread_ms: i64) -> (usize, usize) {
    let (limit, correct) = (1000_u32, 1_i64);
    let body = quiz(
        &[(correct as usize, limit, None)],
        json!({"end_when_all_answered": false}),
    );
    let (code, room_id, token) = app.create_room(&body).await;
    let mut host = app.host(&code, &token).await;
    let mut players: Vec<WsClient> = Vec::new();
    for i in 0..n {
        players.push(app.player(&code, &format!("p{i:02}")).await);
    }
    let offset = players[0].clock_offset(5).await;

    app.control(&code, &token, "start").await;
    let mut question = Value::Null;
    for p in players.iter_mut() {
        question = p.wait_for("question", SOON).await;
    }
    let started = int(&question, "started_at");
    let deadline = int(&question, "deadline_at");

    // Player i answers at deadline - spread + i * 2 * spread / n, on the server's clock.
    let base_local = local_ms();
    let base = tokio::time::Instant::now();
    for (i, p) in players.iter().enumerate() {
        let at_server = deadline - spread_ms + (i as i64 * 2 * spread_ms) / n as i64;
        let at_local = at_server - offset;
        let wait = (at_local - base_local).max(0) as u64;
        tokio::time::sleep_until(base + Duration::from_millis(wait)).await;
        p.answer(0, (i % 4) as i64);
    }
    let mut outcomes: HashMap<String, Outcome> = HashMap::new();
    for (i, p) in players.iter_mut().enumerate() {
        let reply = p
            .wait_for_any(&["answer_ack", "answer_rejected"], SOON)
            .await;
        outcomes.insert(
            p.id().to_owned(),
            Outcome {
                choice: (i % 4) as i64,
                reply,
            },
        );
    }

    let time_up = host.wait_for("time_up", SOON).await;
    assert_eq!(time_up["reason"], "deadline", "{time_up}");
    assert!(
        int(&time_up, "server_time") > deadline,
        "time_up before the deadline: {time_up}, deadline {deadline}"
    );
    let reveal = host.wait_for("reveal", SOON).await;

    let acked: HashMap<&str, &Outcome> = outcomes
        .iter()
        .filter(|(_, o)| o.reply["type"] == "answer_ack")
        .map(|(k, o)| (k.as_str(), o))
        .collect();
    let rejected: Vec<&Outcome> = outcomes
        .values()
        .filter(|o| o.reply["type"] == "answer_rejected")
        .collect();
    for o in &rejected {
        assert_eq!(
            o.reply["reason"], "too_late",
            "a burst answer refused for another reason: {}",
            o.reply
        );
    }
    for o in acked.values() {
        assert_eq!(int(&o.reply, "choice"), o.choice);
        assert!(
            int(&o.reply, "received_at") <= deadline,
            "acked after the deadline {deadline}: {}",
            o.reply
        );
    }

    // Acknowledged ⇔ counted in the reveal.
    let mut distribution = vec![0_i64; 4];
    for o in acked.values() {
        distribution[o.choice as usize] += 1;
    }
    assert_eq!(
        int(&reveal, "answered"),
        acked.len() as i64,
        "reveal {reveal} vs {} acks",
        acked.len()
    );
    assert_eq!(reveal["distribution"], json!(distribution), "{reveal}");
    let progress_max = host
        .received("answers_progress")
        .iter()
        .map(|m| int(m, "answered"))
        .max()
        .unwrap_or(0);
    assert_eq!(
        progress_max,
        acked.len() as i64,
        "answers_progress disagrees with the acks"
    );

    // ... and in the table, with the ack's timestamp.
    let stored = rows(app, room_id, 0).await;
    let stored_ids: HashSet<&str> = stored.keys().map(String::as_str).collect();
    let acked_ids: HashSet<&str> = acked.keys().copied().collect();
    assert_eq!(
        stored_ids, acked_ids,
        "rows in `answers` differ from the acknowledged answers"
    );
    for (id, o) in &acked {
        let row = &stored[*id];
        let received_at = int(&o.reply, "received_at");
        assert_eq!(row.received_at, received_at);
        assert_eq!(row.response_ms, received_at - started);
        assert_eq!(row.choice, o.choice);
        assert_eq!(row.correct, o.choice == correct);
        let points = if row.correct {
            expected_points(1000, row.response_ms, i64::from(limit))
        } else {
            0
        };
        assert_eq!(row.points, points);
    }

    // Each player: its own reveal agrees, and it got exactly one verdict (never both).
    for p in players.iter_mut() {
        let r = p.wait_for("reveal", SOON).await;
        let o = &outcomes[p.id()];
        let want = if o.reply["type"] == "answer_ack" {
            json!(o.choice)
        } else {
            Value::Null
        };
        assert_eq!(r["you"]["choice"], want, "{}: {}", p.id(), o.reply);
        p.wait_for("leaderboard", SOON).await;
        let verdicts = p.received("answer_ack").len() + p.received("answer_rejected").len();
        assert_eq!(verdicts, 1, "{}: {:?}", p.id(), p.received_types());
    }
    app.control(&code, &token, "end").await;
    (acked.len(), rejected.len())
}

#[actix_web::test]
async fn a_burst_at_the_deadline_acks_exactly_what_the_reveal_counts() {
    let app = spawn_app().await;
    let (mut acked, mut rejected) = (0, 0);
    for _ in 0..3 {
        let (a, r) = burst(&app, 30, 30).await;
        eprintln!("burst: {a} acked, {r} rejected");
        acked += a;
        rejected += r;
    }
    // The burst really straddled the deadline.
    assert!(
        acked > 0 && rejected > 0,
        "acked {acked}, rejected {rejected}: the burst missed the deadline"
    );
    app.teardown().await;
}
