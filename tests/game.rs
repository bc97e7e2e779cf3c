//! A whole game end to end over REST and WebSocket, then everything the game left behind:
//! the host's results, the admin's JSON and CSV, the `room_events` journal and the admin views.

// A test's job is to panic with a clear message when something is off.
#![allow(clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{
    SOON, TestApp, WsClient, expected_points, find_key, int, quiz, rounded_mean, spawn_app,
    spawn_app_with,
};
use serde_json::{Value, json};
use uuid::Uuid;

/// The quiz: `(correct, time_limit_ms, points)`; question 2 leaves `points` to the default.
const QUESTIONS: [(i64, i64, i64); 3] = [(1, 1500, 1000), (2, 1500, 500), (3, 1500, 1000)];
const NAMES: [&str; 3] = ["ann", "bob", "cat"];

/// An answer as the player's socket saw it acknowledged, with what the rules say it earns.
#[derive(Debug, Clone)]
struct Acked {
    choice: i64,
    received_at: i64,
    response_ms: i64,
    correct: bool,
    points: i64,
}

/// What the sockets saw, and what the rules make of it.
#[derive(Default)]
struct Model {
    ids: HashMap<String, String>,
    answers: HashMap<(String, usize), Acked>,
    scores: HashMap<String, i64>,
}

impl Model {
    fn ack(&mut self, name: &str, q: usize, ack: &Value, started_at: i64, paused_ms: i64) {
        let (correct_choice, limit, points) = QUESTIONS[q];
        assert_eq!(ack["type"], "answer_ack", "{name} q{q}: {ack}");
        assert_eq!(int(ack, "question"), q as i64);
        let choice = int(ack, "choice");
        let received_at = int(ack, "received_at");
        let response_ms = (received_at - started_at - paused_ms).max(0);
        let correct = choice == correct_choice;
        let points = if correct {
            expected_points(points, response_ms, limit)
        } else {
            0
        };
        self.answers.insert(
            (name.to_owned(), q),
            Acked {
                choice,
                received_at,
                response_ms,
                correct,
                points,
            },
        );
    }

    fn distribution(&self, q: usize) -> Vec<i64> {
        let mut d = vec![0; 4];
        for ((_, aq), a) in &self.answers {
            if *aq == q {
                d[a.choice as usize] += 1;
            }
        }
        d
    }

    fn answered(&self, q: usize) -> usize {
        self.answers.keys().filter(|(_, aq)| *aq == q).count()
    }

    fn reveal(&mut self, q: usize) {
        for ((name, aq), a) in &self.answers {
            if *aq == q {
                *self.scores.entry(name.clone()).or_default() += a.points;
            }
        }
    }

    fn score(&self, name: &str) -> i64 {
        self.scores.get(name).copied().unwrap_or(0)
    }

    /// Rank = 1 + players with a strictly higher score.
    fn rank(&self, name: &str) -> i64 {
        let mine = self.score(name);
        1 + NAMES.iter().filter(|n| self.score(n) > mine).count() as i64
    }

    /// Score descending, then nickname ascending.
    fn order(&self) -> Vec<&'static str> {
        let mut names = NAMES.to_vec();
        names.sort_by(|a, b| self.score(b).cmp(&self.score(a)).then(a.cmp(b)));
        names
    }

    fn entries(&self) -> Value {
        self.order()
            .into_iter()
            .map(|n| json!({"rank": self.rank(n), "player_id": self.ids[n], "nickname": n, "score": self.score(n)}))
            .collect()
    }
}

/// Every socket: the question opens with what the protocol promises, and nothing correct.
async fn question_opens(q: usize, host: &mut WsClient, players: &mut [WsClient]) -> Value {
    let (_, limit, points) = QUESTIONS[q];
    let mut seen: Option<Value> = None;
    for c in std::iter::once(host).chain(players.iter_mut()) {
        let m = c.wait_for("question", SOON).await;
        assert_eq!(int(&m, "question"), q as i64, "{m}");
        assert_eq!(m["question_count"], 3);
        assert_eq!(m["prompt"], format!("Question {q}?"));
        assert_eq!(m["choices"], json!(["A", "B", "C", "D"]));
        assert_eq!(int(&m, "time_limit_ms"), limit);
        assert_eq!(int(&m, "points"), points);
        assert_eq!(int(&m, "deadline_at") - int(&m, "started_at"), limit, "{m}");
        assert!(int(&m, "server_time") >= int(&m, "started_at"), "{m}");
        assert!(
            find_key(&m, "correct").is_empty(),
            "the question leaks the answer: {m}"
        );
        // One broadcast: every socket gets the same message.
        if let Some(first) = &seen {
            assert_eq!(first, &m);
        }
        seen = Some(m);
    }
    seen.expect("at least one socket")
}

