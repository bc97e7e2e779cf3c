//! The WebSocket side: one task per player and one per host screen. Each task records when
//! things happened on its own socket; the coordinator only reads shared counters while it runs
//! and the records once the tasks end.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

use crate::args::AnswerMode;

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Choices per question in the quizzes quizload creates.
pub const CHOICES: usize = 4;
/// Longest wait for a connect + join + welcome, or for a host's welcome.
const JOIN_TIMEOUT: Duration = Duration::from_secs(60);

/// Wall-clock microseconds derived from one monotonic clock: differences between two readings
/// are monotonic, and the absolute value is the system clock at start (the server's clock on
/// the same machine, up to the offset measured with `ping`).
pub struct Clock {
    base: Instant,
    base_wall_us: i64,
}

impl Clock {
    pub fn new() -> Clock {
        let base = Instant::now();
        let base_wall_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64);
        Clock { base, base_wall_us }
    }

    pub fn now_us(&self) -> i64 {
        self.base_wall_us + self.base.elapsed().as_micros() as i64
    }

    /// The monotonic instant at which the clock reads `wall_us` (now-ish if that is past).
    pub fn instant_at(&self, wall_us: i64) -> Instant {
        let d = wall_us - self.base_wall_us;
        if d <= 0 {
            self.base
        } else {
            self.base + Duration::from_micros(d as u64)
        }
    }
}

/// What the coordinator hears from the sockets: the first observer of a room's event tells.
#[derive(Debug, Clone, Copy)]
pub enum Event {
    Revealed { room: usize, question: usize },
    GameOver { room: usize },
}

pub const PHASES: [&str; 8] = [
    "starting",
    "creating rooms",
    "host sockets",
    "joining",
    "playing",
    "finishing",
    "checking results",
    "done",
];

/// Counters for the progress line, and the flags that pick the first observer of an event.
pub struct Shared {
    pub clock: Clock,
    pub questions: usize,
    pub phase: AtomicU8,
    pub current_question: AtomicUsize,
    pub connected: AtomicUsize,
    pub joined: AtomicUsize,
    pub join_failed: AtomicUsize,
    pub dropped: AtomicUsize,
    pub sent: AtomicUsize,
    pub acked: AtomicUsize,
    pub rejected: AtomicUsize,
    pub tasks_done: AtomicUsize,
    pub hosts_done: AtomicUsize,
    pub rooms: usize,
    pub players: usize,
    /// Players that are ready (welcome and pong) or gave up before that: each counts once.
    pub settled: AtomicUsize,
    /// Per question, the common burst instant (server clock, µs); `i64::MIN` until set.
    pub burst_at: Vec<AtomicI64>,
    /// (round trip, offset) of the ping with the shortest round trip so far, µs.
    best_ping: Mutex<Option<(i64, i64)>>,
    revealed: Vec<AtomicBool>,
    game_over: Vec<AtomicBool>,
    events: mpsc::UnboundedSender<Event>,
}

impl Shared {
    /// Records one socket's ping; the shortest round trip's offset is the one every socket
    /// plans with (all share this process's clock; a slow ping's estimate is off by up to half
    /// its round trip, 45 ms under load).
    pub fn note_ping(&self, rtt_us: i64, offset_us: i64) {
        let mut best = self
            .best_ping
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if best.is_none_or(|(rtt, _)| rtt_us < rtt) {
            *best = Some((rtt_us, offset_us));
        }
    }

    /// Server clock minus client clock, µs, from the best ping so far (0 before any).
    pub fn offset_us(&self) -> i64 {
        self.best_ping
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map_or(0, |(_, offset)| offset)
    }

