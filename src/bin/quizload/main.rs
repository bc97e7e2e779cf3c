//! quizload: the load generator. R rooms x P players play real games against a running server
//! over REST and WebSocket; it measures join time, question delivery, answer acks, time-up
//! lateness (client side and the server's own `server_time`), throughput, lost answers and,
//! given the server's PID, its RSS and CPU. `docs/benchmarks.md` has the method and results.
//!
//! The coordinator (this file) drives the REST side in lockstep for all rooms at once; the
//! sockets live in `client`, the figures are computed in `report`.

mod args;
mod client;
mod floor;
mod report;
mod server;
mod stats;

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::future::join_all;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use uuid::Uuid;

use args::{Args, Command};
use client::{Event, HostReport, PlayerReport, PlayerSpec, RunCtx, Shared};
use server::{Mark, Sampler, ServerFigures};

fn main() -> ExitCode {
    match args::parse(std::env::args().skip(1)) {
        Ok(Command::Run(args)) => {
            let needed = args.sockets_needed() as u64 + 32;
            let sockets = args.rooms * (args.players + 1);
            match check_fd_limits(needed, sockets, args.server_pid) {
                Ok(()) => with_runtime(run(args)),
                Err(e) => fail(&e),
            }
        }
        Ok(Command::Floor(args)) => {
            let needed = args.connections as u64 + 32;
            match check_fd_limits(needed, args.connections, args.server_pid) {
                Ok(()) => with_runtime(floor::measure(args)),
                Err(e) => fail(&e),
            }
        }
        Ok(Command::FloorServer { addr }) => with_runtime(floor::serve(&addr)),
        Ok(Command::Help) => {
            let _ = std::io::stdout().lock().write_all(args::HELP.as_bytes());
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("{e} (see quizload --help)")),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("quizload: {message}");
    ExitCode::from(2)
}

fn with_runtime(work: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(work),
        Err(e) => fail(&format!("cannot start the async runtime: {e}")),
    }
}

/// Every socket is a file descriptor. Without the libc crate quizload cannot raise its own
/// limit, so the caller does (`ulimit -n 20000`) and quizload checks it here.
fn check_fd_limits(needed: u64, sockets: usize, server_pid: Option<u32>) -> Result<(), String> {
    if let Some((soft, hard)) = server::open_files_limit("self")
        && soft < needed
    {
        let hard = if hard == u64::MAX {
            "unlimited".to_owned()
        } else {
            hard.to_string()
        };
        return Err(format!(
            "this run needs about {needed} file descriptors ({sockets} WebSockets + HTTP connections) but the \
             soft limit is {soft} (hard {hard}). Raise it in this shell first: ulimit -n 20000"
        ));
    }
    if let Some(pid) = server_pid
        && let Some((soft, _)) = server::open_files_limit(&pid.to_string())
        && soft < needed
    {
        eprintln!(
            "quizload: warning: the server (pid {pid}) may open only {soft} files but will hold about {needed} \
             sockets; start it from a shell with ulimit -n 20000"
        );
    }
    Ok(())
}

/// A room quizload created.
pub struct RoomInfo {
    pub room_id: String,
    pub code: Arc<str>,
    pub host_token: String,
}

