//! Crashes and restarts: SIGKILL mid-question, a deadline passed while down, a paused room,
//! SIGTERM's drain, and whole games killed at random moments.

use super::*;

/// Rule 20 after a crash: players, scores, answered choices and the open question's original
/// deadline come back; the deadline still closes the question on time, and every acknowledged
/// answer is in the reveal and the results.
#[tokio::test(flavor = "multi_thread")]
async fn kill_9_mid_question_restores_deadline_scores_and_acked_answers() {
    let db = TestDb::create().await;
    let mut srv = Server::start("kill9_mid_question", &db.url(), &[]).await;
    let api = srv.api();
    let room = api
        .create_room(&quiz(
            &[(1, 1500), (2, 6000)],
            json!({"end_when_all_answered": false}),
        ))
        .await;
    let mut players = join_players(&srv, &room.code, "p", 5).await;
    let (tokens, ids) = (tokens(&players), ids(&players));
    api.control(&room, "start").await;

    // Question 0 gives the players different scores.
    let mut acked: BTreeMap<(String, i64), i64> = BTreeMap::new();
    for (i, choice) in [(0, 1), (1, 0), (2, 1), (4, 1)] {
        players[i].wait_for_q("question", 0, SOON).await;
        ack(&mut players[i], 0, choice).await;
        acked.insert((ids[i].clone(), 0), choice);
    }
    let mut scores = Vec::new();
    for p in &mut players {
        let reveal = p.wait_for_q("reveal", 0, SOON).await;
        scores.push(int(&reveal["you"], "score"));
    }
    assert!(
        scores[0] > 0 && scores[1] == 0 && scores[3] == 0,
        "scores {scores:?}"
    );

    api.control(&room, "next").await;
    let q1 = players[0].wait_for_q("question", 1, SOON).await;
    let deadline = int(&q1, "deadline_at");
    let mut acked_q1: BTreeMap<usize, i64> = BTreeMap::new();
    for (i, choice) in [(0, 2), (1, 0), (3, 2)] {
        ack(&mut players[i], 1, choice).await;
        acked_q1.insert(i, choice);
        acked.insert((ids[i].clone(), 1), choice);
    }
    srv.kill9().await;
    assert!(
        now_ms() < deadline - 2000,
        "the test was too slow to crash the server mid-question"
    );
    drop(players);
    srv.restart().await;
    assert!(
        srv.ready_at_ms < deadline - 500,
        "the restart took {} ms, longer than the question",
        srv.ready_at_ms - srv.spawned_at_ms
    );

    let url = srv.ws_url();
    let mut players = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let (p, w) = Client::resume(&url, &room.code, token, &format!("p{i}")).await;
        assert_eq!(w["player_id"], ids[i].as_str());
        assert_eq!(w["room"]["status"], "question", "p{i}: {w}");
        let current = &w["room"]["current"];
        assert_eq!(current["question"], 1, "p{i}: {w}");
        assert_eq!(
            current["deadline_at"], deadline,
            "p{i}: the original deadline: {w}"
        );
        assert_eq!(current["paused"], false);
        let remaining = int(current, "remaining_ms");
        let expected = deadline - int(&w, "server_time");
        assert!(
            (remaining - expected).abs() <= 1,
            "remaining {remaining}, expected {expected}"
        );
        assert_eq!(
            w["you"]["score"], scores[i],
            "p{i}: score after restart: {w}"
        );
        assert_eq!(
            w["you"]["answered_choice"],
            acked_q1.get(&i).map_or(Value::Null, |c| json!(c)),
            "p{i}: answered_choice after restart: {w}"
        );
        players.push(p);
    }
    let (mut host, hw) = Client::host(&url, &room.code, &room.host_token).await;
    assert_eq!(hw["role"], "host");
    assert_eq!(hw["room"]["status"], "question");
    assert_eq!(hw["room"]["current"]["deadline_at"], deadline);
    assert_eq!(hw["players"].as_array().map(Vec::len), Some(5), "{hw}");

    // The room still takes answers until the original deadline; p2 stays silent.
    ack(&mut players[4], 1, 2).await;
    acked_q1.insert(4, 2);
    acked.insert((ids[4].clone(), 1), 2);

    let wait = Duration::from_millis((deadline - now_ms()).max(0) as u64) + SOON;
    for p in players.iter_mut().chain(std::iter::once(&mut host)) {
        let time_up = p.wait_for_q("time_up", 1, wait).await;
        assert_time_up_on_time(&p.name, &time_up, deadline, srv.ready_at_ms, 1000);
    }
    let expected = distribution(acked_q1.values().copied());
    for p in players.iter_mut().chain(std::iter::once(&mut host)) {
        let reveal = p.wait_for_q("reveal", 1, SOON).await;
        assert_eq!(reveal["distribution"], expected, "{}: {reveal}", p.name);
        assert_eq!(reveal["answered"], acked_q1.len(), "{}: {reveal}", p.name);
    }
    let results = api.results(&room).await;
    assert_eq!(result_answers(&results), acked, "results: {results}");
    assert_eq!(results["questions"][1]["distribution"], expected);
}

