//! The floor: a bare tokio WebSocket server that does nothing but send one small frame to every
//! connected socket at shared deadlines, and the client that measures it. Its lateness and
//! memory are what the machine gives on the day, so quizroom's figures can be read against it
//! (issue 5's targets are "within 25 % of the floor"); docs/benchmarks.md has the method.
//!
//! The server is as plain as a hand-written one would be: a task per socket, a bounded channel
//! to it, one timer task that fires every deadline and hands the same frame to every socket.

use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_tungstenite::tungstenite::Message;

use crate::args::FloorArgs;
use crate::client::{Clock, Ws, connect, small_buffers};
use crate::server::Sampler;
use crate::stats::{Dist, summarize};

/// What the client sends on its control socket to start the rounds.
const START: &str = "start";

type Registry = Arc<Mutex<Vec<mpsc::Sender<Message>>>>;

/// `quizload floor-server`: serves until killed.
pub async fn serve(addr: &str) -> ExitCode {
    let listener = match TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("quizload floor-server: cannot listen on {addr}: {e}");
            return ExitCode::from(2);
        }
    };
    eprintln!("quizload floor-server: listening on {addr}");
    let registry: Registry = Arc::default();
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(connection(stream, registry.clone()));
            }
            // Out of file descriptors and the like: the client sees its connect fail.
            Err(e) => {
                eprintln!("quizload floor-server: accept: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn connection(stream: TcpStream, registry: Registry) {
    let _ = stream.set_nodelay(true);
    let Ok(ws) = tokio_tungstenite::accept_async_with_config(stream, Some(small_buffers())).await
    else {
        return;
    };
    let (mut sink, mut incoming) = ws.split();
    let (tx, mut rx) = mpsc::channel(16);
    registry
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(tx);
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(frame) => {
                    if sink.send(frame).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
            frame = incoming.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    if let Some((rounds, period_ms)) = parse_start(text.as_str()) {
                        tokio::spawn(fire_rounds(registry.clone(), rounds, period_ms));
                    }
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// `start ROUNDS PERIOD_MS`
fn parse_start(text: &str) -> Option<(u32, u32)> {
    let mut words = text.split_whitespace();
    if words.next()? != START {
        return None;
    }
    let rounds = words.next()?.parse().ok()?;
    let period_ms = words.next()?.parse().ok()?;
    Some((rounds, period_ms))
}

fn wall_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// One deadline every `period_ms`, on the wall clock's whole milliseconds; at each, the same
/// frame to every socket. A socket whose queue is full misses it (it would be dropped by
/// quizroom too); the client counts what arrives.
async fn fire_rounds(registry: Registry, rounds: u32, period_ms: u32) {
    let first = wall_ms() + i64::from(period_ms);
    let base = Instant::now();
    let base_ms = wall_ms();
    for round in 0..rounds {
        let deadline_at = first + i64::from(round) * i64::from(period_ms);
        let wait = u64::try_from(deadline_at - base_ms).unwrap_or(0);
        tokio::time::sleep_until((base + Duration::from_millis(wait)).into()).await;
        let frame = Message::text(format!(
            r#"{{"type":"time_up","round":{round},"deadline_at":{deadline_at},"server_time":{}}}"#,
            wall_ms()
        ));
        let mut sockets = registry.lock().unwrap_or_else(PoisonError::into_inner);
        // Sockets of earlier runs are gone: forget them, so a server serves many runs alike.
        sockets.retain(|tx| !tx.is_closed());
        for tx in sockets.iter() {
            let _ = tx.try_send(frame.clone());
        }
    }
    // Not at once: sockets closing while the last round's frames are still in flight would
    // make that round late for reasons that are not the floor's.
    tokio::time::sleep(Duration::from_millis(u64::from(period_ms))).await;
    let done = Message::text(r#"{"type":"done"}"#);
    let senders = registry
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    for tx in &senders {
        let _ = tx.send(done.clone()).await;
    }
}

/// What one socket saw: lateness of each frame on the client's clock and on the server's.
#[derive(Default)]
struct Seen {
    /// (round, client-side lateness)
    client_ms: Vec<(usize, f64)>,
    server_ms: Vec<f64>,
    frames: usize,
}

#[derive(Debug, Serialize)]
pub struct FloorSummary {
    pub connections: usize,
    pub connected: usize,
    pub rounds: u32,
    /// Frames expected (connections × rounds) and received.
    pub frames_expected: usize,
    pub frames_received: usize,
    /// Receive time minus the deadline, ms.
    pub lateness_client: Option<Dist>,
    /// The same, p99 of each round: shows whether the tail is one round or every one.
    pub lateness_client_p99_by_round: Vec<Option<f64>>,
    /// The server's `server_time` minus the deadline, ms: how late its timer fired.
    pub lateness_server: Option<Dist>,
    pub rss_before_kib: Option<u64>,
    pub rss_connected_kib: Option<u64>,
    pub rss_peak_kib: Option<u64>,
    /// (peak RSS − RSS before connecting) / connections, KiB.
    pub rss_per_connection_kib: Option<f64>,
    pub ok: bool,
}

/// `quizload floor`: connects, runs the rounds, reports.
pub async fn measure(args: FloorArgs) -> ExitCode {
    let sampler = match Sampler::start_for(args.server_pid).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("quizload floor: {e}");
            return ExitCode::from(2);
        }
    };
    let rss_before = sampler.as_ref().and_then(|s| s.sample()).map(|r| r.rss_kib);
    // The control socket starts the rounds; it gets the frames too, read and not counted.
    let (mut control, control_rx) = match connect(&args.url).await {
        Ok(ws) => ws.split(),
        Err(e) => {
            eprintln!("quizload floor: {}: {e}", args.url);
            return ExitCode::from(2);
        }
    };
    tokio::spawn(control_rx.for_each(|_| async {}));

    let clock = Arc::new(Clock::new());
    let gate = Arc::new(Semaphore::new(args.connect_concurrency));
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<bool>();
    let mut tasks = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        let (url, gate, clock, ready) = (
            args.url.clone(),
            gate.clone(),
            clock.clone(),
            ready_tx.clone(),
        );
        let timeout = Duration::from_millis(u64::from(args.period_ms) * u64::from(args.rounds))
            + Duration::from_secs(60);
        tasks.push(tokio::spawn(async move {
            let ws = {
                let _permit = gate.acquire().await;
                connect(&url).await
            };
            // Moved in and dropped here: the coordinator counts sends, not the channel's end.
            let _ = ready.send(ws.is_ok());
            drop(ready);
            match ws {
                Ok(ws) => tokio::time::timeout(timeout, listen(ws, &clock))
                    .await
                    .unwrap_or_default(),
                Err(_) => Seen::default(),
            }
        }));
    }
    drop(ready_tx);
    let mut connected = 0;
    let mut answered = 0;
    while answered < args.connections
        && let Some(ok) = ready_rx.recv().await
    {
        answered += 1;
        connected += usize::from(ok);
        if answered % 1000 == 0 {
            eprintln!("quizload floor: {connected}/{} connected", args.connections);
        }
    }
    let rss_connected = sampler.as_ref().and_then(|s| s.sample()).map(|r| r.rss_kib);
    eprintln!(
        "quizload floor: {connected}/{} connected; {} rounds {} ms apart",
        args.connections, args.rounds, args.period_ms
    );
    let start = Message::text(format!("{START} {} {}", args.rounds, args.period_ms));
    if let Err(e) = control.send(start).await {
        eprintln!("quizload floor: cannot start the rounds: {e}");
        return ExitCode::from(2);
    }

    let mut seen = Seen::default();
    for task in tasks {
        if let Ok(s) = task.await {
            seen.client_ms.extend(s.client_ms);
            seen.server_ms.extend(s.server_ms);
            seen.frames += s.frames;
        }
    }
    let _ = control.close().await;
    let rss_peak = sampler.as_ref().map(|s| {
        let _ = s.sample();
        s.peaks().0
    });
    let frames_expected = args.connections * args.rounds as usize;
    let summary = FloorSummary {
        connections: args.connections,
        connected,
        rounds: args.rounds,
        frames_expected,
        frames_received: seen.frames,
        lateness_client_p99_by_round: (0..args.rounds as usize)
            .map(|r| {
                let of_round = seen.client_ms.iter().filter(|(k, _)| *k == r);
                summarize(of_round.map(|(_, ms)| *ms).collect()).map(|d| d.p99)
            })
            .collect(),
        lateness_client: summarize(seen.client_ms.iter().map(|(_, ms)| *ms).collect()),
        lateness_server: summarize(seen.server_ms),
        rss_before_kib: rss_before,
        rss_connected_kib: rss_connected,
        rss_peak_kib: rss_peak,
        rss_per_connection_kib: rss_before
            .zip(rss_peak)
            .map(|(b, p)| p.saturating_sub(b) as f64 / args.connections as f64),
        ok: connected == args.connections && seen.frames == frames_expected,
    };
    print_summary(&summary, args.json);
    if summary.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Reads until the server says it is done (or the socket ends).
async fn listen(mut ws: Ws, clock: &Clock) -> Seen {
    let mut seen = Seen::default();
    while let Some(Ok(frame)) = ws.next().await {
        let received_us = clock.now_us();
        let Message::Text(text) = frame else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        if v["type"] == "done" {
            break;
        }
        if let (Some(deadline), Some(server)) =
            (v["deadline_at"].as_i64(), v["server_time"].as_i64())
        {
            seen.frames += 1;
            let round = v["round"].as_u64().unwrap_or(0) as usize;
            seen.client_ms
                .push((round, (received_us - deadline * 1000) as f64 / 1000.0));
            seen.server_ms.push((server - deadline) as f64);
        }
    }
    let _ = ws.close(None).await;
    seen
}

fn print_summary(s: &FloorSummary, json: bool) {
    let mut out = std::io::stdout().lock();
    let written = if json {
        serde_json::to_writer(&mut out, s)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
    } else {
        print_table(&mut out, s)
    };
    if let Err(e) = written {
        eprintln!("quizload floor: cannot write the summary: {e}");
    }
}

fn print_table(out: &mut impl Write, s: &FloorSummary) -> std::io::Result<()> {
    let dist = |d: &Option<Dist>| match d {
        Some(d) => format!(
            "p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1} ms  ({} samples)",
            d.p50, d.p90, d.p99, d.max, d.count
        ),
        None => "no samples".into(),
    };
    writeln!(
        out,
        "floor: {} of {} connected, {} of {} frames received",
        s.connected, s.connections, s.frames_received, s.frames_expected
    )?;
    writeln!(
        out,
        "lateness (receive - deadline): {}",
        dist(&s.lateness_client)
    )?;
    writeln!(
        out,
        "server timer (server_time - deadline): {}",
        dist(&s.lateness_server)
    )?;
    if let Some(per) = s.rss_per_connection_kib {
        writeln!(
            out,
            "server RSS: {} KiB before, {} connected, {} peak: {per:.1} KiB per connection",
            s.rss_before_kib.unwrap_or(0),
            s.rss_connected_kib.unwrap_or(0),
            s.rss_peak_kib.unwrap_or(0)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_command() {
        assert_eq!(parse_start("start 10 3000"), Some((10, 3000)));
        assert_eq!(parse_start("start 10"), None);
        assert_eq!(parse_start("begin 10 3000"), None);
        assert_eq!(parse_start("start x 3000"), None);
    }
}
