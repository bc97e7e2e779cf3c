//! The `quizload` binary end to end: it plays real games against a real quizroom server (in
//! this process, on its own fresh database) and its `--json` summary must say that everything
//! went right; the figures it reports are checked against what the run must have produced and
//! against the server's database. Bad arguments and an unreachable server exit with status 2.

// A test's job is to panic with a clear message when something is off.
#![allow(clippy::expect_used)]

mod common;

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::{TestApp, spawn_app};
use serde_json::{Value, json};

const QUIZLOAD: &str = env!("CARGO_BIN_EXE_quizload");

/// Longest a small run may take before the test gives up on it (and kills it).
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// The figures of one run, as passed on the command line.
struct Run {
    rooms: u64,
    players: u64,
    questions: u64,
    time_limit_ms: u64,
    seed: u64,
    /// `--answer burst --burst-window-ms W` when set.
    burst_window_ms: Option<u64>,
}

impl Run {
    fn args(&self, app: &TestApp) -> Vec<String> {
        let mut args: Vec<String> = [
            "--url",
            &app.base_url,
            "--rooms",
            &self.rooms.to_string(),
            "--players",
            &self.players.to_string(),
            "--questions",
            &self.questions.to_string(),
            "--time-limit-ms",
            &self.time_limit_ms.to_string(),
            "--connect-concurrency",
            "10",
            "--seed",
            &self.seed.to_string(),
            "--admin-token",
            &app.admin_token,
            // The server runs in this process: quizload samples it here.
            "--server-pid",
            &std::process::id().to_string(),
            "--json",
        ]
        .map(str::to_owned)
        .to_vec();
        if let Some(w) = self.burst_window_ms {
            args.extend(
                ["--answer", "burst", "--burst-window-ms", &w.to_string()].map(str::to_owned),
            );
        }
        args
    }
}

/// Runs quizload to its end without blocking the server's runtime (the server lives on this
/// test's thread). Dropping the child on timeout kills it.
async fn quizload(args: &[String]) -> Output {
    let child = tokio::process::Command::new(QUIZLOAD)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the quizload binary");
    tokio::time::timeout(RUN_LIMIT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("quizload {args:?} did not finish within {RUN_LIMIT:?}"))
        .expect("wait for quizload")
}

/// Runs quizload against the app; asserts exit status 0 and that stdout is one JSON object
/// (progress goes to stderr), and returns it.
async fn run_ok(app: &TestApp, run: &Run) -> Value {
    let args = run.args(app);
    let started = Instant::now();
    let out = quizload(&args).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!(
        "quizload ran {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        args.join(" ")
    );
    let summary = summary_of(&out);
    // Progress lines only: no error and no warning (they start with "quizload:").
    assert!(
        !stderr.contains("quizload:"),
        "quizload complained on stderr:\n{stderr}"
    );
    summary
}

/// Asserts that quizload exited 0 with one JSON object on stdout, and returns that object.
fn summary_of(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "quizload failed ({}).\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("stdout is not one JSON object ({e}):\n{stdout}\nstderr:\n{stderr}")
    })
}

/// A port nothing listened on a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn at<'a>(s: &'a Value, ptr: &str) -> &'a Value {
    s.pointer(ptr)
        .unwrap_or_else(|| panic!("no {ptr} in the summary: {s}"))
}

fn uint(s: &Value, ptr: &str) -> u64 {
    at(s, ptr)
        .as_u64()
        .unwrap_or_else(|| panic!("{ptr} is not a count in the summary: {s}"))
}

fn float(s: &Value, ptr: &str) -> f64 {
    at(s, ptr)
        .as_f64()
        .unwrap_or_else(|| panic!("{ptr} is not a number in the summary: {s}"))
}