// ----- 2. the deadline passes while the server is down -------------------------------------

/// A question whose deadline passed while the process was dead closes as soon as the room is
/// back (reason `deadline`), with the acknowledged answers counted.
#[tokio::test(flavor = "multi_thread")]
async fn a_deadline_that_passed_while_down_closes_the_question_at_restart() {
    let db = TestDb::create().await;
    let mut srv = Server::start("deadline_passed_while_down", &db.url(), &[]).await;
    let api = srv.api();
    let room = api
        .create_room(&quiz(&[(1, 1500)], json!({"end_when_all_answered": false})))
        .await;
    let mut players = join_players(&srv, &room.code, "p", 3).await;
    let (tokens, ids) = (tokens(&players), ids(&players));
    api.control(&room, "start").await;
    let question = players[0].wait_for_q("question", 0, SOON).await;
    let deadline = int(&question, "deadline_at");
    ack(&mut players[0], 0, 1).await;
    ack(&mut players[1], 0, 3).await;
    srv.kill9().await;
    drop(players);
    sleep_until_ms(deadline + 300).await;
    srv.restart().await;

    let url = srv.ws_url();
    for (i, token) in tokens.iter().enumerate() {
        let (mut p, w) = Client::resume(&url, &room.code, token, &format!("p{i}")).await;
        // The room closes the question when its actor starts, before the server listens; a
        // resume that came first would see the time_up instead.
        let current = &w["room"]["current"];
        if w["room"]["status"] == "question" {
            let time_up = p.wait_for_q("time_up", 0, SOON).await;
            assert_time_up_on_time(&p.name, &time_up, deadline, srv.ready_at_ms, 1000);
            p.wait_for_q("reveal", 0, SOON).await;
        } else {
            assert_eq!(w["room"]["status"], "reveal", "p{i}: {w}");
            assert_eq!(current["deadline_at"], deadline, "p{i}: {w}");
            if current.get("correct").is_some() {
                assert_eq!(current["correct"], 1, "p{i}: {w}");
                assert_eq!(current["distribution"], json!([0, 1, 0, 1]), "p{i}: {w}");
                assert_eq!(current["answered"], 2, "p{i}: {w}");
            } else {
                // The closing moment (docs/protocol-notes.md): locked, not yet revealed.
                let reveal = p.wait_for_q("reveal", 0, SOON).await;
                assert_eq!(reveal["correct"], 1, "p{i}: {reveal}");
                assert_eq!(
                    reveal["distribution"],
                    json!([0, 1, 0, 1]),
                    "p{i}: {reveal}"
                );
            }
        }
    }

    let pool = db.pool().await;
    let row = sqlx::query(
        "SELECT close_reason, (extract(epoch FROM closed_at) * 1000)::bigint AS closed_at
           FROM questions WHERE idx = 0",
    )
    .fetch_one(&pool)
    .await
    .expect("question 0");
    pool.close().await;
    assert_eq!(
        row.get::<Option<String>, _>("close_reason").as_deref(),
        Some("deadline")
    );
    let closed_at: i64 = row.get("closed_at");
    assert!(
        closed_at >= srv.spawned_at_ms && closed_at <= srv.ready_at_ms + 1000,
        "closed at {closed_at}, the process started at {} and was ready at {}",
        srv.spawned_at_ms,
        srv.ready_at_ms
    );

    let (_host, hw) = Client::host(&url, &room.code, &room.host_token).await;
    assert_eq!(hw["room"]["status"], "reveal", "{hw}");
    api.control(&room, "next").await;
    let results = api.results(&room).await;
    assert_eq!(results["room"]["status"], "finished");
    let expected: BTreeMap<_, _> = [((ids[0].clone(), 0), 1), ((ids[1].clone(), 0), 3)].into();
    assert_eq!(result_answers(&results), expected, "results: {results}");
}