async fn run(args: Args) -> ExitCode {
    let seed = args.seed.unwrap_or_else(rand::random);
    let total = args.rooms * args.players;
    let started = Instant::now();
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared::new(
        args.rooms,
        args.players,
        args.questions,
        events_tx,
    ));
    let (abort_tx, abort_rx) = watch::channel(false);

    let sampler = match Sampler::start_for(args.server_pid).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("quizload: {e}");
            return ExitCode::from(2);
        }
    };
    let progress = tokio::spawn(progress(shared.clone(), sampler.clone(), total));

    let http = match reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(usize::MAX)
        .timeout(Duration::from_secs(120))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("quizload: cannot build the HTTP client: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = http
        .get(format!("{}/healthz", args.url))
        .send()
        .await
        .and_then(|r| r.error_for_status())
    {
        eprintln!(
            "quizload: the server at {} does not answer /healthz: {e}",
            args.url
        );
        return ExitCode::from(2);
    }

    let mark_start = sampler.as_deref().and_then(Mark::take);
    shared.set_phase(1);
    let rooms = match create_rooms(&http, &args).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("quizload: {e}");
            return ExitCode::from(2);
        }
    };

    shared.set_phase(2);
    let ctx = Arc::new(RunCtx {
        shared: shared.clone(),
        ws_url: args.ws_url(),
        mode: args.answer,
        burst_window_ms: i64::from(args.burst_window_ms),
        burst_offset_ms: i64::from(args.burst_offset()),
        connect: Arc::new(Semaphore::new(args.connect_concurrency)),
        abort: abort_rx,
    });
    let mut host_tasks = Vec::with_capacity(rooms.len());
    let mut host_ready = Vec::with_capacity(rooms.len());
    for (i, r) in rooms.iter().enumerate() {
        let (tx, rx) = oneshot::channel();
        host_tasks.push(tokio::spawn(client::host(
            ctx.clone(),
            i,
            r.code.clone(),
            r.host_token.clone(),
            tx,
        )));
        host_ready.push(rx);
    }
    for rx in host_ready {
        let _ = rx.await;
    }

    let mark_before_players = sampler.as_deref().and_then(Mark::take);
    shared.set_phase(3);
    let mut player_tasks = Vec::with_capacity(total);
    for (room, r) in rooms.iter().enumerate() {
        for i in 0..args.players {
            let spec = PlayerSpec {
                room,
                code: r.code.clone(),
                nickname: format!("p{room}-{i}"),
                seed: mix(seed ^ mix((room * args.players + i) as u64)),
            };
            player_tasks.push(tokio::spawn(client::player(ctx.clone(), spec)));
        }
    }
    let join_deadline =
        Instant::now() + Duration::from_secs(120) + Duration::from_millis(10 * total as u64);
    while shared.settled.load(Relaxed) < total && Instant::now() < join_deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let the last throttled `lobby` broadcasts (every 250 ms) go out before the clock starts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mark_after_join = sampler.as_deref().and_then(Mark::take);
    let fds_after_join = args.server_pid.and_then(server::open_fds);

    // The game, in lockstep: every room gets its start (or next) at the same moment, then
    // quizload waits until every room has revealed the question.
    shared.set_phase(4);
    let mut alive = vec![true; rooms.len()];
    let mut control = Control::default();
    let mut seen = Seen {
        revealed: vec![vec![false; args.questions]; rooms.len()],
        over: vec![false; rooms.len()],
    };
    let mark_game = sampler.as_deref().and_then(Mark::take);
    let self_wait_start = (Instant::now(), server::run_delay_ns("self"));
    for q in 0..args.questions {
        shared.current_question.store(q + 1, Relaxed);
        let action = if q == 0 { "start" } else { "next" };
        fire(&http, &args.url, &rooms, &mut alive, action, &mut control).await;
        let deadline = Instant::now()
            + Duration::from_millis(u64::from(args.time_limit_ms))
            + Duration::from_secs(30);
        let done = |s: &Seen| s.revealed.iter().zip(&alive).all(|(r, &a)| !a || r[q]);
        if !wait_for(&mut events, &shared, &mut seen, deadline, done).await {
            for (i, r) in rooms.iter().enumerate() {
                if alive[i] && !seen.revealed[i][q] {
                    control.stuck.push(format!(
                        "room {}: question {q} was not revealed (waited up to its time limit + 30 s)",
                        r.code
                    ));
                    alive[i] = false;
                }
            }
        }
    }
    shared.set_phase(5);
    fire(&http, &args.url, &rooms, &mut alive, "next", &mut control).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    if !wait_for(&mut events, &shared, &mut seen, deadline, |s| {
        s.over.iter().zip(&alive).all(|(&o, &a)| !a || o)
    })
    .await
    {
        for (i, r) in rooms.iter().enumerate() {
            if alive[i] && !seen.over[i] {
                control.stuck.push(format!(
                    "room {}: no game_over (waited up to 30 s after the last next)",
                    r.code
                ));
            }
        }
    }
    let mark_game_end = sampler.as_deref().and_then(Mark::take);
    let quizload_wait = match (self_wait_start, server::run_delay_ns("self")) {
        ((at, Some(a)), Some(b)) => Some(server::wait_ms_per_s(a, b, at.elapsed().as_secs_f64())),
        _ => None,
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while shared.tasks_done.load(Relaxed) < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = abort_tx.send(true);
    let mut players: Vec<PlayerReport> = Vec::with_capacity(total);
    for t in join_all(player_tasks).await {
        match t {
            Ok(r) => players.push(r),
            Err(e) => control.failures.push(format!("a player task failed: {e}")),
        }
    }
    let mut hosts: Vec<HostReport> = Vec::with_capacity(rooms.len());
    for t in join_all(host_tasks).await {
        match t {
            Ok(r) => hosts.push(r),
            Err(e) => control.failures.push(format!("a host task failed: {e}")),
        }
    }

    shared.set_phase(6);
    let results = check_results(&http, &args, &rooms, &players).await;
    let mark_end = sampler.as_deref().and_then(Mark::take);
    shared.set_phase(7);
    progress.abort();

    let server = sampler.as_deref().map(|s| {
        let (peak, cpu_peak, wait_peak, samples) = s.peaks();
        let joined = players.iter().filter(|p| p.join_ms.is_some()).count();
        let rss = |m: &Option<Mark>| m.map(|m| m.sample.rss_kib);
        let per_player = |top: Option<u64>| match (top, rss(&mark_before_players)) {
            (Some(top), Some(base)) if joined > 0 => {
                Some((top as f64 - base as f64) / joined as f64)
            }
            _ => None,
        };
        let cpu = |a: &Option<Mark>, b: &Option<Mark>| match (a, b) {
            (Some(a), Some(b)) => Some(server::cpu_between(a, b, s.clk_tck)),
            _ => None,
        };
        ServerFigures {
            pid: s.pid,
            fd_limit_soft: server::open_files_limit(&s.pid.to_string()).map(|l| l.0),
            open_fds_after_join: fds_after_join,
            rss_start_kib: rss(&mark_start),
            rss_before_players_kib: rss(&mark_before_players),
            rss_after_join_kib: rss(&mark_after_join),
            rss_end_kib: rss(&mark_end),
            rss_peak_kib: peak,
            hwm_end_kib: mark_end.map(|m| m.sample.hwm_kib),
            rss_per_player_kib: per_player(Some(peak)),
            rss_per_player_joined_kib: per_player(rss(&mark_after_join)),
            cpu_avg_pct: cpu(&mark_start, &mark_end),
            cpu_game_avg_pct: cpu(&mark_game, &mark_game_end),
            cpu_peak_pct: cpu_peak,
            runqueue_wait_game_ms_per_s: match (&mark_game, &mark_game_end) {
                (Some(a), Some(b)) => Some(server::wait_between(a, b)),
                _ => None,
            },
            runqueue_wait_peak_ms_per_s: wait_peak,
            samples,
        }
    });

    let summary = report::build(report::Inputs {
        args: &args,
        seed,
        rooms: &rooms,
        players: &players,
        hosts: &hosts,
        control_ms: control.latency_ms,
        control_failures: control.failures,
        stuck: control.stuck,
        results,
        server,
        quizload_wait,
        elapsed_s: started.elapsed().as_secs_f64(),
    });
    let mut out = std::io::stdout().lock();
    let written = if args.json {
        serde_json::to_writer(&mut out, &summary)
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(out))
    } else {
        report::print_table(&mut out, &summary)
    };
    if let Err(e) = written.and_then(|()| out.flush()) {
        eprintln!("quizload: cannot write the results: {e}");
        return ExitCode::from(2);
    }
    if summary.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// splitmix64: spreads a seed so that neighbouring players get unrelated streams.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Creates the rooms, 16 requests at a time.