    pub fn new(
        rooms: usize,
        players: usize,
        questions: usize,
        events: mpsc::UnboundedSender<Event>,
    ) -> Shared {
        Shared {
            clock: Clock::new(),
            questions,
            phase: AtomicU8::new(0),
            current_question: AtomicUsize::new(0),
            connected: AtomicUsize::new(0),
            joined: AtomicUsize::new(0),
            join_failed: AtomicUsize::new(0),
            dropped: AtomicUsize::new(0),
            sent: AtomicUsize::new(0),
            acked: AtomicUsize::new(0),
            rejected: AtomicUsize::new(0),
            tasks_done: AtomicUsize::new(0),
            hosts_done: AtomicUsize::new(0),
            rooms,
            players: rooms * players,
            settled: AtomicUsize::new(0),
            burst_at: (0..questions).map(|_| AtomicI64::new(i64::MIN)).collect(),
            best_ping: Mutex::new(None),
            revealed: (0..rooms * questions)
                .map(|_| AtomicBool::new(false))
                .collect(),
            game_over: (0..rooms).map(|_| AtomicBool::new(false)).collect(),
            events,
        }
    }

    /// Every socket task has ended: no event can come any more.
    pub fn all_sockets_closed(&self) -> bool {
        self.tasks_done.load(Relaxed) >= self.players && self.hosts_done.load(Relaxed) >= self.rooms
    }

    pub fn set_phase(&self, phase: usize) {
        self.phase.store(phase as u8, Relaxed);
    }

    fn note_reveal(&self, room: usize, question: usize) {
        if let Some(flag) = self.revealed.get(room * self.questions + question)
            && !flag.swap(true, Relaxed)
        {
            let _ = self.events.send(Event::Revealed { room, question });
        }
    }

    fn note_game_over(&self, room: usize) {
        if let Some(flag) = self.game_over.get(room)
            && !flag.swap(true, Relaxed)
        {
            let _ = self.events.send(Event::GameOver { room });
        }
    }
}

/// What every socket task needs.
pub struct RunCtx {
    pub shared: Arc<Shared>,
    pub ws_url: String,
    pub mode: AnswerMode,
    pub burst_window_ms: i64,
    pub burst_offset_ms: i64,
    pub connect: Arc<Semaphore>,
    pub abort: watch::Receiver<bool>,
}

/// The fields quizload reads from server messages; everything else is skipped.
#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    question: Option<i64>,
    started_at: Option<i64>,
    deadline_at: Option<i64>,
    server_time: Option<i64>,
    received_at: Option<i64>,
    choice: Option<i64>,
    answered: Option<i64>,
    player_id: Option<Uuid>,
    #[serde(borrow)]
    reason: Option<Cow<'a, str>>,
    #[serde(borrow)]
    code: Option<Cow<'a, str>>,
}

impl Incoming<'_> {
    fn index(&self, questions: usize) -> Option<usize> {
        self.question
            .and_then(|q| usize::try_from(q).ok())
            .filter(|&q| q < questions)
    }
}

/// Small buffers: tungstenite's defaults (128 KiB each way) would cost GiBs at 19,000 sockets;
/// write_buffer_size 0 writes every frame at once. Also the floor server's (issue 5's
/// reference has a 4 KiB read buffer).
pub fn small_buffers() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
}

/// Opens a WebSocket with small buffers and Nagle off.
pub async fn connect(url: &str) -> Result<Ws, String> {
    let (ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(small_buffers()), true)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    Ok(ws)
}

fn close_text(frame: Option<&tokio_tungstenite::tungstenite::protocol::CloseFrame>) -> String {
    match frame {
        Some(f) => format!(
            "closed by the server: {} {}",
            u16::from(f.code),
            f.reason.as_str()
        ),
        None => "closed by the server".into(),
    }
}

/// One question as one player saw it. Times are client clock µs; server instants are ms.
#[derive(Debug, Clone, Default)]
pub struct QRec {
    pub question_recv_us: Option<i64>,
    pub question_server_time: i64,
    pub started_at: i64,
    pub deadline_at: i64,
    pub sent_us: Option<i64>,
    pub choice: usize,
    /// The answer was planned but time_up came first.
    pub missed: bool,
    pub ack_us: Option<i64>,
    pub ack_received_at: i64,
    pub ack_choice: i64,
    pub rejected: Option<String>,
    pub time_up_us: Option<i64>,
    pub time_up_server: i64,
    pub time_up_reason: Option<String>,
    pub reveal_us: Option<i64>,
    pub ack_after_reveal: bool,
}