// ----- 3. a paused room stays paused -------------------------------------------------------

/// A paused question comes back paused with the time that was left, however long the server
/// was down; the host's `resume` then sets the deadline to now + that time.
#[tokio::test(flavor = "multi_thread")]
async fn a_paused_room_comes_back_paused_with_its_remaining_time() {
    let db = TestDb::create().await;
    let mut srv = Server::start("paused_across_kill", &db.url(), &[]).await;
    let api = srv.api();
    let room = api
        .create_room(&quiz(&[(2, 6000)], json!({"end_when_all_answered": false})))
        .await;
    let mut players = join_players(&srv, &room.code, "p", 3).await;
    let (tokens, ids) = (tokens(&players), ids(&players));
    api.control(&room, "start").await;
    let question = players[0].wait_for_q("question", 0, SOON).await;
    let started_at = int(&question, "started_at");
    ack(&mut players[0], 0, 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    api.control(&room, "pause").await;
    let paused = players[1].wait_for_q("paused", 0, SOON).await;
    let remaining = int(&paused, "remaining_ms");
    assert!(remaining > 3000 && remaining < 6000, "{paused}");
    // Phase changes are journaled asynchronously (docs/reliability.md): wait until the pause is
    // in Postgres, then crash.
    let pool = db.pool().await;
    eventually("the pause to reach Postgres", SOON, || {
        let pool = pool.clone();
        async move {
            let status: String = sqlx::query_scalar("SELECT status FROM rooms")
                .fetch_one(&pool)
                .await
                .ok()?;
            (status == "paused").then_some(())
        }
    })
    .await;
    pool.close().await;
    srv.kill9().await;
    drop(players);
    // Time spent down must not count.
    tokio::time::sleep(Duration::from_millis(700)).await;
    srv.restart().await;

    let url = srv.ws_url();
    let mut players = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let (p, w) = Client::resume(&url, &room.code, token, &format!("p{i}")).await;
        assert_eq!(w["room"]["status"], "paused", "p{i}: {w}");
        let current = &w["room"]["current"];
        assert_eq!(current["paused"], true, "p{i}: {w}");
        assert_eq!(current["remaining_ms"], remaining, "p{i}: {w}");
        assert_eq!(
            int(current, "deadline_at"),
            int(&w, "server_time") + remaining,
            "rule 13: while paused the deadline shown is now + remaining: {w}"
        );
        let answered = if i == 0 { json!(2) } else { Value::Null };
        assert_eq!(w["you"]["answered_choice"], answered, "p{i}: {w}");
        players.push(p);
    }
    assert_eq!(
        players[1].answer(0, 2, SOON).await,
        Ok(Outcome::Rejected("not_open".into())),
        "an answer while paused"
    );
    let (mut host, hw) = Client::host(&url, &room.code, &room.host_token).await;
    assert_eq!(hw["room"]["status"], "paused");

    tokio::time::sleep(Duration::from_millis(300)).await;
    api.control(&room, "resume").await;
    let resumed = players[2].wait_for_q("resumed", 0, SOON).await;
    let deadline = int(&resumed, "deadline_at");
    assert_eq!(int(&resumed, "remaining_ms"), remaining, "{resumed}");
    assert_eq!(
        deadline - int(&resumed, "server_time"),
        remaining,
        "{resumed}"
    );

    let late = ack(&mut players[1], 0, 1).await;
    for p in players.iter_mut().chain(std::iter::once(&mut host)) {
        let time_up = p
            .wait_for_q("time_up", 0, Duration::from_millis(remaining as u64) + SOON)
            .await;
        assert_time_up_on_time(&p.name, &time_up, deadline, 0, 500);
        let reveal = p.wait_for_q("reveal", 0, SOON).await;
        assert_eq!(
            reveal["distribution"],
            json!([0, 1, 1, 0]),
            "{}: {reveal}",
            p.name
        );
    }
    // Response times leave out the pause, the time down included.
    let results = api.results(&room).await;
    let p1 = results["players"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["player_id"] == ids[1].as_str()))
        .expect("p1 in the results");
    let response_ms = int(&p1["answers"][0], "response_ms");
    let wall = int(&late, "received_at") - started_at;
    assert!(
        response_ms < 6000 && wall - response_ms > 1000,
        "response_ms {response_ms} for an answer {wall} ms after the start"
    );
}

