//! Sockets that never read: they must not slow their room down or keep their connection.

use super::*;
use crate::support::ws::SlowReader;

/// A big quiz: every `question` frame is about 5 KB (prompts and choices at their length limit,
/// in 4-byte characters), so a socket that does not read fills its buffers quickly.
fn big_quiz(questions: usize, limit_ms: u32) -> Value {
    let crab = "\u{1F980}";
    let questions: Vec<Value> = (0..questions)
        .map(|i| {
            json!({
                "prompt": format!("{i:03}{}", crab.repeat(497)),
                "choices": (0..6).map(|c| format!("{c}{}", crab.repeat(119))).collect::<Vec<_>>(),
                "correct": i % 6,
                "time_limit_ms": limit_ms,
            })
        })
        .collect();
    json!({
        "title": "Big frames",
        "questions": questions,
        "settings": {"end_when_all_answered": false, "auto_advance_ms": 500},
    })
}

/// Whether the host screen lists the player as connected (from a fresh host `welcome`).
async fn host_sees_connected(srv: &Server, room: &CreatedRoom, player_id: &str) -> bool {
    let (_host, hw) = Client::host(&srv.ws_url(), &room.code, &room.host_token).await;
    let listed = hw["players"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["player_id"] == player_id))
        .cloned()
        .unwrap_or_else(|| panic!("player {player_id} is not in the room: {hw}"));
    listed["connected"] == true
}

/// A server that makes non-readers show quickly (ticks every 50 ms, 16 frames of overflow, a
/// heartbeat every 500 ms), a room of `questions` big questions, and one player who reads.
async fn slow_client_room(
    name: &str,
    client_timeout_ms: &str,
    questions: usize,
) -> (TestDb, Server, CreatedRoom, Client) {
    let db = TestDb::create().await;
    let srv = Server::start(
        name,
        &db.url(),
        &[
            ("TICK_MS", "50"),
            ("WS_SEND_QUEUE", "16"),
            ("WS_HEARTBEAT_MS", "500"),
            ("WS_CLIENT_TIMEOUT_MS", client_timeout_ms),
        ],
    )
    .await;
    let room = srv.api().create_room(&big_quiz(questions, 500)).await;
    let (fast, _) = Client::join(&srv.ws_url(), &room.code, "fast").await;
    (db, srv, room, fast)
}

