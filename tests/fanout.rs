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
