//! The figures: computed from the per-socket records once every task has ended, printed as a
//! table or serialized as one JSON object.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use crate::args::Args;
use crate::client::{HostReport, PlayerReport};
use crate::server::ServerFigures;
use crate::stats::{Dist, peak_in_window, summarize};
use crate::{ResultsCheck, RoomInfo};

pub struct Inputs<'a> {
    pub args: &'a Args,
    pub seed: u64,
    pub rooms: &'a [RoomInfo],
    pub players: &'a [PlayerReport],
    pub hosts: &'a [HostReport],
    pub control_ms: Vec<f64>,
    pub control_failures: Vec<String>,
    pub stuck: Vec<String>,
    pub results: ResultsCheck,
    pub server: Option<ServerFigures>,
    pub quizload_wait: Option<f64>,
    pub elapsed_s: f64,
}

#[derive(Debug, Serialize)]
pub struct Config {
    pub url: String,
    pub rooms: usize,
    pub players: usize,
    pub questions: usize,
    pub time_limit_ms: u32,
    pub answer: &'static str,
    pub burst_window_ms: Option<u32>,
    pub burst_offset_ms: Option<u32>,
    pub connect_concurrency: usize,
    pub seed: u64,
}

#[derive(Debug, Serialize)]
pub struct Connections {
    pub players: usize,
    pub joined: usize,
    pub join_failed: usize,
    /// Joined, then lost the socket before game_over.
    pub dropped: usize,
    pub saw_game_over: usize,
    pub hosts: usize,
    pub hosts_failed: usize,
    /// Why sockets failed or dropped, with counts.
    pub failures: BTreeMap<String, usize>,
}

#[derive(Debug, Serialize)]
pub struct Answers {
    /// Answers due: joined players x questions.
    pub planned: usize,
    pub sent: usize,
    pub acked: usize,
    pub rejected: BTreeMap<String, usize>,
    /// Planned answers that time_up overtook before they were sent.
    pub missed_before_time_up: usize,
    /// Sent, but neither acked nor rejected.
    pub no_reply: usize,
    /// Acks whose choice differs from the one sent.
    pub ack_choice_mismatch: usize,
    /// Acks that arrived after the question's reveal.
    pub acks_after_reveal: usize,
    /// Acked answers the reveal's `answered` count leaves out (summed over rooms).
    pub missing_from_reveal: usize,
    /// `time_up` (reason deadline) whose `server_time` is not past `deadline_at` (rule 3).
    pub time_up_early: usize,
    /// Messages out of order: `reveal` before `time_up`, `leaderboard` before `reveal`.
    pub out_of_order: usize,
    /// Acknowledged answers missing from the results (must be 0).
    pub lost: usize,
    pub lost_admin: Option<usize>,
    pub stored_without_ack: usize,
    pub results_rooms_checked: usize,
}

/// The clock offset applied to every client-side instant. All sockets share the client's clock,
/// so the offset is one number: the one from the ping with the shortest round trip, whose
/// error is at most half that round trip (NTP's minimum-delay filter).
#[derive(Debug, Serialize)]
pub struct ClockEstimate {
    /// Server clock minus client clock.
    pub offset_ms: f64,
    pub best_rtt_ms: f64,
    pub error_bound_ms: f64,
}

