//! Frames to one socket keep their order when its direct queue overflows: a host screen that
//! takes many joins at once (more than the 32 frames actix-ws queues per socket) gets every
//! `player_joined` once and in order, and a room's broadcast reaches every player.

// A test's job is to panic with a clear message when something is off.
#![allow(clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{SOON, int, quiz, spawn_app};
use serde_json::json;

#[actix_web::test]
async fn a_burst_of_joins_reaches_the_host_complete_and_in_order() {
    let app = spawn_app().await;
    let (code, _, token) = app
        .create_room(&quiz(
            &[(1, 5000, None)],
            json!({"end_when_all_answered": false}),
        ))
        .await;
    let mut host = app.host(&code, &token).await;

    // 150 players join at once: far more player_joined frames than the socket's own queue.
    let joins = (0..150).map(|i| {
        let (app, code) = (&app, code.clone());
        async move { app.player(&code, &format!("p{i:03}")).await }
    });
    let mut players = futures_util::future::join_all(joins).await;

    let mut counts = Vec::new();
    let mut ids = std::collections::HashSet::new();
    while counts.len() < 150 {
        let m = host
            .wait_for("player_joined", Duration::from_secs(10))
            .await;
        counts.push(int(&m, "player_count"));
        assert!(
            ids.insert(m["player_id"].to_string()),
            "player_joined twice: {m}"
        );
    }
    // Joins stored in one group commit all see the same count; it never goes down.
    assert!(
        counts.windows(2).all(|w| w[0] <= w[1]),
        "player_count went back: {counts:?}"
    );
    assert_eq!(counts.last(), Some(&150));

    // One broadcast reaches all 151 sockets, the host's after its backlog.
    app.control(&code, &token, "start").await;
    let q = host.wait_for("question", SOON).await;
    assert_eq!(q["question"], 0);
    for p in &mut players {
        let q = p.wait_for("question", SOON).await;
        assert_eq!(q["question"], 0);
    }
    app.teardown().await;
}

/// Additive snapshot fields: a host learns the room's settings and when an armed auto-advance
/// fires (to count down to it), and a player who reconnects during a reveal learns what the answer earned,
/// never before the reveal.
#[actix_web::test]
async fn welcomes_carry_settings_for_hosts_and_the_revealed_outcome_for_players() {
    let app = spawn_app().await;
    let (code, _, token) = app
        .create_room(&quiz(
            &[(1, 5000, None), (0, 5000, None)],
            json!({"end_when_all_answered": false, "auto_advance_ms": 60000}),
        ))
        .await;
    let mut host = app.ws().await;
    let hw = host.host(&code, &token).await;
    assert_eq!(hw["settings"]["auto_advance_ms"], 60000, "{hw}");
    assert_eq!(hw["settings"]["end_when_all_answered"], false, "{hw}");
    assert!(
        hw["advance_at"].is_null(),
        "nothing to advance in the lobby: {hw}"
    );

    let mut amy = app.player(&code, "amy").await;
    let token_amy = amy.token().to_owned();
    app.control(&code, &token, "start").await;
    amy.wait_for("question", SOON).await;
    amy.answer(0, 1);
    amy.wait_for("answer_ack", SOON).await;

    // During the question: no outcome, nothing that gives the answer away.
    let mut again = app.ws().await;
    let w = again.resume(&code, &token_amy).await;
    assert!(
        w["you"].get("correct").is_none() && w["you"].get("points").is_none(),
        "{w}"
    );

    app.control(&code, &token, "lock").await;
    again.wait_for("reveal", SOON).await;
    let mut third = app.ws().await;
    let w = third.resume(&code, &token_amy).await;
    assert_eq!(w["room"]["status"], "reveal", "{w}");
    assert_eq!(w["you"]["correct"], true, "{w}");
    assert!(int(&w["you"], "points") > 0, "{w}");
    assert_eq!(int(&w["you"], "points"), int(&w["you"], "score"), "{w}");
    assert_eq!(w["you"]["rank"], 1, "{w}");
    assert!(w["you"]["response_ms"].is_i64(), "{w}");

    // A host screen that reconnects during the reveal counts down to the advance the room
    // armed at the reveal, not to a fresh one.
    let mut host_again = app.ws().await;
    let hw = host_again.host(&code, &token).await;
    let left = int(&hw, "advance_at") - int(&hw, "server_time");
    assert!((50_000..=60_000).contains(&left), "{left} ms left: {hw}");
    app.teardown().await;
}