/// Everything a clean run of `run` against `app` must report, and what the database holds.
async fn assert_clean(app: &TestApp, run: &Run, s: &Value) {
    let (rooms, q) = (run.rooms, run.questions);
    let n = run.rooms * run.players;

    assert_eq!(s["ok"], true, "problems: {}", s["problems"]);
    assert_eq!(s["problems"], json!([]), "{s}");
    for list in ["control_failures", "stuck", "results_failures"] {
        assert_eq!(s[list], json!([]), "{list}: {s}");
    }
    // No `error` message reached any player.
    assert_eq!(s["errors"], json!({}), "{s}");

    // The configuration echoes the command line.
    let c = &s["config"];
    assert_eq!(c["url"], app.base_url.as_str(), "{c}");
    assert_eq!(
        (
            uint(c, "/rooms"),
            uint(c, "/players"),
            uint(c, "/questions"),
            uint(c, "/time_limit_ms"),
            uint(c, "/seed"),
            uint(c, "/connect_concurrency"),
        ),
        (
            run.rooms,
            run.players,
            run.questions,
            run.time_limit_ms,
            run.seed,
            10
        ),
        "{c}"
    );

    // Every player joined, stayed to game_over; every host socket worked.
    let k = &s["connections"];
    assert_eq!(uint(k, "/players"), n, "{k}");
    assert_eq!(uint(k, "/joined"), n, "{k}");
    assert_eq!(uint(k, "/join_failed"), 0, "{k}");
    assert_eq!(uint(k, "/dropped"), 0, "{k}");
    assert_eq!(uint(k, "/saw_game_over"), n, "{k}");
    assert_eq!(uint(k, "/hosts"), rooms, "{k}");
    assert_eq!(uint(k, "/hosts_failed"), 0, "{k}");
    assert_eq!(k["failures"], json!({}), "{k}");

    // Every planned answer was sent before its time-up, acknowledged with its own choice before
    // the reveal, counted in the reveal and found in both results routes.
    let a = &s["answers"];
    assert_eq!(uint(a, "/planned"), n * q, "{a}");
    assert_eq!(uint(a, "/sent"), n * q, "{a}");
    assert_eq!(uint(a, "/acked"), uint(a, "/sent"), "{a}");
    assert_eq!(a["rejected"], json!({}), "{a}");
    for zero in [
        "missed_before_time_up",
        "no_reply",
        "ack_choice_mismatch",
        "acks_after_reveal",
        "missing_from_reveal",
        "time_up_early",
        "out_of_order",
        "lost",
        "stored_without_ack",
    ] {
        assert_eq!(uint(a, &format!("/{zero}")), 0, "answers.{zero}: {a}");
    }
    // With --admin-token the admin route was checked too (null without it).
    assert_eq!(a["lost_admin"], 0, "{a}");
    assert_eq!(uint(a, "/results_rooms_checked"), rooms, "{a}");

    // Each question ran to its deadline in every room.
    assert_eq!(s["time_up_reasons"], json!({"deadline": n * q}), "{s}");

    // The distributions hold one sample per what they measure.
    let lat = &s["latency_ms"];
    for (key, count) in [
        ("join", n),
        ("ws_connect", n),
        ("ping_rtt", n),
        ("clock_offset", n),
        ("control_request", rooms * (q + 1)),
        ("question_delivery", n * q),
        ("question_skew", rooms * q),
        ("answer_ack", n * q),
        ("ack_after_stamp", n * q),
        ("time_up_client", n * q),
        ("time_up_server", rooms * q),
        ("reveal_after_deadline", n * q),
    ] {
        let d = &lat[key];
        assert_eq!(uint(d, "/count"), count, "latency_ms.{key}: {lat}");
        let (min, p50, p99, max) = (
            float(d, "/min"),
            float(d, "/p50"),
            float(d, "/p99"),
            float(d, "/max"),
        );
        assert!(
            min <= p50 && p50 <= p99 && p99 <= max,
            "latency_ms.{key} not ordered: {d}"
        );
    }
    // Rule 3: the server stamps time_up after deadline_at (the timer is armed 1 ms past it).
    assert!(
        float(lat, "/time_up_server/min") >= 1.0,
        "{}",
        lat["time_up_server"]
    );
    // The reveal waits for the room's 25 ms grace after the time-up; allow for the clock
    // estimate's error (a ms or two on one machine).
    assert!(
        float(lat, "/reveal_after_deadline/min") >= 20.0,
        "{}",
        lat["reveal_after_deadline"]
    );

    // quizload and the server share this machine's clock: the estimated offset is zero within
    // its own error bound (+0.5 ms for server_time's truncation, +0.5 ms of slack).
    let offset = float(s, "/clock/offset_ms");
    let bound = float(s, "/clock/error_bound_ms");
    assert!(
        offset.abs() <= bound + 1.0,
        "clock offset {offset} ms, error bound {bound} ms"
    );

    let per_question = at(s, "/throughput/per_question")
        .as_array()
        .expect("per_question is an array");
    assert_eq!(per_question.len() as u64, q, "{per_question:?}");
    for (i, pq) in per_question.iter().enumerate() {
        assert_eq!(uint(pq, "/question"), i as u64, "{pq}");
        assert_eq!(uint(pq, "/sent"), rooms * run.players, "{pq}");
        assert_eq!(uint(pq, "/acked"), rooms * run.players, "{pq}");
        assert_eq!(
            uint(pq, "/time_up_client/count"),
            rooms * run.players,
            "{pq}"
        );
        // Rooms are started and moved on in lockstep; every room's deadline was seen.
        assert!(pq["deadline_spread_ms"].is_i64(), "{pq}");
    }
    let t = &s["throughput"];
    assert!(uint(t, "/peak_acks_per_s_1s") >= 1, "{t}");
    assert!(uint(t, "/peak_sends_per_s_1s") >= 1, "{t}");

    // The server figures are this process's (--server-pid).
    let v = &s["server"];
    assert_eq!(uint(v, "/pid"), u64::from(std::process::id()), "{v}");
    assert!(uint(v, "/rss_peak_kib") > 0, "{v}");
    assert!(uint(v, "/rss_start_kib") > 0, "{v}");
    // Once all had joined, the server held a socket per player and per host.
    assert!(
        uint(v, "/open_fds_after_join") >= rooms * (run.players + 1),
        "{v}"
    );
    assert!(s["quizload_runqueue_wait_ms_per_s"].is_f64(), "{s}");
    let elapsed = float(s, "/elapsed_s");
    assert!(
        elapsed > 0.0 && elapsed < RUN_LIMIT.as_secs_f64(),
        "elapsed_s {elapsed}"
    );

    // The server's own record agrees: the rooms, the players, and one row per acked answer.
    let count = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&app.db)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    };
    assert_eq!(count("SELECT COUNT(*) FROM rooms").await as u64, rooms);
    assert_eq!(count("SELECT COUNT(*) FROM players").await as u64, n);
    assert_eq!(
        count("SELECT COUNT(*) FROM answers").await as u64,
        uint(a, "/acked")
    );
    assert_eq!(
        count("SELECT COUNT(DISTINCT (player_id, question)) FROM answers").await as u64,
        n * q
    );
}

