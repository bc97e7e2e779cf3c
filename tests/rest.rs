//! REST details of PROTOCOL.md rule 15, 18 and 21, the operations endpoints, and WebSocket
//! hygiene (frame size, flooding, answers before joining) against the real app.

// A test's job is to panic with a clear message when something is off.
#![allow(clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{SOON, quiz, spawn_app};
use serde_json::{Value, json};

fn small_quiz() -> Value {
    quiz(&[(1, 20_000, None)], json!({}))
}

#[actix_web::test]
async fn unknown_paths_are_404_not_found() {
    let app = spawn_app().await;
    let (code, _, token) = app.create_room(&small_quiz()).await;
    for (method, path) in [
        ("GET", "/nope".to_owned()),
        ("GET", "/api/nope".to_owned()),
        (
            "GET",
            "/api/rooms/{code}/nope/deeper".replace("{code}", &code),
        ),
        ("POST", format!("/api/rooms/{code}/nope")),
    ] {
        app.request(method, &path, Some(&token), None)
            .await
            .assert_error(404, "not_found");
    }
    app.teardown().await;
}

/// Rule 21: "an unknown path is 404, a known path with the wrong method 405". The host-control
/// route `/api/rooms/{code}/{action}` answers 405 to a GET of any action, known or not.
#[actix_web::test]
async fn an_unknown_room_action_is_404_whatever_the_method() {
    let app = spawn_app().await;
    let (code, _, token) = app.create_room(&small_quiz()).await;
    app.request(
        "GET",
        &format!("/api/rooms/{code}/nope"),
        Some(&token),
        None,
    )
    .await
    .assert_error(404, "not_found");
    app.teardown().await;
}

/// Rule 21: an unknown path is 404 whatever the method; the static file service must not answer
/// it with its own plain-text 405.
#[actix_web::test]
async fn an_unknown_path_is_404_for_every_method() {
    let app = spawn_app().await;
    for method in ["POST", "PUT", "DELETE"] {
        app.request(method, "/api/nope", None, Some(b"{}".to_vec()))
            .await
            .assert_error(404, "not_found");
    }
    app.teardown().await;
}

#[actix_web::test]
async fn wrong_methods_are_405_before_any_token_check() {
    let app = spawn_app().await;
    let (code, _, _) = app.create_room(&small_quiz()).await;
    for (method, path) in [
        ("DELETE", "/api/rooms".to_owned()),
        ("GET", "/api/rooms".to_owned()),
        ("PUT", format!("/api/rooms/{code}")),
        ("POST", format!("/api/rooms/{code}/leaderboard")),
        ("POST", format!("/api/rooms/{code}/results")),
        ("GET", format!("/api/rooms/{code}/start")),
        ("POST", "/healthz".to_owned()),
        ("POST", "/metrics".to_owned()),
        // Admin routes check the token first, but the method comes before that (rule 21).
        ("POST", "/api/admin/rooms".to_owned()),
        (
            "DELETE",
            "/api/admin/rooms/00000000-0000-0000-0000-000000000000/results".to_owned(),
        ),
    ] {
        let resp = app.request(method, &path, None, None).await;
        assert_eq!(resp.status, 405, "{method} {path}: {}", resp.text());
        resp.assert_error(405, "method_not_allowed");
    }
    app.teardown().await;
}

#[actix_web::test]
async fn a_body_over_two_mib_is_413_and_one_at_the_limit_is_read() {
    let app = spawn_app().await;
    let limit = 2 * 1024 * 1024;
    // At the limit the body is read (and is not JSON).
    let at_limit = vec![b' '; limit - 1]
        .into_iter()
        .chain(*b"x")
        .collect::<Vec<u8>>();
    app.request("POST", "/api/rooms", None, Some(at_limit))
        .await
        .assert_error(400, "invalid_json");
    // One byte more is too large, even when it would be valid JSON.
    let mut over = b"{\"title\":\"".to_vec();
    over.resize(limit - 1, b'a');
    over.extend_from_slice(b"\"}");
    assert_eq!(over.len(), limit + 1);
    app.request("POST", "/api/rooms", None, Some(over))
        .await
        .assert_error(413, "payload_too_large");
    app.teardown().await;
}