/// Every socket: `time_up`, then `reveal`, then `leaderboard`, with the model's numbers.
/// Returns the `time_up`.
async fn question_closes(
    q: usize,
    reason: &str,
    host: &mut WsClient,
    players: &mut [WsClient],
    model: &mut Model,
) -> Value {
    model.reveal(q);
    let correct = QUESTIONS[q].0;
    let entries = model.entries();
    let mut time_up: Option<Value> = None;
    for p in players.iter_mut().chain(std::iter::once(host)) {
        let name = p.nickname.clone().unwrap_or_default();
        let tu = p.wait_for("time_up", SOON).await;
        assert_eq!(int(&tu, "question"), q as i64, "{name}: {tu}");
        assert_eq!(tu["reason"], reason, "{name}: {tu}");
        if let Some(first) = &time_up {
            assert_eq!(first, &tu, "one time_up for all");
        }
        time_up = Some(tu);

        let rv = p.wait_for("reveal", SOON).await;
        assert_eq!(int(&rv, "question"), q as i64, "{rv}");
        assert_eq!(int(&rv, "correct"), correct, "{rv}");
        assert_eq!(
            rv["distribution"],
            json!(model.distribution(q)),
            "{name}: {rv}"
        );
        assert_eq!(
            int(&rv, "answered"),
            model.answered(q) as i64,
            "{name}: {rv}"
        );
        let lb = p.wait_for("leaderboard", SOON).await;
        assert_eq!(lb["entries"], entries, "{name} q{q}");

        if name == "host" {
            assert!(
                rv.get("you").is_none() && lb.get("you").is_none(),
                "the host has no `you`: {rv} {lb}"
            );
            continue;
        }
        let (score, rank) = (model.score(&name), model.rank(&name));
        let you = match model.answers.get(&(name.clone(), q)) {
            Some(a) => json!({
                "choice": a.choice, "correct": a.correct, "points": a.points,
                "response_ms": a.response_ms, "score": score, "rank": rank,
            }),
            None => json!({
                "choice": null, "correct": false, "points": 0, "response_ms": null,
                "score": score, "rank": rank,
            }),
        };
        assert_eq!(rv["you"], you, "{name} q{q}: reveal {rv}");
        assert_eq!(
            lb["you"],
            json!({"rank": rank, "score": score}),
            "{name} q{q}"
        );
    }
    time_up.expect("a time_up")
}