#[derive(Debug, Clone)]
pub struct PlayerReport {
    pub room: usize,
    pub player_id: Option<Uuid>,
    pub connect_ms: Option<f64>,
    pub join_ms: Option<f64>,
    pub rtt_ms: Option<f64>,
    /// Server clock minus client clock, µs (from one ping).
    pub offset_us: i64,
    /// Why the player never joined.
    pub join_failure: Option<String>,
    /// Why the socket ended before game_over.
    pub dropped: Option<String>,
    pub game_over: bool,
    /// `error` codes received.
    pub errors: Vec<String>,
    /// Messages out of the protocol's order: a `reveal` before its `time_up`, a `leaderboard`
    /// before the open question's `reveal`.
    pub out_of_order: usize,
    pub q: Vec<QRec>,
}

pub struct PlayerSpec {
    pub room: usize,
    pub code: Arc<str>,
    pub nickname: String,
    pub seed: u64,
}

enum Flow {
    Continue,
    Done,
}

/// One player: connect, join, ping, then answer every question until game_over.
pub async fn player(ctx: Arc<RunCtx>, spec: PlayerSpec) -> PlayerReport {
    let questions = ctx.shared.questions;
    let mut rep = PlayerReport {
        room: spec.room,
        player_id: None,
        connect_ms: None,
        join_ms: None,
        rtt_ms: None,
        offset_us: 0,
        join_failure: None,
        dropped: None,
        game_over: false,
        errors: Vec::new(),
        out_of_order: 0,
        q: vec![QRec::default(); questions],
    };
    let sh = ctx.shared.clone();
    match join(&ctx, &spec, &mut rep).await {
        Ok(ws) => {
            play(&ctx, &spec, &mut rep, ws).await;
            if rep.dropped.is_some() {
                sh.dropped.fetch_add(1, Relaxed);
            }
        }
        Err(e) => {
            rep.join_failure = Some(e);
            sh.join_failed.fetch_add(1, Relaxed);
            sh.settled.fetch_add(1, Relaxed);
        }
    }
    sh.tasks_done.fetch_add(1, Relaxed);
    rep
}

async fn join(ctx: &RunCtx, spec: &PlayerSpec, rep: &mut PlayerReport) -> Result<Ws, String> {
    let clock = &ctx.shared.clock;
    let _permit = ctx
        .connect
        .acquire()
        .await
        .map_err(|_| "aborted".to_owned())?;
    let t0 = clock.now_us();
    let mut ws = tokio::time::timeout(JOIN_TIMEOUT, connect(&ctx.ws_url))
        .await
        .map_err(|_| "connect timed out")??;
    rep.connect_ms = Some((clock.now_us() - t0) as f64 / 1000.0);
    ctx.shared.connected.fetch_add(1, Relaxed);
    let hello =
        serde_json::json!({"type": "join", "code": &*spec.code, "nickname": &spec.nickname});
    ws.send(Message::text(hello.to_string()))
        .await
        .map_err(|e| format!("send join: {e}"))?;
    let welcome = async {
        while let Some(msg) = ws.next().await {
            match msg {
                Ok(Message::Text(t)) => {
                    let Ok(m) = serde_json::from_str::<Incoming>(t.as_str()) else {
                        continue;
                    };
                    match m.kind.as_ref() {
                        "welcome" => return Ok(m.player_id),
                        "error" => {
                            return Err(format!(
                                "join: error {}",
                                m.code.as_deref().unwrap_or("?")
                            ));
                        }
                        _ => {}
                    }
                }
                Ok(Message::Close(f)) => return Err(close_text(f.as_ref())),
                Ok(_) => {}
                Err(e) => return Err(format!("socket error while joining: {e}")),
            }
        }
        Err("closed while joining".to_owned())
    };
    let player_id = tokio::time::timeout(JOIN_TIMEOUT, welcome)
        .await
        .map_err(|_| "no welcome in time")??;
    rep.join_ms = Some((clock.now_us() - t0) as f64 / 1000.0);
    rep.player_id = player_id;
    Ok(ws)
}