#[derive(Debug, Serialize)]
pub struct QuestionRate {
    pub question: usize,
    pub sent: usize,
    pub send_span_ms: f64,
    pub send_rate_per_s: f64,
    pub acked: usize,
    pub ack_span_ms: f64,
    pub ack_rate_per_s: f64,
    /// max - min `deadline_at` across rooms.
    pub deadline_spread_ms: Option<i64>,
    /// Largest question delivery skew of any room.
    pub question_skew_max_ms: Option<f64>,
    pub time_up_client: Option<Dist>,
    pub time_up_server_max_ms: Option<f64>,
    pub answer_ack_p99_ms: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct Throughput {
    pub peak_sends_per_s_1s: usize,
    pub peak_acks_per_s_1s: usize,
    /// The most sends in any 100 ms, times 10.
    pub peak_sends_per_s_100ms: usize,
    pub peak_acks_per_s_100ms: usize,
    pub per_question: Vec<QuestionRate>,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub config: Config,
    pub connections: Connections,
    pub clock: Option<ClockEstimate>,
    /// Distributions in milliseconds; see `LATENCIES` for what each one is.
    pub latency_ms: BTreeMap<&'static str, Option<Dist>>,
    pub answers: Answers,
    pub throughput: Throughput,
    pub time_up_reasons: BTreeMap<String, usize>,
    /// `error` messages players received, by code.
    pub errors: BTreeMap<String, usize>,
    pub server: Option<ServerFigures>,
    /// How long quizload's own threads waited for a CPU during the game, ms per second.
    pub quizload_runqueue_wait_ms_per_s: Option<f64>,
    pub control_failures: Vec<String>,
    pub stuck: Vec<String>,
    pub results_failures: Vec<String>,
    pub elapsed_s: f64,
    pub problems: Vec<String>,
    pub ok: bool,
}

/// The distributions, in table order: (key, label, what one sample is).
pub const LATENCIES: [(&str, &str); 12] = [
    ("join", "join: connect + welcome (per player)"),
    ("ws_connect", "  of which TCP + WebSocket handshake"),
    ("ping_rtt", "ping round trip (per player)"),
    ("clock_offset", "clock offset per socket (diagnostic)"),
    ("control_request", "start/next POST (per room)"),
    ("question_delivery", "question: server_time -> received"),
    ("question_skew", "question skew in a room (max - min)"),
    ("answer_ack", "answer sent -> answer_ack"),
    ("ack_after_stamp", "received_at -> answer_ack received"),
    ("time_up_client", "time_up received - deadline_at"),
    ("time_up_server", "time_up.server_time - deadline_at"),
    ("reveal_after_deadline", "reveal received - deadline_at"),
];

fn ms(us: i64) -> f64 {
    us as f64 / 1000.0
}

fn count<'a>(items: impl Iterator<Item = &'a str>) -> BTreeMap<String, usize> {
    let mut map = BTreeMap::new();
    for s in items {
        *map.entry(s.to_owned()).or_insert(0) += 1;
    }
    map
}

fn span_rate(mut times: Vec<i64>) -> (usize, f64, f64) {
    times.sort_unstable();
    let n = times.len();
    let span = match (times.first(), times.last()) {
        (Some(a), Some(b)) => ms(b - a),
        _ => 0.0,
    };
    let rate = if span > 0.0 {
        n as f64 / span * 1000.0
    } else {
        0.0
    };
    (n, span, rate)
}