#[actix_web::test]
async fn a_whole_game_over_rest_and_websocket() {
    let app = spawn_app().await;
    let body = quiz(
        &QUESTIONS.map(|(c, t, p)| (c as usize, t as u32, (p != 1000).then_some(p as u32))),
        json!({"end_when_all_answered": true}),
    );
    let (code, room_id, token) = app.create_room(&body).await;
    let mut host = app.host(&code, &token).await;
    let mut players = Vec::new();
    let mut model = Model::default();
    for (i, name) in NAMES.iter().enumerate() {
        let p = app.player(&code, name).await;
        let w = p.welcome.clone().expect("welcome");
        assert_eq!(w["role"], "player");
        assert_eq!(w["room"]["status"], "lobby");
        assert_eq!(w["room"]["current"], Value::Null);
        assert_eq!(w["you"], json!({"score": 0, "answered_choice": null}));
        let joined = host.wait_for("player_joined", SOON).await;
        assert_eq!(joined["player_id"], p.id());
        assert_eq!(joined["nickname"], *name);
        assert_eq!(int(&joined, "player_count"), i as i64 + 1);
        model.ids.insert((*name).to_owned(), p.id().to_owned());
        players.push(p);
    }
    let (ann, bob, cat) = (0, 1, 2);

    // ----- question 0: ann right, bob wrong, cat right; everyone answered -----------------
    let view = app.control(&code, &token, "start").await;
    assert_eq!(view["status"], "question");
    assert_eq!(view["current_question"], 0);
    let q0 = question_opens(0, &mut host, &mut players).await;
    let started = int(&q0, "started_at");
    for (p, choice) in [(ann, 1), (bob, 0), (cat, 1)] {
        let ack = players[p].answer_and_wait(0, choice).await;
        let received_at = int(&ack, "received_at");
        assert!(
            received_at >= started && received_at <= int(&q0, "deadline_at"),
            "{ack}"
        );
        model.ack(NAMES[p], 0, &ack, started, 0);
        let progress = host.wait_for("answers_progress", SOON).await;
        assert_eq!(progress["question"], 0);
        assert_eq!(progress["player_count"], 3);
    }
    let tu0 = question_closes(0, "all_answered", &mut host, &mut players, &mut model).await;
    assert!(
        int(&tu0, "server_time") <= int(&q0, "deadline_at"),
        "all answered closes early: {tu0}"
    );
    assert_eq!(
        host.received("answers_progress")
            .last()
            .map(|p| p["answered"].clone()),
        Some(json!(3))
    );

    // ----- question 1: ann answers, a pause (bob refused), resume, bob answers, cat never ----
    let view = app.control(&code, &token, "next").await;
    assert_eq!(view["current_question"], 1);
    let q1 = question_opens(1, &mut host, &mut players).await;
    let started1 = int(&q1, "started_at");
    let ack = players[ann].answer_and_wait(1, 2).await;
    model.ack("ann", 1, &ack, started1, 0);

    let view = app.control(&code, &token, "pause").await;
    assert_eq!(view["status"], "paused");
    let mut paused: Option<Value> = None;
    for c in std::iter::once(&mut host).chain(players.iter_mut()) {
        let m = c.wait_for("paused", SOON).await;
        assert_eq!(m["question"], 1);
        assert_eq!(
            int(&m, "remaining_ms"),
            int(&q1, "deadline_at") - int(&m, "server_time"),
            "{m}"
        );
        paused = Some(m);
    }
    let paused = paused.expect("paused");
    let refused = players[bob].answer_and_wait(1, 2).await;
    assert_eq!(
        refused,
        json!({"type": "answer_rejected", "question": 1, "reason": "not_open"})
    );
    // The pause lasts a while: response times must not count it.
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    let view = app.control(&code, &token, "resume").await;
    assert_eq!(view["status"], "question");
    let mut resumed: Option<Value> = None;
    for c in std::iter::once(&mut host).chain(players.iter_mut()) {
        let m = c.wait_for("resumed", SOON).await;
        assert_eq!(m["question"], 1);
        assert_eq!(
            m["remaining_ms"], paused["remaining_ms"],
            "the remaining time is kept: {m}"
        );
        assert_eq!(
            int(&m, "deadline_at"),
            int(&m, "server_time") + int(&m, "remaining_ms"),
            "{m}"
        );
        resumed = Some(m);
    }
    let resumed = resumed.expect("resumed");
    let paused_ms = int(&resumed, "server_time") - int(&paused, "server_time");
    assert!(paused_ms >= 300, "{paused} {resumed}");
    assert_eq!(
        int(&resumed, "deadline_at"),
        int(&q1, "deadline_at") + paused_ms
    );
    let ack = players[bob].answer_and_wait(1, 2).await;
    model.ack("bob", 1, &ack, started1, paused_ms);
    assert!(int(&ack, "received_at") <= int(&resumed, "deadline_at"));
    let tu1 = question_closes(1, "deadline", &mut host, &mut players, &mut model).await;
    assert!(
        int(&tu1, "server_time") > int(&resumed, "deadline_at"),
        "time_up before the deadline: {tu1} vs {resumed}"
    );

    // ----- question 2: ann wrong, cat right, bob silent; the host locks ---------------------
    app.control(&code, &token, "next").await;
    let q2 = question_opens(2, &mut host, &mut players).await;
    let started2 = int(&q2, "started_at");
    for (p, choice) in [(ann, 0), (cat, 3)] {
        let ack = players[p].answer_and_wait(2, choice).await;
        model.ack(NAMES[p], 2, &ack, started2, 0);
    }
    // A second answer to the same question is refused (bob is still silent, so it is open).
    let again = players[ann].answer_and_wait(2, 3).await;
    assert_eq!(
        again,
        json!({"type": "answer_rejected", "question": 2, "reason": "already_answered"})
    );
    // So are answers to another question and invalid choices (rule 1's order).
    let wrong = players[bob].answer_and_wait(1, 3).await;
    assert_eq!(wrong["reason"], "wrong_question", "{wrong}");
    let invalid = players[bob].answer_and_wait(2, 4).await;
    assert_eq!(invalid["reason"], "invalid_choice", "{invalid}");
    let view = app.control(&code, &token, "lock").await;
    assert_eq!(view["status"], "reveal");
    let tu2 = question_closes(2, "locked", &mut host, &mut players, &mut model).await;
    let late = players[bob].answer_and_wait(2, 3).await;
    assert_eq!(late["reason"], "too_late", "{late}");

    let view = app.control(&code, &token, "next").await;
    assert_eq!(view["status"], "finished");
    assert_eq!(view["current_question"], Value::Null);
    let entries = model.entries();
    for c in players.iter_mut() {
        let over = c.wait_for("game_over", SOON).await;
        assert_eq!(over["entries"], entries);
        let name = c.nickname.clone().unwrap_or_default();
        assert_eq!(
            over["you"],
            json!({"rank": model.rank(&name), "score": model.score(&name)}),
            "{name}"
        );
    }
    assert_eq!(host.wait_for("game_over", SOON).await["entries"], entries);

    // ----- what every socket saw, in order ---------------------------------------------------
    for c in std::iter::once(&host).chain(players.iter()) {
        let name = c.nickname.clone().unwrap_or_default();
        let phases: Vec<String> = c
            .received_types()
            .into_iter()
            .filter(|t| {
                ["question", "time_up", "reveal", "leaderboard", "game_over"].contains(&t.as_str())
            })
            .collect();
        let want: Vec<&str> = [["question", "time_up", "reveal", "leaderboard"]; 3]
            .concat()
            .into_iter()
            .chain(["game_over"])
            .collect();
        assert_eq!(phases, want, "{name}");
        // The correct choice never travels while a question is open.
        let mut open = false;
        for (_, m) in &c.history {
            match m["type"].as_str() {
                Some("question") => open = true,
                Some("time_up") => open = false,
                _ if open => assert!(
                    find_key(m, "correct").is_empty(),
                    "{name}: leak before time_up: {m}"
                ),
                _ => {}
            }
        }
    }

    // ----- results: host, admin JSON, admin CSV, leaderboard ---------------------------------
    let results = app.results(&code, &token).await;
    let room = &results["room"];
    assert_eq!(room["room_id"], room_id.to_string());
    assert_eq!(room["code"], code);
    assert_eq!(room["status"], "finished");
    assert_eq!(room["started_at"], q0["started_at"]);
    assert!(int(room, "finished_at") >= int(&tu2, "server_time"));
    let questions = results["questions"].as_array().expect("questions");
    assert_eq!(questions.len(), 3);
    for (q, r) in questions.iter().enumerate() {
        let (correct, limit, _) = QUESTIONS[q];
        let times: Vec<i64> = NAMES
            .iter()
            .filter_map(|n| model.answers.get(&((*n).to_owned(), q)))
            .map(|a| a.response_ms)
            .collect();
        let correct_count = model
            .answers
            .iter()
            .filter(|((_, aq), a)| *aq == q && a.correct)
            .count();
        assert_eq!(int(r, "index"), q as i64);
        assert_eq!(int(r, "correct"), correct);
        assert_eq!(int(r, "time_limit_ms"), limit);
        assert_eq!(r["choices"], json!(["A", "B", "C", "D"]));
        assert_eq!(r["answered"], model.answered(q), "q{q}: {r}");
        assert_eq!(r["correct_count"], correct_count, "q{q}: {r}");
        assert_eq!(r["distribution"], json!(model.distribution(q)), "q{q}: {r}");
        assert_eq!(
            r["avg_response_ms"],
            json!(rounded_mean(&times)),
            "q{q}: {r}"
        );
    }
    let expected_players: Vec<Value> = model
        .order()
        .into_iter()
        .map(|n| {
            let answers: Vec<Value> = (0..3)
                .filter_map(|q| model.answers.get(&(n.to_owned(), q)).map(|a| (q, a)))
                .map(|(q, a)| {
                    json!({"question": q, "choice": a.choice, "correct": a.correct, "points": a.points,
                           "response_ms": a.response_ms, "received_at": a.received_at})
                })
                .collect();
            let correct_count = answers.iter().filter(|a| a["correct"] == true).count();
            json!({"player_id": model.ids[n], "nickname": n, "status": "active", "score": model.score(n),
                   "rank": model.rank(n), "correct_count": correct_count, "answers": answers})
        })
        .collect();
    assert_eq!(results["players"], json!(expected_players));

    let admin = app
        .admin_get(&format!("/api/admin/rooms/{room_id}/results"))
        .await;
    assert_eq!(admin.status, 200);
    assert_eq!(admin.json(), results, "admin JSON and host results differ");

    let csv = app
        .admin_get(&format!("/api/admin/rooms/{room_id}/results?format=csv"))
        .await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    let mut want = String::from(
        "room_code,player_id,nickname,question,choice,correct,points,response_ms,received_at\n",
    );
    for n in model.order() {
        for q in 0..3 {
            let row = match model.answers.get(&(n.to_owned(), q)) {
                Some(a) => format!(
                    "{code},{},{n},{q},{},{},{},{},{}\n",
                    model.ids[n], a.choice, a.correct, a.points, a.response_ms, a.received_at
                ),
                None => format!("{code},{},{n},{q},,false,0,,\n", model.ids[n]),
            };
            want.push_str(&row);
        }
    }
    assert_eq!(csv.text().replace("\r\n", "\n"), want);

    let lb = app.get(&format!("/api/rooms/{code}/leaderboard")).await;
    assert_eq!(lb.json()["entries"], entries);

    let listed = app
        .admin_get("/api/admin/rooms?status=finished")
        .await
        .json();
    assert_eq!(listed["rooms"][0]["room_id"], room_id.to_string());
    assert_eq!(listed["rooms"][0]["finished_at"], room["finished_at"]);
    assert_eq!(listed["rooms"][0]["player_count"], 3);

    // ----- the journal and the admin views -----------------------------------------------------
    check_room_events(
        &app,
        room_id,
        &[&q0, &q1, &q2],
        &paused,
        &resumed,
        &[&tu0, &tu1, &tu2],
        int(room, "finished_at"),
    )
    .await;
    check_admin_views(&app, &code, room_id, &model, &resumed, &results).await;

    app.teardown().await;
}