#[actix_web::test]
async fn host_routes_check_the_room_before_the_token() {
    let app = spawn_app().await;
    for (method, path) in [
        ("POST", "/api/rooms/000000/start"),
        ("GET", "/api/rooms/000000/results"),
        (
            "DELETE",
            "/api/rooms/000000/players/00000000-0000-0000-0000-000000000000",
        ),
    ] {
        app.request(method, path, None, None)
            .await
            .assert_error(404, "room_not_found");
    }
    let (code, _, token) = app.create_room(&small_quiz()).await;
    let resp = app
        .request("POST", &format!("/api/rooms/{code}/start"), None, None)
        .await;
    resp.assert_error(401, "unauthorized");
    app.request(
        "POST",
        &format!("/api/rooms/{code}/start"),
        Some("wrong"),
        None,
    )
    .await
    .assert_error(401, "unauthorized");
    // In the lobby only start and end are allowed.
    app.try_control(&code, &token, "next")
        .await
        .assert_error(409, "invalid_state");
    app.try_control(&code, &token, "pause")
        .await
        .assert_error(409, "invalid_state");
    app.kick(&code, &token, "00000000-0000-0000-0000-000000000000")
        .await
        .assert_error(404, "player_not_found");
    app.teardown().await;
}

#[actix_web::test]
async fn admin_routes_check_the_token_before_anything() {
    let app = spawn_app().await;
    let (code, room_id, _) = app.create_room(&small_quiz()).await;
    for path in [
        "/api/admin/rooms".to_owned(),
        "/api/admin/rooms?limit=abc&status=nope".to_owned(),
        "/api/admin/rooms/not-a-uuid/results".to_owned(),
        format!("/api/admin/rooms/{room_id}/results?format=csv"),
        "/api/admin/rooms/00000000-0000-0000-0000-000000000000/results".to_owned(),
    ] {
        let resp = app.request("GET", &path, None, None).await;
        resp.assert_error(401, "unauthorized");
        assert_eq!(
            resp.headers.get("www-authenticate").map(String::as_str),
            Some("Bearer"),
            "{path}"
        );
        app.request("GET", &path, Some("not-the-admin"), None)
            .await
            .assert_error(401, "unauthorized");
        // A host token is no admin token either.
    }
    let (_, _, host_token) = app.create_room(&small_quiz()).await;
    app.request("GET", "/api/admin/rooms", Some(&host_token), None)
        .await
        .assert_error(401, "unauthorized");

    // With the token: bad queries name their field (rule 18).
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("limit=1.5", "limit"),
        ("status=nope", "status"),
        ("status=LOBBY", "status"),
    ] {
        let err = app
            .admin_get(&format!("/api/admin/rooms?{query}"))
            .await
            .assert_error(422, "invalid_query");
        assert_eq!(err["field"], field, "{query}: {err}");
    }
    // Larger limits are clamped, not refused.
    let resp = app.admin_get("/api/admin/rooms?limit=5000").await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let rooms = resp.json()["rooms"].as_array().cloned().expect("rooms");
    assert_eq!(rooms.len(), 2);
    // Newest first; the status filter works.
    let resp = app.admin_get("/api/admin/rooms?limit=1&status=lobby").await;
    let rooms = resp.json()["rooms"].as_array().cloned().expect("rooms");
    assert_eq!(rooms.len(), 1);
    assert_ne!(
        rooms[0]["code"], code,
        "the newest room comes first: {rooms:?}"
    );
    let resp = app.admin_get("/api/admin/rooms?status=finished").await;
    assert_eq!(resp.json()["rooms"], json!([]));
    // An unknown room id is 404 once the token is right.
    app.admin_get("/api/admin/rooms/00000000-0000-0000-0000-000000000000/results")
        .await
        .assert_error(404, "room_not_found");
    app.teardown().await;
}