pub fn build(inp: Inputs) -> Summary {
    let args = inp.args;
    let nq = args.questions;
    let players = inp.players;
    let burst = args.answer == crate::args::AnswerMode::Burst;
    let config = Config {
        url: args.url.clone(),
        rooms: args.rooms,
        players: args.players,
        questions: nq,
        time_limit_ms: args.time_limit_ms,
        answer: args.answer.as_str(),
        burst_window_ms: burst.then_some(args.burst_window_ms),
        burst_offset_ms: burst.then(|| args.burst_offset()),
        connect_concurrency: args.connect_concurrency,
        seed: inp.seed,
    };

    // Connections.
    let joined: Vec<&PlayerReport> = players.iter().filter(|p| p.join_ms.is_some()).collect();
    let failures = count(
        players
            .iter()
            .filter_map(|p| p.join_failure.as_deref().or(p.dropped.as_deref()))
            .chain(inp.hosts.iter().filter_map(|h| h.failure.as_deref())),
    );
    let connections = Connections {
        players: args.rooms * args.players,
        joined: joined.len(),
        join_failed: players.iter().filter(|p| p.join_failure.is_some()).count()
            + (args.rooms * args.players).saturating_sub(players.len()),
        dropped: players.iter().filter(|p| p.dropped.is_some()).count(),
        saw_game_over: players.iter().filter(|p| p.game_over).count(),
        hosts: inp.hosts.len(),
        hosts_failed: inp.hosts.iter().filter(|h| h.failure.is_some()).count(),
        failures,
    };

    // Per room and question: the reference instants (host first, else any player).
    let rooms = inp.rooms.len();
    let mut deadline = vec![vec![None::<i64>; nq]; rooms];
    let mut time_up_server = vec![vec![None::<i64>; nq]; rooms];
    let mut reveal_answered = vec![vec![None::<i64>; nq]; rooms];
    for h in inp.hosts {
        for (q, hq) in h.q.iter().enumerate() {
            deadline[h.room][q] = hq.deadline_at;
            time_up_server[h.room][q] = hq.time_up_server;
            reveal_answered[h.room][q] = hq.reveal_answered;
        }
    }
    let mut recv_range = vec![vec![None::<(i64, i64)>; nq]; rooms];
    let mut acks_in = vec![vec![0usize; nq]; rooms];
    for p in players {
        for (q, r) in p.q.iter().enumerate() {
            if r.question_recv_us.is_some() && deadline[p.room][q].is_none() {
                deadline[p.room][q] = Some(r.deadline_at);
            }
            if r.time_up_us.is_some() && time_up_server[p.room][q].is_none() {
                time_up_server[p.room][q] = Some(r.time_up_server);
            }
            if let Some(t) = r.question_recv_us {
                let range = &mut recv_range[p.room][q];
                *range = Some(range.map_or((t, t), |(a, b)| (a.min(t), b.max(t))));
            }
            if r.ack_us.is_some() {
                acks_in[p.room][q] += 1;
            }
        }
    }

    // One offset for every socket: the best ping's.
    let clock = joined
        .iter()
        .filter_map(|p| Some((p.rtt_ms?, p.offset_us)))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(rtt, off)| ClockEstimate {
            offset_ms: ms(off),
            best_rtt_ms: rtt,
            error_bound_ms: rtt / 2.0,
        });
    let off = clock.as_ref().map_or(0, |c| (c.offset_ms * 1000.0) as i64);

    // Distributions.
    let mut lat: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    let mut push = |k: &'static str, v: f64| lat.entry(k).or_default().push(v);
    for p in &joined {
        push("join", p.join_ms.unwrap_or(0.0));
        if let Some(c) = p.connect_ms {
            push("ws_connect", c);
        }
        if let Some(rtt) = p.rtt_ms {
            push("ping_rtt", rtt);
            push("clock_offset", ms(p.offset_us));
        }
        for r in &p.q {
            if let Some(t) = r.question_recv_us {
                push(
                    "question_delivery",
                    ms(t + off) - r.question_server_time as f64,
                );
            }
            if let (Some(s), Some(a)) = (r.sent_us, r.ack_us) {
                push("answer_ack", ms(a - s));
                push("ack_after_stamp", ms(a + off) - r.ack_received_at as f64);
            }
            if let Some(t) = r.time_up_us {
                push("time_up_client", ms(t + off) - r.deadline_at as f64);
            }
            if let Some(t) = r.reveal_us {
                push("reveal_after_deadline", ms(t + off) - r.deadline_at as f64);
            }
        }
    }
    for room in 0..rooms {
        for q in 0..nq {
            if let Some((a, b)) = recv_range[room][q] {
                push("question_skew", ms(b - a));
            }
            if let (Some(t), Some(d)) = (time_up_server[room][q], deadline[room][q]) {
                push("time_up_server", (t - d) as f64);
            }
        }
    }
    for &v in &inp.control_ms {
        push("control_request", v);
    }
    let latency_ms = LATENCIES
        .iter()
        .map(|(k, _)| (*k, summarize(lat.remove(k).unwrap_or_default())))
        .collect();

    // Answers.
    let recs = || joined.iter().flat_map(|p| p.q.iter());
    let missing_from_reveal = (0..rooms)
        .flat_map(|room| (0..nq).map(move |q| (room, q)))
        .filter_map(|(room, q)| {
            let answered = usize::try_from(reveal_answered[room][q]?).ok()?;
            Some(acks_in[room][q].saturating_sub(answered))
        })
        .sum();
    let answers = Answers {
        planned: joined.len() * nq,
        sent: recs().filter(|r| r.sent_us.is_some()).count(),
        acked: recs().filter(|r| r.ack_us.is_some()).count(),
        rejected: count(recs().filter_map(|r| r.rejected.as_deref())),
        missed_before_time_up: recs().filter(|r| r.missed).count(),
        no_reply: recs()
            .filter(|r| r.sent_us.is_some() && r.ack_us.is_none() && r.rejected.is_none())
            .count(),
        ack_choice_mismatch: recs()
            .filter(|r| r.ack_us.is_some() && r.ack_choice != r.choice as i64)
            .count(),
        acks_after_reveal: recs().filter(|r| r.ack_after_reveal).count(),
        missing_from_reveal,
        time_up_early: recs()
            .filter(|r| {
                r.time_up_us.is_some()
                    && r.time_up_reason.as_deref() == Some("deadline")
                    && r.time_up_server <= r.deadline_at
            })
            .count(),
        out_of_order: joined.iter().map(|p| p.out_of_order).sum(),
        lost: inp.results.lost,
        lost_admin: inp.results.lost_admin,
        stored_without_ack: inp.results.stored_without_ack,
        results_rooms_checked: inp.results.rooms_checked,
    };

    // Throughput.
    let mut sends: Vec<i64> = recs().filter_map(|r| r.sent_us).collect();
    let mut acks: Vec<i64> = recs().filter_map(|r| r.ack_us).collect();
    sends.sort_unstable();
    acks.sort_unstable();
    let per_question = (0..nq)
        .map(|q| {
            let at = |f: fn(&crate::client::QRec) -> Option<i64>| -> Vec<i64> {
                joined
                    .iter()
                    .filter_map(|p| p.q.get(q).and_then(f))
                    .collect()
            };
            let (sent, send_span_ms, send_rate_per_s) = span_rate(at(|r| r.sent_us));
            let (acked, ack_span_ms, ack_rate_per_s) = span_rate(at(|r| r.ack_us));
            let deadlines: Vec<i64> = (0..rooms).filter_map(|room| deadline[room][q]).collect();
            let spread = deadlines
                .iter()
                .max()
                .zip(deadlines.iter().min())
                .map(|(a, b)| a - b);
            let fmax = |v: Vec<f64>| v.into_iter().reduce(f64::max);
            let skews = (0..rooms).filter_map(|room| recv_range[room][q].map(|(a, b)| ms(b - a)));
            let server_late = (0..rooms)
                .filter_map(|room| Some((time_up_server[room][q]? - deadline[room][q]?) as f64));
            let of = |p: &&PlayerReport| p.q.get(q).cloned().unwrap_or_default();
            let client_late = joined
                .iter()
                .map(of)
                .filter_map(|r| Some(ms(r.time_up_us? + off) - r.deadline_at as f64));
            let ack = joined
                .iter()
                .map(of)
                .filter_map(|r| Some(ms(r.ack_us? - r.sent_us?)));
            QuestionRate {
                question: q,
                sent,
                send_span_ms,
                send_rate_per_s,
                acked,
                ack_span_ms,
                ack_rate_per_s,
                deadline_spread_ms: spread,
                question_skew_max_ms: fmax(skews.collect()),
                time_up_client: summarize(client_late.collect()),
                time_up_server_max_ms: fmax(server_late.collect()),
                answer_ack_p99_ms: summarize(ack.collect()).map(|d| d.p99),
            }
        })
        .collect();
    let throughput = Throughput {
        peak_sends_per_s_1s: peak_in_window(&sends, 1_000_000),
        peak_acks_per_s_1s: peak_in_window(&acks, 1_000_000),
        peak_sends_per_s_100ms: peak_in_window(&sends, 100_000) * 10,
        peak_acks_per_s_100ms: peak_in_window(&acks, 100_000) * 10,
        per_question,
    };

    let time_up_reasons = count(recs().filter_map(|r| r.time_up_reason.as_deref()));
    let errors = count(
        joined
            .iter()
            .flat_map(|p| p.errors.iter().map(String::as_str)),
    );

    let mut problems = Vec::new();
    let mut problem = |cond: bool, text: String| {
        if cond {
            problems.push(text);
        }
    };
    problem(
        answers.lost > 0,
        format!(
            "{} acknowledged answers are missing from the results",
            answers.lost
        ),
    );
    if let Some(n) = answers.lost_admin {
        problem(
            n > 0,
            format!("{n} acknowledged answers are missing from the admin results"),
        );
    }
    problem(
        answers.missing_from_reveal > 0,
        format!(
            "{} acknowledged answers are not counted in their reveal",
            answers.missing_from_reveal
        ),
    );
    problem(
        answers.time_up_early > 0,
        format!(
            "{} time_up messages were stamped at or before their deadline",
            answers.time_up_early
        ),
    );
    problem(
        answers.out_of_order > 0,
        format!(
            "{} messages came out of the protocol's order",
            answers.out_of_order
        ),
    );
    problem(
        connections.join_failed > 0,
        format!("{} players could not join", connections.join_failed),
    );
    problem(
        connections.dropped > 0,
        format!(
            "{} players lost their socket before game_over",
            connections.dropped
        ),
    );
    problem(
        connections.hosts_failed > 0,
        format!("{} host sockets failed", connections.hosts_failed),
    );
    problem(
        !inp.control_failures.is_empty(),
        format!("{} host controls failed", inp.control_failures.len()),
    );
    problem(
        !inp.stuck.is_empty(),
        format!("{} rooms did not finish", inp.stuck.len()),
    );
    problem(
        !inp.results.failures.is_empty(),
        format!(
            "results of {} rooms could not be read",
            inp.results.failures.len()
        ),
    );
    problem(
        answers.no_reply > 0,
        format!("{} answers got no reply", answers.no_reply),
    );
    problem(
        answers.ack_choice_mismatch > 0,
        format!("{} acks carry another choice", answers.ack_choice_mismatch),
    );
    let ok = problems.is_empty();
    Summary {
        config,
        connections,
        clock,
        latency_ms,
        answers,
        throughput,
        time_up_reasons,
        errors,
        server: inp.server,
        quizload_runqueue_wait_ms_per_s: inp.quizload_wait,
        control_failures: inp.control_failures,
        stuck: inp.stuck,
        results_failures: inp.results.failures,
        elapsed_s: inp.elapsed_s,
        problems,
        ok,
    }
}