// ----- 4. SIGTERM drains -------------------------------------------------------------------

/// A server that stops on purpose closes every socket with 1012, stores what it acknowledged,
/// exits 0 within `SHUTDOWN_TIMEOUT_MS`, and the room is back after the restart.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_closes_sockets_with_1012_flushes_and_exits_0() {
    let db = TestDb::create().await;
    let mut srv = Server::start("sigterm_drain", &db.url(), &[("RUST_LOG", "info")]).await;
    let api = srv.api();
    let room = api
        .create_room(&quiz(
            &[(1, 15_000)],
            json!({"end_when_all_answered": false}),
        ))
        .await;
    let url = srv.ws_url();
    let mut players = join_players(&srv, &room.code, "p", 5).await;
    let (tokens, ids) = (tokens(&players), ids(&players));
    let (host, _) = Client::host(&url, &room.code, &room.host_token).await;
    let idle = Client::connect(&url, "not joined").await;
    api.control(&room, "start").await;
    for p in &mut players {
        p.wait_for_q("question", 0, SOON).await;
    }
    let mut acked: BTreeMap<(String, i64), i64> = BTreeMap::new();
    for i in 0..3 {
        ack(&mut players[i], 0, i as i64).await;
        acked.insert((ids[i].clone(), 0), i as i64);
    }
    // Two answers in flight when the signal comes.
    for (i, p) in players.iter_mut().enumerate().skip(3) {
        p.send(&json!({"type": "answer", "question": 0, "choice": 3 - (i as i64 % 2)}))
            .await;
    }
    let timeout = Duration::from_millis(10_000);
    let stopping = tokio::spawn(async move {
        let stopped = srv.sigterm(timeout + Duration::from_secs(5)).await;
        (srv, stopped)
    });
    let mut sockets: Vec<Client> = players;
    sockets.push(host);
    sockets.push(idle);
    for s in &mut sockets {
        assert_eq!(
            s.wait_closed(SOON).await,
            Some(1012),
            "{}: close code",
            s.name
        );
        s.drain_now();
        for a in s.take_all("answer_ack") {
            let id = s.player_id.clone().expect("a player");
            acked.insert((id, int(&a, "question")), int(&a, "choice"));
        }
    }
    let (mut srv, (status, took)) = stopping.await.expect("the SIGTERM task");
    assert!(status.success(), "exit status after SIGTERM: {status}");
    assert!(took <= timeout, "the server took {took:?} to stop");
    // The log went to a file: plain text for a person or a log shipper, no color codes.
    let log = std::fs::read_to_string(&srv.log_path).expect("the server log");
    assert!(
        log.contains("shutting down: closing sockets and flushing writes"),
        "{log}"
    );
    assert!(!log.contains('\u{1b}'), "color codes in a log file: {log}");

    let stored = stored_answers(&db).await;
    for (key, choice) in &acked {
        assert_eq!(
            stored.get(key),
            Some(choice),
            "acknowledged answer {key:?} not stored"
        );
    }

    srv.restart().await;
    let api = srv.api();
    let view = api.room(&room.code).await;
    assert_eq!(view["status"], "question", "{view}");
    assert_eq!(view["player_count"], 5, "{view}");
    let url = srv.ws_url();
    let mut players = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let (p, w) = Client::resume(&url, &room.code, token, &format!("p{i}")).await;
        let stored_choice = stored
            .get(&(ids[i].clone(), 0))
            .map_or(Value::Null, |c| json!(c));
        assert_eq!(w["you"]["answered_choice"], stored_choice, "p{i}: {w}");
        players.push(p);
    }
    api.control(&room, "lock").await;
    let reveal = players[0].wait_for_q("reveal", 0, SOON).await;
    assert_eq!(
        reveal["distribution"],
        distribution(stored.values().copied()),
        "{reveal}"
    );
}