#[actix_web::test]
async fn random_answers_in_two_rooms_are_all_acknowledged_and_stored() {
    let app = spawn_app().await;
    let run = Run {
        rooms: 2,
        players: 5,
        questions: 2,
        time_limit_ms: 1000,
        seed: 7,
        burst_window_ms: None,
    };
    let s = run_ok(&app, &run).await;
    assert_clean(&app, &run, &s).await;
    assert_eq!(s["config"]["answer"], "random", "{}", s["config"]);
    assert!(s["config"]["burst_window_ms"].is_null(), "{}", s["config"]);
    assert!(s["config"]["burst_offset_ms"].is_null(), "{}", s["config"]);
    app.teardown().await;
}

#[actix_web::test]
async fn a_burst_of_answers_in_one_room_is_all_acknowledged_and_stored() {
    let app = spawn_app().await;
    let run = Run {
        rooms: 1,
        players: 8,
        questions: 2,
        time_limit_ms: 1000,
        seed: 11,
        burst_window_ms: Some(100),
    };
    let s = run_ok(&app, &run).await;
    assert_clean(&app, &run, &s).await;
    let c = &s["config"];
    assert_eq!(c["answer"], "burst", "{c}");
    assert_eq!(c["burst_window_ms"], 100, "{c}");
    // The default offset: the middle, (time limit - window) / 2.
    assert_eq!(c["burst_offset_ms"], 450, "{c}");
    // The answers of a question go out together: within the 100 ms window, give or take the
    // players' own clock estimates and timer wake-ups (300 ms of slack; a random run spreads
    // them over up to 950 ms).
    for pq in at(&s, "/throughput/per_question")
        .as_array()
        .expect("per_question is an array")
    {
        let span = float(pq, "/send_span_ms");
        assert!(span < 400.0, "burst sends spread over {span} ms: {pq}");
    }
    app.teardown().await;
}

/// quizload with `args`, run to its end (no server involved).
fn quizload_sync(args: &[&str]) -> Output {
    std::process::Command::new(QUIZLOAD)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run the quizload binary")
}