/// A planned answer.
struct Plan {
    question: usize,
    choice: usize,
    at: Instant,
}

async fn play(ctx: &RunCtx, spec: &PlayerSpec, rep: &mut PlayerReport, mut ws: Ws) {
    let sh = &ctx.shared;
    let clock = &sh.clock;
    let mut rng = SmallRng::seed_from_u64(spec.seed);
    let mut abort = ctx.abort.clone();
    let ping_sent = clock.now_us();
    let ping = format!(r#"{{"type":"ping","client_time":{}}}"#, ping_sent / 1000);
    if let Err(e) = ws.send(Message::text(ping)).await {
        rep.dropped = Some(format!("send ping: {e}"));
        return;
    }
    let mut ready = false;
    let mut plan: Option<Plan> = None;
    loop {
        let due = plan.as_ref().map(|p| p.at);
        let timer = async {
            match due {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = abort.changed() => {
                rep.dropped = Some("aborted: the run timed out".into());
                break;
            }
            () = timer => {
                let Some(p) = plan.take() else { continue };
                let text = format!(r#"{{"type":"answer","question":{},"choice":{}}}"#, p.question, p.choice);
                let now = clock.now_us();
                if let Err(e) = ws.send(Message::text(text)).await {
                    rep.dropped = Some(format!("send answer: {e}"));
                    break;
                }
                if let Some(r) = rep.q.get_mut(p.question) {
                    r.sent_us = Some(now);
                    r.choice = p.choice;
                }
                sh.sent.fetch_add(1, Relaxed);
            }
            msg = ws.next() => {
                let now = clock.now_us();
                match msg {
                    Some(Ok(Message::Text(t))) => {
                        let Ok(m) = serde_json::from_str::<Incoming>(t.as_str()) else {
                            rep.errors.push("unparsable server message".into());
                            continue;
                        };
                        if m.kind == "pong" && !ready {
                            ready = true;
                            rep.rtt_ms = Some((now - ping_sent) as f64 / 1000.0);
                            // server_time is whole ms, truncated: its middle is +500 µs.
                            let server_us = m.server_time.unwrap_or(0) * 1000 + 500;
                            rep.offset_us = server_us - (ping_sent + now) / 2;
                            sh.note_ping(now - ping_sent, rep.offset_us);
                            sh.joined.fetch_add(1, Relaxed);
                            sh.settled.fetch_add(1, Relaxed);
                            continue;
                        }
                        if let Flow::Done = on_message(ctx, spec, rep, &m, now, &mut plan, &mut rng) {
                            break;
                        }
                    }
                    Some(Ok(Message::Close(f))) => {
                        rep.dropped = Some(close_text(f.as_ref()));
                        break;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        rep.dropped = Some(format!("socket error: {e}"));
                        break;
                    }
                    None => {
                        rep.dropped = Some("socket closed by the server".into());
                        break;
                    }
                }
            }
        }
    }
    if !ready {
        sh.settled.fetch_add(1, Relaxed);
    }
    if rep.game_over {
        let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
    }
}

fn on_message(
    ctx: &RunCtx,
    spec: &PlayerSpec,
    rep: &mut PlayerReport,
    m: &Incoming,
    now: i64,
    plan: &mut Option<Plan>,
    rng: &mut SmallRng,
) -> Flow {
    let sh = &ctx.shared;
    let qi = m.index(sh.questions);
    match m.kind.as_ref() {
        "question" => {
            let Some(q) = qi else { return Flow::Continue };
            let (started_at, deadline_at) = (m.started_at.unwrap_or(0), m.deadline_at.unwrap_or(0));
            let r = &mut rep.q[q];
            r.question_recv_us = Some(now);
            r.question_server_time = m.server_time.unwrap_or(0);
            r.started_at = started_at;
            r.deadline_at = deadline_at;
            let limit_ms = deadline_at - started_at;
            // The answer's moment on the server clock, µs.
            let target = match ctx.mode {
                AnswerMode::Random => {
                    let guard_ms = (limit_ms / 20).max(50);
                    let window_us = (limit_ms - guard_ms).max(0) * 1000;
                    started_at * 1000 + rng.random_range(0..=window_us)
                }
                AnswerMode::Burst => {
                    let mine = (started_at + ctx.burst_offset_ms) * 1000;
                    let common =
                        match sh.burst_at[q].compare_exchange(i64::MIN, mine, Relaxed, Relaxed) {
                            Ok(_) => mine,
                            Err(set) => set,
                        };
                    common + rng.random_range(0..=ctx.burst_window_ms * 1000)
                }
            };
            let target = target.min(deadline_at * 1000 - 20_000);
            // Every player has its pong before the start, so this is the best of them all.
            let at = sh.clock.instant_at(target - sh.offset_us());
            *plan = Some(Plan {
                question: q,
                choice: rng.random_range(0..CHOICES),
                at,
            });
        }
        "answer_ack" => {
            if let Some(q) = qi {
                let r = &mut rep.q[q];
                r.ack_us = Some(now);
                r.ack_received_at = m.received_at.unwrap_or(0);
                r.ack_choice = m.choice.unwrap_or(-1);
                r.ack_after_reveal = r.reveal_us.is_some();
                sh.acked.fetch_add(1, Relaxed);
            }
        }
        "answer_rejected" => {
            if let Some(q) = qi {
                rep.q[q].rejected = Some(m.reason.as_deref().unwrap_or("?").to_owned());
            }
            sh.rejected.fetch_add(1, Relaxed);
        }
        "time_up" => {
            if let Some(q) = qi {
                let r = &mut rep.q[q];
                r.time_up_us = Some(now);
                r.time_up_server = m.server_time.unwrap_or(0);
                r.time_up_reason = m.reason.as_deref().map(str::to_owned);
                if plan.as_ref().is_some_and(|p| p.question == q) {
                    *plan = None;
                    r.missed = true;
                }
            }
        }
        "reveal" => {
            if let Some(q) = qi {
                if rep.q[q].time_up_us.is_none() {
                    rep.out_of_order += 1;
                }
                rep.q[q].reveal_us = Some(now);
                sh.note_reveal(spec.room, q);
            }
        }
        "leaderboard" => {
            // It follows the reveal of the latest question this player was shown.
            let latest = rep.q.iter().rposition(|r| r.question_recv_us.is_some());
            if latest.is_some_and(|q| rep.q[q].reveal_us.is_none()) {
                rep.out_of_order += 1;
            }
        }
        "game_over" => {
            rep.game_over = true;
            sh.note_game_over(spec.room);
            return Flow::Done;
        }
        "error" => rep.errors.push(m.code.as_deref().unwrap_or("?").to_owned()),
        _ => {}
    }
    Flow::Continue
}

/// One question as the host screen saw it.
#[derive(Debug, Clone, Default)]
pub struct HostQ {
    pub started_at: Option<i64>,
    pub deadline_at: Option<i64>,
    pub time_up_server: Option<i64>,
    pub time_up_reason: Option<String>,
    pub reveal_answered: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct HostReport {
    pub room: usize,
    pub failure: Option<String>,
    pub game_over: bool,
    pub player_joined_msgs: usize,
    pub progress_msgs: usize,
    pub q: Vec<HostQ>,
}

/// A host screen: observes the room's questions, time-ups and reveals.
pub async fn host(
    ctx: Arc<RunCtx>,
    room: usize,
    code: Arc<str>,
    token: String,
    ready: tokio::sync::oneshot::Sender<Result<(), String>>,
) -> HostReport {
    let shared = ctx.shared.clone();
    let rep = host_socket(ctx, room, code, token, ready).await;
    shared.hosts_done.fetch_add(1, Relaxed);
    rep
}

async fn host_socket(
    ctx: Arc<RunCtx>,
    room: usize,
    code: Arc<str>,
    token: String,
    ready: tokio::sync::oneshot::Sender<Result<(), String>>,
) -> HostReport {
    let sh = ctx.shared.clone();
    let mut rep = HostReport {
        room,
        failure: None,
        game_over: false,
        player_joined_msgs: 0,
        progress_msgs: 0,
        q: vec![HostQ::default(); sh.questions],
    };
    let permit = ctx.connect.acquire().await;
    let opened = async {
        let mut ws = connect(&ctx.ws_url).await?;
        let hello = serde_json::json!({"type": "host", "code": &*code, "host_token": token});
        ws.send(Message::text(hello.to_string()))
            .await
            .map_err(|e| format!("send host: {e}"))?;
        while let Some(msg) = ws.next().await {
            match msg {
                Ok(Message::Text(t)) => match serde_json::from_str::<Incoming>(t.as_str()) {
                    Ok(m) if m.kind == "welcome" => return Ok(ws),
                    Ok(m) if m.kind == "error" => {
                        return Err(format!("host: error {}", m.code.as_deref().unwrap_or("?")));
                    }
                    _ => {}
                },
                Ok(Message::Close(f)) => return Err(close_text(f.as_ref())),
                Ok(_) => {}
                Err(e) => return Err(format!("socket error: {e}")),
            }
        }
        Err("closed before welcome".to_owned())
    };
    let opened = tokio::time::timeout(JOIN_TIMEOUT, opened).await;
    drop(permit);
    let mut ws = match opened {
        Ok(Ok(ws)) => {
            let _ = ready.send(Ok(()));
            ws
        }
        Ok(Err(e)) => {
            let _ = ready.send(Err(e.clone()));
            rep.failure = Some(e);
            return rep;
        }
        Err(_) => {
            let e = "host: no welcome in time".to_owned();
            let _ = ready.send(Err(e.clone()));
            rep.failure = Some(e);
            return rep;
        }
    };
    let mut abort = ctx.abort.clone();
    loop {
        tokio::select! {
            _ = abort.changed() => {
                rep.failure.get_or_insert_with(|| "aborted: the run timed out".into());
                break;
            }
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    let Ok(m) = serde_json::from_str::<Incoming>(t.as_str()) else { continue };
                    let q = m.index(sh.questions);
                    match (m.kind.as_ref(), q) {
                        ("player_joined", _) => rep.player_joined_msgs += 1,
                        ("answers_progress", _) => rep.progress_msgs += 1,
                        ("question", Some(q)) => {
                            rep.q[q].started_at = m.started_at;
                            rep.q[q].deadline_at = m.deadline_at;
                        }
                        ("time_up", Some(q)) => {
                            rep.q[q].time_up_server = m.server_time;
                            rep.q[q].time_up_reason = m.reason.as_deref().map(str::to_owned);
                        }
                        ("reveal", Some(q)) => {
                            rep.q[q].reveal_answered = m.answered;
                            sh.note_reveal(room, q);
                        }
                        ("game_over", _) => {
                            rep.game_over = true;
                            sh.note_game_over(room);
                            break;
                        }
                        _ => {}
                    }
                }
                Some(Ok(Message::Close(f))) => {
                    rep.failure = Some(close_text(f.as_ref()));
                    break;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    rep.failure = Some(format!("socket error: {e}"));
                    break;
                }
                None => {
                    rep.failure = Some("socket closed by the server".into());
                    break;
                }
            }
        }
    }
    if rep.game_over {
        let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
    }
    rep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_planned_with_the_offset_of_the_shortest_ping() {
        let (events, _rx) = mpsc::unbounded_channel();
        let sh = Shared::new(1, 3, 1, events);
        assert_eq!(
            sh.offset_us(),
            0,
            "no ping yet: the clocks are taken as equal"
        );
        sh.note_ping(900, -400);
        sh.note_ping(90_000, 45_000); // a slow ping under load: its estimate is far off
        sh.note_ping(300, 100);
        sh.note_ping(300, 7_000); // no shorter: the first one of that length stays
        assert_eq!(sh.offset_us(), 100);
    }
}