async fn create_rooms(http: &reqwest::Client, args: &Args) -> Result<Vec<RoomInfo>, String> {
    let questions: Vec<Value> = (0..args.questions)
        .map(|q| {
            json!({
                "prompt": format!("Load question {}?", q + 1),
                "choices": ["A", "B", "C", "D"],
                "correct": q % client::CHOICES,
                "time_limit_ms": args.time_limit_ms,
                "points": 1000,
            })
        })
        .collect();
    let body = json!({
        "title": format!("quizload {} x {}", args.rooms, args.players),
        "questions": questions,
        "settings": {"max_players": args.players, "auto_advance_ms": null, "end_when_all_answered": false},
    });
    let url = format!("{}/api/rooms", args.url);
    let created: Vec<Result<RoomInfo, String>> = futures_util::stream::iter(0..args.rooms)
        .map(|_| async {
            let resp = http
                .post(&url)
                .json(&body)
                .send()
                .await
                .map_err(|e| format!("POST /api/rooms: {e}"))?;
            let status = resp.status();
            let v: Value = resp
                .json()
                .await
                .map_err(|e| format!("POST /api/rooms: {status}: {e}"))?;
            if !status.is_success() {
                let hint = if v["error"]["field"] == "settings.max_players" {
                    " (raise the server's MAX_PLAYERS_CAP)"
                } else {
                    ""
                };
                return Err(format!("POST /api/rooms: {status}: {}{hint}", v["error"]));
            }
            let s = |k: &str| {
                v[k].as_str()
                    .map(str::to_owned)
                    .ok_or(format!("POST /api/rooms: no {k} in {v}"))
            };
            Ok(RoomInfo {
                room_id: s("room_id")?,
                code: Arc::from(s("code")?),
                host_token: s("host_token")?,
            })
        })
        .buffered(16)
        .collect()
        .await;
    created.into_iter().collect()
}