#[actix_web::test]
async fn healthz_metrics_and_openapi() {
    let app = spawn_app().await;
    let resp = app.get("/healthz").await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), json!({"status": "ok", "db": "ok"}));

    let resp = app.get("/metrics").await;
    assert_eq!(resp.status, 200);
    assert!(
        resp.content_type.starts_with("text/plain"),
        "{}",
        resp.content_type
    );
    let text = resp.text();
    for name in [
        "quizroom_answers_accepted_total",
        "quizroom_time_up_lateness_seconds_bucket",
        "quizroom_answers_rejected_total{reason=\"too_late\"}",
        "quizroom_ws_connections",
    ] {
        assert!(text.contains(name), "/metrics lacks {name}:\n{text}");
    }

    let resp = app.get("/api/openapi.json").await;
    assert_eq!(resp.status, 200);
    assert!(
        resp.content_type.starts_with("application/json"),
        "{}",
        resp.content_type
    );
    let doc = resp.json();
    assert!(doc.is_object(), "{doc}");
    assert!(
        doc.get("openapi").or_else(|| doc.get("swagger")).is_some(),
        "not an OpenAPI document: {doc}"
    );
    app.teardown().await;
}

/// A `ping` padded with an ignored field to exactly `len` bytes.
fn ping_of_len(len: usize) -> String {
    let head = r#"{"type":"ping","client_time":7,"pad":""#;
    let tail = r#""}"#;
    let pad = "x".repeat(len - head.len() - tail.len());
    let s = format!("{head}{pad}{tail}");
    assert_eq!(s.len(), len);
    s
}

#[actix_web::test]
async fn a_4096_byte_frame_passes_and_4097_closes_with_1009() {
    let app = spawn_app().await;
    let mut ws = app.ws().await;
    ws.send_text(ping_of_len(4096));
    let pong = ws.wait_for("pong", SOON).await;
    assert_eq!(pong["client_time"], 7);
    ws.send_text(ping_of_len(4097));
    let close = ws.wait_closed(SOON).await;
    assert_eq!(close.code, Some(1009), "{close:?}");
    assert!(
        ws.unread("pong").is_empty(),
        "the oversized frame was answered"
    );
    app.teardown().await;
}

#[actix_web::test]
async fn flooding_gets_rate_limited_then_closed_with_1008() {
    let app = spawn_app().await;
    let mut ws = app.ws().await;
    for i in 0..200 {
        ws.send_json(&json!({"type": "ping", "client_time": i}));
    }
    let close = ws.wait_closed(SOON).await;
    assert_eq!(close.code, Some(1008), "{close:?}");
    let types = ws.received_types();
    let pongs = types.iter().filter(|t| *t == "pong").count();
    let errors = ws.received("error");
    // The burst (40) passes, plus what the bucket refilled meanwhile.
    assert!((40..=60).contains(&pongs), "{pongs} pongs");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["code"], "rate_limited");
    assert_eq!(
        types.last().map(String::as_str),
        Some("error"),
        "rate_limited is the last message: {types:?}"
    );
    app.teardown().await;
}

#[actix_web::test]
async fn a_steady_twenty_messages_a_second_is_never_limited() {
    let app = spawn_app().await;
    let mut ws = app.ws().await;
    // 60 messages at 25 per second: the burst covers the difference.
    for i in 0..60 {
        ws.send_json(&json!({"type": "ping", "client_time": i}));
        actix_web::rt::time::sleep(Duration::from_millis(40)).await;
    }
    ws.settle(Duration::from_millis(200)).await;
    assert!(ws.closed.is_none(), "{:?}", ws.closed);
    assert_eq!(ws.received("pong").len(), 60);
    assert!(ws.received("error").is_empty());
    app.teardown().await;
}