/// Players whose sockets never read cannot slow the room down or make the server's memory
/// grow: the room keeps its deadlines for the others; a non-reader that keeps the server
/// writing (Pings) is dropped once its queue of `WS_SEND_QUEUE` frames is full, a silent one
/// once it has said nothing for `WS_CLIENT_TIMEOUT_MS`; both can resume on a new socket.
#[tokio::test(flavor = "multi_thread")]
async fn clients_that_never_read_are_dropped_without_slowing_the_room() {
    let (_db, srv, room, mut fast) = slow_client_room("slow_reader", "3000", 12).await;
    let api = srv.api();
    let url = srv.ws_url();
    // Readers with long names make every leaderboard frame big too.
    let mut others = Vec::new();
    for i in 0..8 {
        let name = format!("{i}{}", "\u{1F980}".repeat(23));
        others.push(Client::join(&url, &room.code, &name).await.0);
    }
    let (pinging, _) = SlowReader::join(srv.port, &room.code, "pinging", true).await;
    let (silent, _) = SlowReader::join(srv.port, &room.code, "silent", false).await;
    let rss_start = srv.rss_kib();
    let dropped_before = api.metric("quizroom_slow_clients_dropped_total").await;
    api.control(&room, "start").await;

    let started = Instant::now();
    let mut rss = vec![rss_start];
    let (mut queue_drop, mut silent_drop) = (None, None);
    let (mut worst_late, mut worst_delivery) = (0, 0);
    for q in 0..12 {
        let question = fast.wait_for_q("question", q, SOON).await;
        let deadline = int(&question, "deadline_at");
        ack(&mut fast, q, q % 4).await;
        let time_up = fast.wait_for_q("time_up", q, SOON).await;
        let late = int(&time_up, "server_time") - deadline;
        let delivery = int(&time_up, "_recv_at") - int(&time_up, "server_time");
        assert!(
            late > 0 && late <= 300,
            "question {q}: time_up {late} ms after the deadline"
        );
        assert!(
            delivery <= 300,
            "question {q}: time_up reached the player {delivery} ms late"
        );
        worst_late = worst_late.max(late);
        worst_delivery = worst_delivery.max(delivery);
        fast.wait_for_q("reveal", q, SOON).await;
        rss.push(srv.rss_kib());
        for o in &mut others {
            o.drain_now();
            o.take_all("tick");
        }
        if queue_drop.is_none()
            && api.metric("quizroom_slow_clients_dropped_total").await > dropped_before
        {
            queue_drop = Some(started.elapsed());
        }
        if silent_drop.is_none() && !host_sees_connected(&srv, &room, &silent.player_id).await {
            silent_drop = Some(started.elapsed());
        }
        if queue_drop.is_some() && silent_drop.is_some() && q >= 5 {
            break;
        }
    }
    let rss_max = rss.iter().copied().max().unwrap_or_default();
    eprintln!(
        "non-readers: the pinging one dropped for its full queue after {queue_drop:?}, the \
         silent one after {silent_drop:?}; RSS (KiB) {rss:?}; worst time_up {worst_late} ms \
         after the deadline, delivered up to {worst_delivery} ms after it was sent"
    );
    assert!(
        queue_drop.is_some(),
        "the pinging non-reader was never dropped"
    );
    assert!(
        silent_drop.is_some(),
        "the silent non-reader was never dropped"
    );
    assert!(
        !host_sees_connected(&srv, &room, &pinging.player_id).await,
        "the host still sees the pinging non-reader as connected"
    );
    assert!(
        rss_max < rss_start + 64 * 1024,
        "RSS grew from {rss_start} KiB to {rss_max} KiB"
    );

    // Both players can come back on a new socket.
    for (reader, name) in [(&pinging, "pinging"), (&silent, "silent")] {
        let (_back, w) = Client::resume(&url, &room.code, &reader.token, name).await;
        assert_eq!(w["player_id"], reader.player_id.as_str(), "{name}: {w}");
        assert!(
            host_sees_connected(&srv, &room, &reader.player_id).await,
            "{name}"
        );
    }
    drop((pinging, silent));
    api.control(&room, "end").await;
}

// ----- 7. many games killed at random moments ----------------------------------------------

/// A socket the room dropped because its queue was full must actually be let go of: its
/// session ends (close 1013 if the client ever reads again, else within
/// `WS_CLIENT_TIMEOUT_MS` when writing it fails), so a client cannot keep a server task and
/// its buffers forever by not reading.
#[tokio::test(flavor = "multi_thread")]
async fn a_non_reader_dropped_for_its_full_queue_does_not_keep_its_connection() {
    let (_db, srv, room, mut fast) = slow_client_room("non_reader_connection", "2000", 30).await;
    let api = srv.api();
    let before = api.metric("quizroom_ws_connections").await;
    let (pinging, _) = SlowReader::join(srv.port, &room.code, "pinging", true).await;
    assert_eq!(api.metric("quizroom_ws_connections").await, before + 1.0);
    api.control(&room, "start").await;
    eventually("the room to drop the non-reader", Duration::from_secs(20), || {
        let api = api.clone();
        async move {
            (api.metric("quizroom_slow_clients_dropped_total").await > 0.0).then_some(())
        }
    })
    .await;
    let dropped_at = Instant::now();
    let released = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            fast.drain_now();
            if api.metric("quizroom_ws_connections").await <= before {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    let open = api.metric("quizroom_ws_connections").await;
    drop(pinging);
    assert!(
        released.is_ok(),
        "10 s after the room dropped it (WS_CLIENT_TIMEOUT_MS is 2000), the non-reader's \
         session is still open: quizroom_ws_connections is {open}, was {before} before it \
         joined (waited {:?})",
        dropped_at.elapsed()
    );
}