#[derive(Default)]
struct Control {
    latency_ms: Vec<f64>,
    failures: Vec<String>,
    stuck: Vec<String>,
}

/// Sends one host control to every live room at once. A GET per room first fills the HTTP
/// pool, so that the controls themselves go out on open connections, all in one sweep.
async fn fire(
    http: &reqwest::Client,
    base: &str,
    rooms: &[RoomInfo],
    alive: &mut [bool],
    action: &str,
    control: &mut Control,
) {
    let live: Vec<usize> = (0..rooms.len()).filter(|&i| alive[i]).collect();
    join_all(live.iter().map(|&i| {
        http.get(format!("{base}/api/rooms/{}", rooms[i].code))
            .send()
    }))
    .await;
    let results = join_all(live.iter().map(|&i| {
        let r = &rooms[i];
        async move {
            let t = Instant::now();
            let resp = http
                .post(format!("{base}/api/rooms/{}/{action}", r.code))
                .bearer_auth(&r.host_token)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            let status = resp.status();
            if status.is_success() {
                Ok(ms)
            } else {
                Err(format!(
                    "{status} {}",
                    resp.text().await.unwrap_or_default()
                ))
            }
        }
    }))
    .await;
    for (&i, res) in live.iter().zip(results) {
        match res {
            Ok(ms) => control.latency_ms.push(ms),
            Err(e) => {
                control
                    .failures
                    .push(format!("room {}: POST {action}: {e}", rooms[i].code));
                alive[i] = false;
            }
        }
    }
}

struct Seen {
    revealed: Vec<Vec<bool>>,
    over: Vec<bool>,
}