// ----- 5. Postgres outage under load -------------------------------------------------------

/// One game of the loop: what the test knows about it.
struct LoopGame {
    room: CreatedRoom,
    limits: Vec<u32>,
    auto_advance: bool,
    players: Vec<Option<Client>>,
    host: Option<Client>,
    /// The furthest point of the game `play` saw the host screen reach: `progress` and words.
    seen: (i64, String),
    /// `deadline_at` of every question the host screen was shown.
    deadlines: BTreeMap<i64, i64>,
    tokens: Vec<Option<String>>,
    ids: Vec<Option<String>>,
    /// `(player, question) -> choice` of every `answer_ack` a player received.
    acks: Mutex<BTreeMap<(usize, i64), i64>>,
}

impl LoopGame {
    fn record(&self, player: usize, question: i64, choice: i64) {
        let mut acks = self.acks.lock().expect("acks");
        if let Some(before) = acks.insert((player, question), choice) {
            assert_eq!(before, choice, "p{player} acked twice for {question}");
        }
    }

    fn acked(&self, player: usize, question: i64) -> Option<i64> {
        self.acks
            .lock()
            .expect("acks")
            .get(&(player, question))
            .copied()
    }
}

/// Plays the game normally (joins, start, every player answers every question, `next`). The
/// caller drops this future at a random moment and kills the server.
async fn play(srv: &Server, g: &mut LoopGame, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let (url, api) = (srv.ws_url(), srv.api());
    for i in 0..g.players.len() {
        let (c, _) = Client::join(&url, &g.room.code, &format!("p{i}")).await;
        g.tokens[i] = c.token.clone();
        g.ids[i] = c.player_id.clone();
        g.players[i] = Some(c);
    }
    g.host = Some(Client::host(&url, &g.room.code, &g.room.host_token).await.0);
    api.control(&g.room, "start").await;
    for (q, limit) in g.limits.clone().into_iter().enumerate() {
        let q = q as i64;
        let plans: Vec<(u64, i64)> = (0..g.players.len())
            .map(|_| {
                (
                    rng.random_range(0..u64::from(limit) / 2),
                    rng.random_range(0..4),
                )
            })
            .collect();
        let acks = &g.acks;
        let answering = g
            .players
            .iter_mut()
            .enumerate()
            .zip(plans)
            .filter_map(|((i, c), plan)| c.as_mut().map(|c| (i, c, plan)))
            .map(|(i, c, (delay, choice))| async move {
                c.wait_for_q("question", q, SOON).await;
                tokio::time::sleep(Duration::from_millis(delay)).await;
                match c.answer(q, choice, SOON).await {
                    Ok(Outcome::Ack(_)) => {
                        acks.lock().expect("acks").insert((i, q), choice);
                    }
                    other => panic!("p{i}: answer to {q} before the crash: {other:?}"),
                }
            });
        futures_util::future::join_all(answering).await;
        let host = g.host.as_mut().expect("the host");
        host.wait_for_q("reveal", q, Duration::from_millis(limit.into()) + SOON)
            .await;
        g.seen = (progress("reveal", Some(q)), format!("reveal {q}"));
        if !g.auto_advance {
            api.control(&g.room, "next").await;
        }
    }
    let host = g.host.as_mut().expect("the host");
    host.wait_for("game_over", SOON).await;
    g.seen = (progress("finished", None), "game_over".into());
}

/// How far a game has gone, in order: lobby, then per question opened, closed (time_up),
/// revealed, then finished.
fn progress(status: &str, question: Option<i64>) -> i64 {
    let q = question.unwrap_or(0);
    match status {
        "lobby" => 0,
        "question" | "paused" => 1 + 3 * q,
        "closed" => 2 + 3 * q,
        "reveal" => 3 + 3 * q,
        _ => 1000,
    }
}