fn kib(v: Option<u64>) -> String {
    v.map_or("-".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

fn opt(v: Option<f64>, unit: &str) -> String {
    v.map_or("-".into(), |x| format!("{x:.1}{unit}"))
}

fn map_text(m: &BTreeMap<String, usize>) -> String {
    if m.is_empty() {
        return "none".into();
    }
    m.iter()
        .map(|(k, v)| format!("{k} x{v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn print_table(out: &mut impl Write, s: &Summary) -> io::Result<()> {
    let c = &s.config;
    let mode = match (c.burst_window_ms, c.burst_offset_ms) {
        (Some(w), Some(o)) => format!("burst of {w} ms at +{o} ms"),
        _ => "random".into(),
    };
    writeln!(
        out,
        "quizload {}: {} rooms x {} players, {} questions x {} ms, answers {mode}, seed {}",
        c.url, c.rooms, c.players, c.questions, c.time_limit_ms, c.seed
    )?;
    let k = &s.connections;
    writeln!(
        out,
        "players   {} joined of {}, {} failed to join, {} dropped, {} saw game_over; hosts {} ({} failed)",
        k.joined, k.players, k.join_failed, k.dropped, k.saw_game_over, k.hosts, k.hosts_failed
    )?;
    if !k.failures.is_empty() {
        writeln!(out, "failures  {}", map_text(&k.failures))?;
    }
    if let Some(c) = &s.clock {
        writeln!(
            out,
            "clock     server - client offset {:.2} ms from the best ping (rtt {:.2} ms, error <= {:.2} ms), applied to every client instant",
            c.offset_ms, c.best_rtt_ms, c.error_bound_ms
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<40} {:>7} {:>9} {:>9} {:>9} {:>9}",
        "ms", "count", "p50", "p90", "p99", "max"
    )?;
    for (key, label) in LATENCIES {
        match s.latency_ms.get(key).and_then(Option::as_ref) {
            Some(d) => writeln!(
                out,
                "{label:<40} {:>7} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
                d.count, d.p50, d.p90, d.p99, d.max
            )?,
            None => writeln!(out, "{label:<40} {:>7}", 0)?,
        }
    }
    writeln!(out)?;
    let a = &s.answers;
    writeln!(
        out,
        "answers   planned {}, sent {}, acked {}, rejected {}, missed (time_up first) {}, no reply {}",
        a.planned,
        a.sent,
        a.acked,
        map_text(&a.rejected),
        a.missed_before_time_up,
        a.no_reply
    )?;
    let admin = a
        .lost_admin
        .map_or(String::new(), |n| format!(", lost (admin route) {n}"));
    writeln!(
        out,
        "          LOST {} (results of {} rooms checked){admin}; stored without ack {}; not in reveal {}; acks after reveal {}",
        a.lost,
        a.results_rooms_checked,
        a.stored_without_ack,
        a.missing_from_reveal,
        a.acks_after_reveal
    )?;
    writeln!(
        out,
        "order     time_up at or before deadline_at {}; out of order (reveal before time_up, leaderboard before reveal) {}",
        a.time_up_early, a.out_of_order
    )?;
    let t = &s.throughput;
    writeln!(
        out,
        "rate      peak acks/s {} (1 s window), {} (100 ms x 10); peak sends/s {} (1 s), {} (100 ms x 10)",
        t.peak_acks_per_s_1s,
        t.peak_acks_per_s_100ms,
        t.peak_sends_per_s_1s,
        t.peak_sends_per_s_100ms
    )?;
    writeln!(
        out,
        "\n{:<4} {:>6} {:>8} {:>8} {:>6} {:>8} {:>8} {:>8} {:>8} {:>23} {:>8}",
        "q",
        "sent",
        "span ms",
        "sent/s",
        "acked",
        "acks/s",
        "ack p99",
        "dl sprd",
        "skew",
        "time_up p50/p99/max",
        "timer"
    )?;
    let f = |v: Option<f64>| v.map_or("-".to_owned(), |x| format!("{x:.1}"));
    for q in &t.per_question {
        let tu = q.time_up_client.as_ref().map_or("-".to_owned(), |d| {
            format!("{:.1}/{:.1}/{:.1}", d.p50, d.p99, d.max)
        });
        writeln!(
            out,
            "{:<4} {:>6} {:>8.0} {:>8.0} {:>6} {:>8.0} {:>8} {:>8} {:>8} {:>23} {:>8}",
            q.question,
            q.sent,
            q.send_span_ms,
            q.send_rate_per_s,
            q.acked,
            q.ack_rate_per_s,
            f(q.answer_ack_p99_ms),
            q.deadline_spread_ms.map_or("-".into(), |v| v.to_string()),
            f(q.question_skew_max_ms),
            tu,
            f(q.time_up_server_max_ms),
        )?;
    }
    writeln!(
        out,
        "(ms; dl sprd: max - min deadline_at across rooms; skew: largest question delivery skew in a room;\n \
         time_up: received - deadline_at, client side; timer: largest time_up.server_time - deadline_at)\n"
    )?;
    writeln!(
        out,
        "time_up   reasons {}; errors received {}",
        map_text(&s.time_up_reasons),
        map_text(&s.errors)
    )?;
    if let Some(v) = &s.server {
        writeln!(
            out,
            "server    pid {}: RSS start {}, before players {}, all joined {}, peak {}, end {} (VmHWM {})",
            v.pid,
            kib(v.rss_start_kib),
            kib(v.rss_before_players_kib),
            kib(v.rss_after_join_kib),
            kib(Some(v.rss_peak_kib)),
            kib(v.rss_end_kib),
            kib(v.hwm_end_kib)
        )?;
        writeln!(
            out,
            "          RSS per player {} (peak), {} (all joined); CPU avg {} (game {}), peak {:.0}% (1 s); fds after join {}",
            opt(v.rss_per_player_kib, " KiB"),
            opt(v.rss_per_player_joined_kib, " KiB"),
            opt(v.cpu_avg_pct, "%"),
            opt(v.cpu_game_avg_pct, "%"),
            v.cpu_peak_pct,
            v.open_fds_after_join.map_or("-".into(), |n| n.to_string())
        )?;
        writeln!(
            out,
            "          waiting for a CPU (run queue, all threads): {} ms/s during the game, peak {:.1} ms/s (1 s)",
            opt(v.runqueue_wait_game_ms_per_s, ""),
            v.runqueue_wait_peak_ms_per_s
        )?;
    }
    if let Some(w) = s.quizload_runqueue_wait_ms_per_s {
        writeln!(
            out,
            "quizload  waiting for a CPU (run queue, all threads): {w:.1} ms/s during the game"
        )?;
    }
    for f in s
        .control_failures
        .iter()
        .chain(&s.stuck)
        .chain(&s.results_failures)
        .take(20)
    {
        writeln!(out, "problem   {f}")?;
    }
    writeln!(out)?;
    if s.ok {
        writeln!(out, "OK in {:.1} s", s.elapsed_s)?;
    } else {
        writeln!(
            out,
            "FAILED in {:.1} s: {}",
            s.elapsed_s,
            s.problems.join("; ")
        )?;
    }
    Ok(())
}