/// Takes socket events until `done` holds or the deadline passes; false on the deadline.
async fn wait_for(
    events: &mut mpsc::UnboundedReceiver<Event>,
    shared: &Shared,
    seen: &mut Seen,
    deadline: Instant,
    done: impl Fn(&Seen) -> bool,
) -> bool {
    loop {
        if done(seen) {
            return true;
        }
        let poll = deadline.min(Instant::now() + Duration::from_millis(250));
        match tokio::time::timeout_at(poll.into(), events.recv()).await {
            Ok(Some(Event::Revealed { room, question })) => {
                if let Some(slot) = seen
                    .revealed
                    .get_mut(room)
                    .and_then(|r| r.get_mut(question))
                {
                    *slot = true;
                }
            }
            Ok(Some(Event::GameOver { room })) => {
                if let Some(slot) = seen.over.get_mut(room) {
                    *slot = true;
                }
            }
            Ok(None) => return done(seen),
            // Nothing can come once every socket has ended (the server went away).
            Err(_) if Instant::now() >= deadline || shared.all_sockets_closed() => {
                return done(seen);
            }
            Err(_) => {}
        }
    }
}

/// The lost-answer check: every acknowledged (player, question, choice, received_at) must be
/// in the room's results.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct ResultsCheck {
    pub rooms_checked: usize,
    pub failures: Vec<String>,
    /// Acknowledged answers missing from `GET /api/rooms/{code}/results`.
    pub lost: usize,
    /// The same check through the admin route, when `--admin-token` is given.
    pub lost_admin: Option<usize>,
    /// Answers in the results that quizload never saw acknowledged.
    pub stored_without_ack: usize,
}

type AnswerKey = (usize, i64, i64);

/// A results body, or why it could not be read.
type Fetched = Result<Value, String>;

/// player id -> its answers as (question, choice, received_at).
fn answers_in(results: &Value) -> HashMap<Uuid, Vec<AnswerKey>> {
    let mut map = HashMap::new();
    for p in results["players"].as_array().into_iter().flatten() {
        let Some(id) = p["player_id"]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
        else {
            continue;
        };
        let answers = p["answers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| {
                Some((
                    a["question"].as_u64()? as usize,
                    a["choice"].as_i64()?,
                    a["received_at"].as_i64()?,
                ))
            })
            .collect();
        map.insert(id, answers);
    }
    map
}

/// (lost, stored without ack) of one room's players against its results.
fn compare(players: &[&PlayerReport], stored: &HashMap<Uuid, Vec<AnswerKey>>) -> (usize, usize) {
    let (mut lost, mut extra) = (0, 0);
    for p in players {
        let Some(id) = p.player_id else { continue };
        let theirs = stored.get(&id).map(Vec::as_slice).unwrap_or_default();
        for (q, r) in p.q.iter().enumerate() {
            if r.ack_us.is_some() && !theirs.contains(&(q, r.ack_choice, r.ack_received_at)) {
                lost += 1;
            }
        }
        extra += theirs
            .iter()
            .filter(|(q, _, _)| p.q.get(*q).is_none_or(|r| r.ack_us.is_none()))
            .count();
    }
    (lost, extra)
}