async fn check_room_events(
    app: &TestApp,
    room_id: Uuid,
    questions: &[&Value],
    paused: &Value,
    resumed: &Value,
    time_ups: &[&Value],
    finished_at: i64,
) {
    let rows: Vec<(String, Option<i32>, chrono::DateTime<chrono::Utc>, Value)> = sqlx::query_as(
        "SELECT kind, question, at, detail FROM room_events
          WHERE room_id = $1 AND kind NOT IN ('created', 'started', 'player_joined')
          ORDER BY id",
    )
    .bind(room_id)
    .fetch_all(&app.db)
    .await
    .expect("room_events");
    let got: Vec<(String, Option<i32>, i64)> = rows
        .iter()
        .map(|(k, q, at, _)| (k.clone(), *q, at.timestamp_millis()))
        .collect();
    let st = |v: &Value| int(v, "server_time");
    let want: Vec<(String, Option<i32>, i64)> = vec![
        ("question_opened", Some(0), int(questions[0], "started_at")),
        ("time_up", Some(0), st(time_ups[0])),
        ("revealed", Some(0), -1),
        ("question_opened", Some(1), int(questions[1], "started_at")),
        ("paused", Some(1), st(paused)),
        ("resumed", Some(1), st(resumed)),
        ("time_up", Some(1), st(time_ups[1])),
        ("revealed", Some(1), -1),
        ("question_opened", Some(2), int(questions[2], "started_at")),
        ("time_up", Some(2), st(time_ups[2])),
        ("revealed", Some(2), -1),
        ("finished", None, finished_at),
    ]
    .into_iter()
    .map(|(k, q, at)| (k.to_owned(), q, at))
    .collect();
    assert_eq!(got.len(), want.len(), "room_events: {got:?}");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!((&g.0, g.1), (&w.0, w.1), "room_events: {got:?}");
        // Revealed is stamped by the server when it reveals; the sockets do not see that instant.
        if w.2 >= 0 {
            assert_eq!(g.2, w.2, "{} of question {:?}: server time", g.0, g.1);
        }
    }
    for pair in got.windows(2) {
        assert!(
            pair[0].2 <= pair[1].2,
            "room_events out of time order: {got:?}"
        );
    }
    let reasons: Vec<Value> = rows
        .iter()
        .filter(|r| r.0 == "time_up")
        .map(|r| r.3["reason"].clone())
        .collect();
    assert_eq!(
        reasons,
        vec![json!("all_answered"), json!("deadline"), json!("locked")]
    );
    let joined: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM room_events WHERE room_id = $1 AND kind = 'player_joined'",
    )
    .bind(room_id)
    .fetch_one(&app.db)
    .await
    .expect("count");
    assert_eq!(joined, 3);
}