/// The furthest point the host screen was told about before the crash.
fn host_saw(g: &mut LoopGame) -> (i64, String) {
    let mut seen = g.seen.clone();
    let Some(host) = g.host.as_mut() else {
        return seen;
    };
    host.drain_now();
    for ty in ["question", "time_up", "reveal", "game_over"] {
        for m in host.take_all(ty) {
            let q = m["question"].as_i64();
            if ty == "question" {
                g.deadlines
                    .insert(int(&m, "question"), int(&m, "deadline_at"));
            }
            let status = match ty {
                "question" => "question",
                "time_up" => "closed",
                "reveal" => "reveal",
                _ => "finished",
            };
            let p = progress(status, q);
            if p > seen.0 {
                seen = (
                    p,
                    format!("{ty} {}", q.map_or(String::new(), |q| q.to_string())),
                );
            }
        }
    }
    seen
}

/// After the restart: resume everyone, reconnect the host and drive the game to its end.
async fn finish(srv: &Server, g: &mut LoopGame, rng: &mut StdRng) {
    let (url, api) = (srv.ws_url(), srv.api());
    let code = g.room.code.clone();
    if api.room(&code).await["status"] == "finished" {
        return;
    }
    for i in 0..g.players.len() {
        g.players[i] = None;
        let Some(token) = g.tokens[i].clone() else {
            continue;
        };
        let mut c = Client::connect(&url, &format!("p{i}")).await;
        c.send(&json!({"type": "resume", "code": code, "player_token": token}))
            .await;
        let w = c
            .wait_where(SOON, |v| v["type"] == "welcome" || v["type"] == "error")
            .await
            .expect("welcome or error");
        if w["type"] == "error" {
            // The game ended by itself (auto-advance) since the status was read.
            assert_eq!(w["code"], "game_finished", "p{i}: resume: {w}");
            continue;
        }
        let current = &w["room"]["current"];
        if let Some(q) = current["question"].as_i64()
            && let Some(deadline) = g.deadlines.get(&q)
        {
            assert_eq!(
                current["deadline_at"], *deadline,
                "p{i}: question {q} came back with another deadline: {w}"
            );
        }
        if let Some(q) = current["question"].as_i64()
            && let Some(choice) = g.acked(i, q)
        {
            assert_eq!(
                w["you"]["answered_choice"], choice,
                "p{i}: the welcome after the restart forgot the acknowledged answer to {q}: {w}"
            );
        }
        c.player_id = w["player_id"].as_str().map(str::to_owned);
        g.players[i] = Some(c);
    }
    let mut host = Client::connect(&url, "host").await;
    host.send(&json!({"type": "host", "code": code, "host_token": g.room.host_token}))
        .await;
    let hw = host
        .wait_where(SOON, |v| v["type"] == "welcome" || v["type"] == "error")
        .await
        .expect("host welcome");
    if hw["type"] == "error" {
        assert_eq!(api.room(&code).await["status"], "finished", "host: {hw}");
        return;
    }
    let give_up = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(
            Instant::now() < give_up,
            "room {code} did not finish after the restart"
        );
        let view = api.room(&code).await;
        match view["status"].as_str().unwrap_or_default() {
            "finished" => return,
            "lobby" => {
                api.try_control(&g.room, "start").await;
            }
            "paused" => {
                api.try_control(&g.room, "resume").await;
            }
            "question" => {
                let q = int(&view, "current_question");
                for i in 0..g.players.len() {
                    if g.acked(i, q).is_some() {
                        continue;
                    }
                    let Some(c) = g.players[i].as_mut() else {
                        continue;
                    };
                    let choice = rng.random_range(0..4);
                    match c.answer(q, choice, SOON).await {
                        Ok(Outcome::Ack(_)) => g.record(i, q, choice),
                        Ok(Outcome::Rejected(_)) => {}
                        Err(e) => panic!("p{i}: answer to {q} after the restart: {e:?}"),
                    }
                }
                let limit = Duration::from_millis(g.limits[q as usize].into());
                host.wait_for_q("reveal", q, limit + SOON).await;
            }
            _ => {
                // reveal: move on (a 409 means the room moved by itself meanwhile).
                api.try_control(&g.room, "next").await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// 20 short games, each killed with SIGKILL at a random moment (lobby, mid-question, reveal,
/// after the end...), restarted and driven to the end: every acknowledged answer is in the
/// results and every game finishes with all its questions revealed.
#[tokio::test(flavor = "multi_thread")]
async fn games_killed_at_random_moments_finish_with_every_acked_answer() {
    let seed: u64 = std::env::var("FAULTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("kill loop: FAULTS_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let db = TestDb::create().await;
    let mut srv = Server::start("kill_loop", &db.url(), &[]).await;
    let started = Instant::now();
    let mut stepped_back = 0;
    for game in 0..20 {
        let n = rng.random_range(2..=3);
        let limits: Vec<u32> = (0..n).map(|_| rng.random_range(600..=900)).collect();
        let auto_advance = rng.random_bool(0.3);
        let settings = json!({
            "end_when_all_answered": rng.random_bool(0.5),
            "auto_advance_ms": if auto_advance { json!(500) } else { Value::Null },
        });
        let questions: Vec<(usize, u32)> = limits.iter().map(|l| (1, *l)).collect();
        let room = srv.api().create_room(&quiz(&questions, settings)).await;
        let mut g = LoopGame {
            room,
            limits: limits.clone(),
            auto_advance,
            players: (0..3).map(|_| None).collect(),
            host: None,
            seen: (0, "the lobby".into()),
            deadlines: BTreeMap::new(),
            tokens: vec![None; 3],
            ids: vec![None; 3],
            acks: Mutex::new(BTreeMap::new()),
        };
        let length: u64 = 300 + limits.iter().map(|l| u64::from(*l) + 200).sum::<u64>();
        let kill_after = rng.random_range(0..length + 300);
        let play_seed = rng.random();
        let finished_first = tokio::select! {
            _ = play(&srv, &mut g, play_seed) => true,
            _ = tokio::time::sleep(Duration::from_millis(kill_after)) => false,
        };
        srv.kill9().await;
        // Acks that reached a socket but not the game's bookkeeping yet count too.
        for i in 0..g.players.len() {
            if let Some(c) = g.players[i].as_mut() {
                c.wait_closed(SOON).await;
                for a in c.take_all("answer_ack") {
                    g.record(i, int(&a, "question"), int(&a, "choice"));
                }
            }
        }
        let (seen, seen_what) = host_saw(&mut g);
        g.host = None;
        srv.restart().await;
        let view = srv.api().room(&g.room.code).await;
        let status_after = view["status"].as_str().unwrap_or_default().to_owned();
        let restored = progress(&status_after, view["current_question"].as_i64());
        let went_back = restored < seen;
        if went_back {
            stepped_back += 1;
            // A question the host saw open whose opening was not stored yet opens again, with
            // a new deadline (the journal is asynchronous, see the end of this test); only the
            // ones the room came back at or past keep theirs.
            g.deadlines
                .retain(|q, _| progress("question", Some(*q)) <= restored);
        }
        finish(&srv, &mut g, &mut rng).await;

        let results = srv.api().results(&g.room).await;
        assert_eq!(
            results["room"]["status"], "finished",
            "game {game}: {results}"
        );
        for q in results["questions"].as_array().into_iter().flatten() {
            assert_eq!(q["revealed"], true, "game {game}: question {q}");
        }
        let stored = result_answers(&results);
        let acks = g.acks.lock().expect("acks").clone();
        for ((i, q), choice) in &acks {
            let id = g.ids[*i].clone().expect("an acked player has an id");
            assert_eq!(
                stored.get(&(id, *q)),
                Some(choice),
                "game {game} (seed {seed}): p{i}'s acknowledged answer to {q} is not in the results"
            );
        }
        eprintln!(
            "game {game}: {n} questions, killed after {kill_after} ms{}; the host had seen \
             {seen_what}, back as {status_after} {}{}; {} acked answers, all in the results",
            if finished_first {
                " (after its end)"
            } else {
                ""
            },
            view["current_question"],
            if went_back { " (EARLIER)" } else { "" },
            acks.len()
        );
    }
    // Not a failure here (no acknowledged answer is lost, every game finishes): the journal is
    // asynchronous, see `a_question_revealed_before_a_crash_does_not_open_again`.
    eprintln!(
        "kill loop: 20 games in {:?}; {stepped_back} came back earlier than the host screen had \
         already shown",
        started.elapsed()
    );
}