async fn check_results(
    http: &reqwest::Client,
    args: &Args,
    rooms: &[RoomInfo],
    players: &[PlayerReport],
) -> ResultsCheck {
    let mut by_room: Vec<Vec<&PlayerReport>> = vec![Vec::new(); rooms.len()];
    for p in players {
        if let Some(v) = by_room.get_mut(p.room) {
            v.push(p);
        }
    }
    let get = |url: String, token: String| async move {
        let resp = http
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(format!("GET {url}: {status}"));
        }
        resp.json::<Value>()
            .await
            .map_err(|e| format!("GET {url}: {e}"))
    };
    let fetched: Vec<(usize, Fetched, Option<Fetched>)> =
        futures_util::stream::iter(rooms.iter().enumerate())
            .map(|(i, r)| async move {
                let host = get(
                    format!("{}/api/rooms/{}/results", args.url, r.code),
                    r.host_token.clone(),
                )
                .await;
                let admin = match &args.admin_token {
                    Some(t) => Some(
                        get(
                            format!("{}/api/admin/rooms/{}/results", args.url, r.room_id),
                            t.clone(),
                        )
                        .await,
                    ),
                    None => None,
                };
                (i, host, admin)
            })
            .buffer_unordered(8)
            .collect()
            .await;
    let mut check = ResultsCheck {
        lost_admin: args.admin_token.as_ref().map(|_| 0),
        ..ResultsCheck::default()
    };
    for (i, host, admin) in fetched {
        match host {
            Ok(v) => {
                let (lost, extra) = compare(&by_room[i], &answers_in(&v));
                check.rooms_checked += 1;
                check.lost += lost;
                check.stored_without_ack += extra;
            }
            Err(e) => check.failures.push(e),
        }
        match admin {
            Some(Ok(v)) => {
                let (lost, _) = compare(&by_room[i], &answers_in(&v));
                check.lost_admin = check.lost_admin.map(|n| n + lost);
            }
            Some(Err(e)) => check.failures.push(e),
            None => {}
        }
    }
    check
}

/// One line on stderr every second.
async fn progress(shared: Arc<Shared>, sampler: Option<Arc<Sampler>>, total: usize) {
    let started = Instant::now();
    let mut every = tokio::time::interval(Duration::from_secs(1));
    every.tick().await;
    loop {
        every.tick().await;
        let phase = client::PHASES
            .get(usize::from(shared.phase.load(Relaxed)))
            .copied()
            .unwrap_or("?");
        let q = shared.current_question.load(Relaxed);
        let question = if q > 0 {
            format!(" question {} of 0..{}", q - 1, shared.questions - 1)
        } else {
            String::new()
        };
        let server = match sampler.as_deref().map(Sampler::current) {
            Some((_, _, true)) => " | server gone".to_owned(),
            Some((rss, cpu, false)) => {
                format!(" | server {:.1} MiB {cpu:.0}% cpu", rss as f64 / 1024.0)
            }
            None => String::new(),
        };
        eprintln!(
            "[{:7.1}s] {phase}{question} | connected {}/{total} joined {} failed {} dropped {} | sent {} acked {} rejected {}{server}",
            started.elapsed().as_secs_f64(),
            shared.connected.load(Relaxed),
            shared.joined.load(Relaxed),
            shared.join_failed.load(Relaxed),
            shared.dropped.load(Relaxed),
            shared.sent.load(Relaxed),
            shared.acked.load(Relaxed),
            shared.rejected.load(Relaxed),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_comparison_counts_lost_and_unacked() {
        let id = Uuid::new_v4();
        let mut p = PlayerReport {
            room: 0,
            player_id: Some(id),
            connect_ms: None,
            join_ms: None,
            rtt_ms: None,
            offset_us: 0,
            join_failure: None,
            dropped: None,
            game_over: true,
            errors: Vec::new(),
            out_of_order: 0,
            q: vec![client::QRec::default(); 3],
        };
        for (q, r) in p.q.iter_mut().enumerate().take(2) {
            r.ack_us = Some(1);
            r.ack_choice = 2;
            r.ack_received_at = 1000 + q as i64;
        }
        let results = json!({"players": [{"player_id": id.to_string(), "answers": [
            {"question": 0, "choice": 2, "received_at": 1000},
            {"question": 1, "choice": 2, "received_at": 9999},
            {"question": 2, "choice": 0, "received_at": 1002},
        ]}]});
        // Question 1 is stored with another received_at: lost. Question 2 was never acked.
        assert_eq!(compare(&[&p], &answers_in(&results)), (1, 1));
        assert_eq!(compare(&[&p], &HashMap::new()), (2, 0));
    }

    #[test]
    fn mixing_spreads_neighbours() {
        assert_ne!(mix(1), mix(2));
        assert_ne!(mix(0), 0);
    }
}