/// A `question_stats` row: question, answered, correct_count, distribution, avg_response_ms,
/// revealed, close_reason.
type StatsRow = (i32, i64, i64, Vec<i64>, Option<i64>, bool, Option<String>);

async fn check_admin_views(
    app: &TestApp,
    code: &str,
    room_id: Uuid,
    model: &Model,
    resumed: &Value,
    results: &Value,
) {
    // Who won room X? One short query.
    let winners: Vec<(String, i64)> =
        sqlx::query_as("SELECT nickname, score FROM player_results WHERE code = $1 AND rank = 1")
            .bind(code)
            .fetch_all(&app.db)
            .await
            .expect("player_results");
    let best = model.order()[0];
    assert_eq!(winners, vec![(best.to_owned(), model.score(best))]);

    // Was bob's answer to question 1 (after the pause) in time? One short query.
    let (in_time, received_at, deadline_at): (
        bool,
        chrono::DateTime<chrono::Utc>,
        chrono::DateTime<chrono::Utc>,
    ) = sqlx::query_as(
        "SELECT in_time, received_at, deadline_at FROM answer_log
              WHERE code = $1 AND nickname = 'bob' AND question = 1",
    )
    .bind(code)
    .fetch_one(&app.db)
    .await
    .expect("answer_log");
    let bob = &model.answers[&("bob".to_owned(), 1)];
    assert!(in_time);
    assert_eq!(received_at.timestamp_millis(), bob.received_at);
    assert_eq!(deadline_at.timestamp_millis(), int(resumed, "deadline_at"));
    // Cat never answered question 1: no row.
    let none: Option<bool> = sqlx::query_scalar(
        "SELECT in_time FROM answer_log WHERE code = $1 AND nickname = 'cat' AND question = 1",
    )
    .bind(code)
    .fetch_optional(&app.db)
    .await
    .expect("answer_log");
    assert_eq!(none, None);

    // Every player's row agrees with the results.
    let rows: Vec<(String, i64, i64, i64, String)> = sqlx::query_as(
        "SELECT nickname, score, rank, correct_count, status FROM player_results
          WHERE room_id = $1 ORDER BY score DESC, nickname",
    )
    .bind(room_id)
    .fetch_all(&app.db)
    .await
    .expect("player_results");
    let from_results: Vec<(String, i64, i64, i64, String)> = results["players"]
        .as_array()
        .expect("players")
        .iter()
        .map(|p| {
            (
                p["nickname"].as_str().unwrap_or_default().to_owned(),
                int(p, "score"),
                int(p, "rank"),
                int(p, "correct_count"),
                p["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(rows, from_results);

    // Per-question statistics agree with the results and say how each question closed.
    let stats: Vec<StatsRow> = sqlx::query_as(
        "SELECT question, answered, correct_count, distribution, avg_response_ms::bigint, revealed, close_reason
           FROM question_stats WHERE room_id = $1 ORDER BY question",
    )
    .bind(room_id)
    .fetch_all(&app.db)
    .await
    .expect("question_stats");
    let reasons = ["all_answered", "deadline", "locked"];
    assert_eq!(stats.len(), 3);
    for (q, s) in stats.iter().enumerate() {
        let r = &results["questions"][q];
        assert_eq!(s.0, q as i32);
        assert_eq!(s.1, int(r, "answered"), "q{q}");
        assert_eq!(s.2, int(r, "correct_count"), "q{q}");
        assert_eq!(json!(s.3), r["distribution"], "q{q}");
        assert_eq!(json!(s.4), r["avg_response_ms"], "q{q}");
        assert!(s.5, "q{q} revealed");
        assert_eq!(s.6.as_deref(), Some(reasons[q]));
    }
}

/// The schema documents a `started` event between `created` and the first `question_opened`
/// (`migrations/*_schema.sql`, `room_events.kind`).
#[actix_web::test]
async fn room_events_log_the_start_of_the_game() {
    let app = spawn_app().await;
    let (code, room_id, token) = app
        .create_room(&quiz(&[(0, 20_000, None)], json!({})))
        .await;
    let mut p = app.player(&code, "ann").await;
    app.control(&code, &token, "start").await;
    let q = p.wait_for("question", SOON).await;
    // Results flush the writer, so the journal is in Postgres afterwards.
    app.results(&code, &token).await;
    let rows: Vec<(String, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
        "SELECT kind, at FROM room_events WHERE room_id = $1 AND kind <> 'player_joined' ORDER BY id",
    )
    .bind(room_id)
    .fetch_all(&app.db)
    .await
    .expect("room_events");
    let kinds: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(kinds, ["created", "started", "question_opened"]);
    assert_eq!(rows[1].1.timestamp_millis(), int(&q, "started_at"));
    app.teardown().await;
}

/// Rule 14: before its reveal a question's statistics are null and its answers are left out.
#[actix_web::test]
async fn results_hide_a_question_until_it_is_revealed() {
    let app = spawn_app().await;
    let (code, room_id, token) = app
        .create_room(&quiz(&[(1, 20_000, None), (0, 20_000, None)], json!({})))
        .await;
    let mut ann = app.player(&code, "ann").await;
    let _bob = app.player(&code, "bob").await;
    app.control(&code, &token, "start").await;
    ann.wait_for("question", SOON).await;
    assert_eq!(ann.answer_and_wait(0, 1).await["type"], "answer_ack");
    let results = app.results(&code, &token).await;
    for q in results["questions"].as_array().expect("questions") {
        assert_eq!(q["revealed"], false, "{q}");
        for key in [
            "correct",
            "correct_count",
            "distribution",
            "avg_response_ms",
        ] {
            assert_eq!(q[key], Value::Null, "{key} before the reveal: {q}");
        }
    }
    for p in results["players"].as_array().expect("players") {
        assert_eq!(p["answers"], json!([]), "{p}");
        assert_eq!(p["score"], 0);
        assert_eq!(p["rank"], 1);
    }
    let csv = app
        .admin_get(&format!("/api/admin/rooms/{room_id}/results?format=csv"))
        .await;
    assert_eq!(
        csv.text().trim_end(),
        "room_code,player_id,nickname,question,choice,correct,points,response_ms,received_at"
    );
    app.teardown().await;
}

/// `migrations/*_admin_views.sql` documents `question_stats` as "Statistics stay null until the
/// question is revealed"; an admin watching a live room must not read the distribution of an
/// open question there.
#[actix_web::test]
async fn question_stats_stay_null_until_the_reveal() {
    let app = spawn_app().await;
    let (code, room_id, token) = app
        .create_room(&quiz(&[(1, 20_000, None)], json!({})))
        .await;
    let mut ann = app.player(&code, "ann").await;
    let _bob = app.player(&code, "bob").await;
    app.control(&code, &token, "start").await;
    ann.wait_for("question", SOON).await;
    assert_eq!(ann.answer_and_wait(0, 1).await["type"], "answer_ack");
    let (revealed, correct_count, distribution, avg): (
        bool,
        Option<i64>,
        Option<Vec<i64>>,
        Option<i64>,
    ) = sqlx::query_as(
        "SELECT revealed, correct_count, distribution, avg_response_ms::bigint
               FROM question_stats WHERE room_id = $1 AND question = 0",
    )
    .bind(room_id)
    .fetch_one(&app.db)
    .await
    .expect("question_stats");
    assert!(!revealed);
    assert_eq!(
        (correct_count, distribution, avg),
        (None, None, None),
        "question_stats shows statistics of a question that is still open"
    );
    app.teardown().await;
}

/// Rule 5: `end` during a question closes it first: time_up (locked), reveal, leaderboard,
/// then game_over; the answer given counts.
#[actix_web::test]
async fn end_during_a_question_closes_it_first() {
    let app = spawn_app().await;
    let (code, _, token) = app
        .create_room(&quiz(&[(1, 20_000, None), (0, 20_000, None)], json!({})))
        .await;
    let mut ann = app.player(&code, "ann").await;
    let mut bob = app.player(&code, "bob").await;
    app.control(&code, &token, "start").await;
    ann.wait_for("question", SOON).await;
    assert_eq!(ann.answer_and_wait(0, 1).await["type"], "answer_ack");
    let view = app.control(&code, &token, "end").await;
    assert_eq!(view["status"], "finished");
    for p in [&mut ann, &mut bob] {
        let tu = p.wait_for("time_up", SOON).await;
        assert_eq!(tu["reason"], "locked");
        let rv = p.wait_for("reveal", SOON).await;
        assert_eq!(rv["distribution"], json!([0, 1, 0, 0]));
        p.wait_for("leaderboard", SOON).await;
        let over = p.wait_for("game_over", SOON).await;
        assert_eq!(over["entries"][0]["nickname"], "ann", "{over}");
        let order: Vec<String> = p
            .received_types()
            .into_iter()
            .filter(|t| ["time_up", "reveal", "leaderboard", "game_over"].contains(&t.as_str()))
            .collect();
        assert_eq!(order, ["time_up", "reveal", "leaderboard", "game_over"]);
    }
    let results = app.results(&code, &token).await;
    assert_eq!(results["room"]["status"], "finished");
    assert_eq!(results["questions"][0]["revealed"], true);
    assert_eq!(results["questions"][1]["revealed"], false);
    app.teardown().await;
}

/// The rooms' thread stamps every `time_up`, so where the process may have it the thread is
/// real-time (`SCHED_FIFO`, as the kernel reports it) around each deadline, and normal before
/// and after; where it may not, the server keeps going on a normal thread and says why.
/// `ROOMS_THREAD_PRIORITY=normal` leaves it alone.
#[actix_web::test]
async fn the_rooms_thread_is_real_time_around_deadlines_where_the_process_may_be() {
    use quizroom::priority::policy_of;

    let app = spawn_app().await;
    let outcome = app.rooms_thread.clone();
    let tid = outcome.tid.expect("the rooms' thread id");
    if !outcome.realtime {
        assert!(outcome.refused.is_some(), "{outcome:?}");
    }
    let (code, _, token) = app.create_room(&quiz(&[(0, 1500, None)], json!({}))).await;
    let mut p = app.player(&code, "ann").await;
    assert_eq!(policy_of(tid), Some(0), "normal in the lobby");
    app.control(&code, &token, "start").await;
    p.wait_for("question", SOON).await;
    // Sampled every few ms until time_up arrives: the window is 130 ms wide around the deadline.
    let mut policies = Vec::new();
    loop {
        policies.push(policy_of(tid));
        if let Some(msg) = p.try_recv_json(Duration::from_millis(3)).await
            && msg["type"] == "time_up"
        {
            assert_eq!(msg["reason"], "deadline");
            break;
        }
    }
    assert_eq!(
        policies.first(),
        Some(&Some(0)),
        "normal while the question is young"
    );
    let realtime_seen = policies.contains(&Some(1));
    assert_eq!(realtime_seen, outcome.realtime, "{outcome:?}");
    let back_to_normal = async {
        while policy_of(tid) != Some(0) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), back_to_normal)
        .await
        .expect("normal again after the deadline");
    app.teardown().await;

    let app = spawn_app_with(&[("ROOMS_THREAD_PRIORITY", "normal")]).await;
    let outcome = app.rooms_thread.clone();
    assert!(
        !outcome.realtime && outcome.refused.is_none(),
        "{outcome:?}"
    );
    let policy = outcome.tid.and_then(policy_of);
    assert_eq!(policy, Some(0), "SCHED_OTHER");
    app.teardown().await;
}

/// Frames for host screens only (`player_joined`, `answers_progress`) reach every host screen
/// of the room, keep reaching the ones left after another closes, and never reach a player.
#[actix_web::test]
async fn host_only_frames_reach_every_host_screen_and_no_player() {
    let app = spawn_app().await;
    let (code, _, token) = app
        .create_room(&quiz(
            &[(0, 20_000, None)],
            json!({"end_when_all_answered": false}),
        ))
        .await;
    let mut first = app.host(&code, &token).await;
    let mut second = app.host(&code, &token).await;
    let mut ann = app.player(&code, "ann").await;
    for host in [&mut first, &mut second] {
        let joined = host.wait_for("player_joined", SOON).await;
        assert_eq!(joined["nickname"], "ann", "{joined}");
    }

    second.close();
    second.wait_closed(SOON).await;
    let _bob = app.player(&code, "bob").await;
    let joined = first.wait_for("player_joined", SOON).await;
    assert_eq!(joined["nickname"], "bob", "{joined}");

    app.control(&code, &token, "start").await;
    ann.wait_for("question", SOON).await;
    ann.answer_and_wait(0, 1).await;
    let progress = first.wait_for("answers_progress", SOON).await;
    assert_eq!(int(&progress, "answered"), 1, "{progress}");
    assert_eq!(int(&progress, "player_count"), 2, "{progress}");

    ann.settle(Duration::from_millis(200)).await;
    for kind in ["player_joined", "answers_progress"] {
        assert!(ann.received(kind).is_empty(), "a player got {kind}");
    }
    app.teardown().await;
}