#[actix_web::test]
async fn answers_before_joining_and_malformed_frames_keep_the_socket_open() {
    let app = spawn_app().await;
    let (code, _, _) = app.create_room(&small_quiz()).await;
    let mut ws = app.ws().await;
    let r = ws.answer_and_wait(0, 1).await;
    assert_eq!(
        r,
        json!({"type": "answer_rejected", "question": 0, "reason": "not_joined"})
    );
    for (frame, code) in [
        ("not json", "invalid_json"),
        ("[1, 2]", "invalid_message"),
        (
            r#"{"type": "answer", "question": 0, "choice": "x"}"#,
            "invalid_message",
        ),
        (
            r#"{"type": "answer", "question": 0, "choice": 1.5}"#,
            "invalid_message",
        ),
        (r#"{"type": "dance"}"#, "unknown_type"),
    ] {
        ws.send_text(frame);
        let e = ws.wait_for("error", SOON).await;
        assert_eq!(e["code"], code, "{frame}: {e}");
        assert!(e["message"].is_string());
    }
    ws.send_binary(vec![1, 2, 3]);
    assert_eq!(
        ws.wait_for("error", SOON).await["code"],
        "unsupported_frame"
    );
    // Still open, and it can still join.
    ws.join(&code, "late").await;
    ws.send_json(&json!({"type": "join", "code": code, "nickname": "again"}));
    assert_eq!(ws.wait_for("error", SOON).await["code"], "already_joined");
    // A joined player in the lobby: rule 1 says not_open.
    let r = ws.answer_and_wait(0, 1).await;
    assert_eq!(r["reason"], "not_open");
    assert!(ws.closed.is_none());
    app.teardown().await;
}

/// The size limit is on messages: one sent in continuation frames is held to it as well, and
/// the close code is the same 1009 ("message too big"), not a protocol error.
#[actix_web::test]
async fn a_fragmented_message_is_held_to_the_same_limit_with_1009() {
    let app = spawn_app().await;
    let mut ws = app.ws().await;
    let split = |s: String| {
        let (a, b) = s.split_at(2000);
        vec![a.to_owned(), b.to_owned()]
    };
    ws.send_fragments(split(ping_of_len(4096)));
    assert_eq!(ws.wait_for("pong", SOON).await["client_time"], 7);
    ws.send_fragments(split(ping_of_len(4097)));
    let close = ws.wait_closed(SOON).await;
    assert_eq!(close.code, Some(1009), "{close:?}");
    app.teardown().await;
}

/// Rule 21: only data frames count toward the rate limit.
#[actix_web::test]
async fn ping_control_frames_do_not_count_toward_the_rate_limit() {
    let app = spawn_app().await;
    let mut ws = app.ws().await;
    for _ in 0..100 {
        ws.send_ping_frame();
    }
    for i in 0..30 {
        ws.send_json(&json!({"type": "ping", "client_time": i}));
    }
    ws.settle(Duration::from_millis(300)).await;
    assert!(ws.closed.is_none(), "{:?}", ws.closed);
    assert_eq!(ws.received("pong").len(), 30);
    assert!(
        ws.received("error").is_empty(),
        "{:?}",
        ws.received("error")
    );
    app.teardown().await;
}

#[actix_web::test]
async fn host_sockets_need_the_right_token_and_a_live_room() {
    let app = spawn_app().await;
    let (code, room_id, token) = app.create_room(&small_quiz()).await;
    let mut ws = app.ws().await;
    ws.send_json(&json!({"type": "host", "code": code, "host_token": "wrong"}));
    assert_eq!(ws.wait_for("error", SOON).await["code"], "invalid_token");
    let unknown = if code == "999999" { "999998" } else { "999999" };
    ws.send_json(&json!({"type": "host", "code": unknown, "host_token": token}));
    assert_eq!(ws.wait_for("error", SOON).await["code"], "room_not_found");
    // Rule 13: the host's welcome has the roster and nothing of a player's.
    let w = ws.host(&code, &token).await;
    assert_eq!(w["players"], json!([]));
    for key in ["player_id", "player_token", "nickname", "you"] {
        assert!(w.get(key).is_none(), "the host welcome has {key}: {w}");
    }
    assert_eq!(w["room"]["status"], "lobby");
    // The admin results refuse an unknown format by name.
    let err = app
        .admin_get(&format!("/api/admin/rooms/{room_id}/results?format=xml"))
        .await
        .assert_error(422, "invalid_query");
    assert_eq!(err["field"], "format");
    app.teardown().await;
}