#[track_caller]
fn assert_usage_error(args: &[&str], message: &str) {
    let out = quizload_sync(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "quizload {args:?}: {}; stderr: {stderr}",
        out.status
    );
    assert!(
        stderr.contains(message),
        "quizload {args:?}: stderr does not say {message:?}: {stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "quizload {args:?} wrote to stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn bad_arguments_exit_2_with_a_message_that_names_the_flag() {
    let hint = "(see quizload --help)";
    for (args, message) in [
        (
            &["--rooms", "0", "--players", "5"][..],
            "--rooms must be between 1 and 100000, not 0",
        ),
        (&["--rooms", "2"][..], "--players is required"),
        (&["--players", "2"][..], "--rooms is required"),
        (
            &["--rooms", "1", "--players"][..],
            "--players needs a value",
        ),
        (
            &["--rooms", "1", "--players", "1", "--bogus"][..],
            "unknown argument \"--bogus\"",
        ),
        (
            &[
                "--rooms",
                "1",
                "--players",
                "1",
                "--url",
                "https://127.0.0.1:1",
            ][..],
            "--url must start with http://",
        ),
        (
            &[
                "--rooms",
                "1",
                "--players",
                "1",
                "--answer",
                "burst",
                "--time-limit-ms",
                "1000",
                "--burst-window-ms",
                "1000",
            ][..],
            "--burst-window-ms must be shorter than --time-limit-ms",
        ),
        (&["floor"][..], "floor: --connections is required"),
        (
            &["floor", "--connections", "0"][..],
            "--connections must be between 1 and 1000000, not 0",
        ),
        (
            &["floor", "--connections", "5", "--url", "http://127.0.0.1:1"][..],
            "floor: --url must be ws://host:port, not \"http://127.0.0.1:1\"",
        ),
        (
            &["floor", "--connections", "5", "--period-ms", "10"][..],
            "--period-ms must be between 100 and 600000, not 10",
        ),
        (
            &["floor-server", "--port", "1"][..],
            "floor-server: unknown argument \"--port\"",
        ),
    ] {
        assert_usage_error(args, message);
        assert_usage_error(args, hint);
    }

    // --help is no error: the usage on stdout, status 0.
    let out = quizload_sync(&["--help"]);
    assert_eq!(out.status.code(), Some(0), "{}", out.status);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.starts_with("quizload:") && help.contains("--rooms R") && help.contains("--json"),
        "{help}"
    );
}

#[test]
fn a_server_that_does_not_answer_exits_2() {
    // A port that was free a moment ago: nothing listens there.
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let out = quizload_sync(&["--url", &url, "--rooms", "1", "--players", "1", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}; stderr: {stderr}",
        out.status
    );
    assert!(
        stderr.contains(&format!("the server at {url} does not answer /healthz")),
        "{stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Kills the floor server when the test ends, passed or not.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_floor_server_sends_every_socket_every_deadline_and_the_client_measures_it() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let server = Killed(
        std::process::Command::new(QUIZLOAD)
            .args(["floor-server", "--addr", &addr])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start quizload floor-server"),
    );
    let deadline = Instant::now() + RUN_LIMIT;
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < deadline, "the floor server never listened");
        std::thread::sleep(Duration::from_millis(20));
    }

    let (connections, rounds) = (30_u64, 3_u64);
    // Twice against the same server: a floor server serves run after run alike.
    for run in 1..=2 {
        let out = quizload_sync(&[
            "floor",
            "--url",
            &format!("ws://{addr}"),
            "--connections",
            &connections.to_string(),
            "--rounds",
            &rounds.to_string(),
            "--period-ms",
            "300",
            "--server-pid",
            &server.0.id().to_string(),
            "--json",
        ]);
        let s = summary_of(&out);
        assert_eq!(s["ok"], json!(true), "run {run}: {s}");
        assert_eq!(uint(&s, "/connected"), connections, "run {run}: {s}");
        assert_eq!(
            uint(&s, "/frames_expected"),
            connections * rounds,
            "run {run}: {s}"
        );
        assert_eq!(
            uint(&s, "/frames_received"),
            connections * rounds,
            "run {run}: {s}"
        );
        for figure in ["/lateness_client", "/lateness_server"] {
            assert_eq!(
                uint(&s, &format!("{figure}/count")),
                connections * rounds,
                "run {run}: {s}"
            );
            let (min, p99, max) = (
                float(&s, &format!("{figure}/min")),
                float(&s, &format!("{figure}/p99")),
                float(&s, &format!("{figure}/max")),
            );
            // Nothing arrives before its deadline, and a small run is not seconds late.
            assert!(
                0.0 <= min && min <= p99 && p99 <= max && max < 1000.0,
                "run {run}, {figure}: {s}"
            );
        }
        // The server's memory was read before connecting and at the peak.
        assert!(
            uint(&s, "/rss_peak_kib") >= uint(&s, "/rss_before_kib"),
            "run {run}: {s}"
        );
        assert!(
            float(&s, "/rss_per_connection_kib") >= 0.0,
            "run {run}: {s}"
        );
    }
}

#[test]
fn the_floor_says_what_is_wrong_when_it_cannot_run() {
    // Nothing listens: the client cannot connect.
    let url = format!("ws://127.0.0.1:{}", free_port());
    let out = quizload_sync(&["floor", "--url", &url, "--connections", "3"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}; {stderr}", out.status);
    assert!(
        stderr.contains(&format!("quizload floor: {url}: connect:")),
        "{stderr}"
    );

    // The port is taken: the server cannot listen.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = taken.local_addr().expect("its address").to_string();
    let out = quizload_sync(&["floor-server", "--addr", &addr]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}; {stderr}", out.status);
    assert!(
        stderr.contains(&format!("quizload floor-server: cannot listen on {addr}")),
        "{stderr}"
    );

    // A pid that is no process: nothing to sample.
    let out = quizload_sync(&[
        "floor",
        "--url",
        &url,
        "--connections",
        "3",
        "--server-pid",
        "4000000000",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}; {stderr}", out.status);
    assert!(stderr.contains("is the server's pid right?"), "{stderr}");
}
