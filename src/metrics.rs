//! Process-wide counters for `/metrics` (Prometheus text format), kept as plain atomics so the
//! hot paths pay one relaxed add.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::domain::{Rejection, Status};

pub struct Counter(AtomicU64);

impl Counter {
    const fn new() -> Self {
        Counter(AtomicU64::new(0))
    }
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

pub struct Gauge(AtomicI64);

impl Gauge {
    const fn new() -> Self {
        Gauge(AtomicI64::new(0))
    }
    pub fn add(&self, d: i64) {
        self.0.fetch_add(d, Ordering::Relaxed);
    }
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Upper bounds in milliseconds of the time-up lateness histogram.
const LATENESS_BUCKETS_MS: [f64; 12] = [
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0,
];

pub struct Histogram {
    counts: [AtomicU64; 12],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    const fn new() -> Self {
        Histogram {
            counts: [const { AtomicU64::new(0) }; 12],
            count: AtomicU64::new(0),
            sum_us: AtomicU64::new(0),
        }
    }

    pub fn observe_ms(&self, ms: f64) {
        let ms = ms.max(0.0);
        for (bound, c) in LATENESS_BUCKETS_MS.iter().zip(&self.counts) {
            if ms <= *bound {
                c.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us
            .fetch_add((ms * 1000.0) as u64, Ordering::Relaxed);
    }
}

const STATUSES: [Status; 5] = [
    Status::Lobby,
    Status::Question,
    Status::Paused,
    Status::Reveal,
    Status::Finished,
];
const REJECTIONS: [Rejection; 7] = [
    Rejection::NotJoined,
    Rejection::NotOpen,
    Rejection::WrongQuestion,
    Rejection::TooLate,
    Rejection::InvalidChoice,
    Rejection::AlreadyAnswered,
    Rejection::Unavailable,
];

pub struct Metrics {
    rooms: [Gauge; 5],
    pub ws_connections: Gauge,
    pub answers_accepted: Counter,
    rejected: [Counter; 7],
    /// From a question's deadline to the moment its time_up left the room.
    pub time_up_lateness: Histogram,
    pub db_write_failures: Counter,
    pub slow_clients_dropped: Counter,
}

pub static METRICS: Metrics = Metrics {
    rooms: [const { Gauge::new() }; 5],
    ws_connections: Gauge::new(),
    answers_accepted: Counter::new(),
    rejected: [const { Counter::new() }; 7],
    time_up_lateness: Histogram::new(),
    db_write_failures: Counter::new(),
    slow_clients_dropped: Counter::new(),
};

impl Metrics {
    pub fn room_status(&self, from: Option<Status>, to: Option<Status>) {
        if let Some(s) = from {
            self.rooms[status_slot(s)].add(-1);
        }
        if let Some(s) = to {
            self.rooms[status_slot(s)].add(1);
        }
    }

    pub fn rejected(&self, r: Rejection) {
        if let Some(i) = REJECTIONS.iter().position(|x| *x == r) {
            self.rejected[i].inc();
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        let _ = writeln!(
            out,
            "# HELP quizroom_rooms Rooms in memory by status.\n# TYPE quizroom_rooms gauge"
        );
        for s in STATUSES {
            let _ = writeln!(
                out,
                "quizroom_rooms{{status=\"{}\"}} {}",
                s.as_str(),
                self.rooms[status_slot(s)].get()
            );
        }
        let _ = writeln!(
            out,
            "# HELP quizroom_ws_connections Open WebSocket connections.\n# TYPE quizroom_ws_connections gauge\nquizroom_ws_connections {}",
            self.ws_connections.get()
        );
        let _ = writeln!(
            out,
            "# HELP quizroom_answers_accepted_total Answers stored and acknowledged.\n# TYPE quizroom_answers_accepted_total counter\nquizroom_answers_accepted_total {}",
            self.answers_accepted.get()
        );
        let _ = writeln!(
            out,
            "# HELP quizroom_answers_rejected_total Answers rejected, by reason.\n# TYPE quizroom_answers_rejected_total counter"
        );
        for (r, c) in REJECTIONS.iter().zip(&self.rejected) {
            let _ = writeln!(
                out,
                "quizroom_answers_rejected_total{{reason=\"{}\"}} {}",
                r.code(),
                c.get()
            );
        }
        let h = &self.time_up_lateness;
        let _ = writeln!(
            out,
            "# HELP quizroom_time_up_lateness_seconds Time from a question's deadline to its time_up being sent.\n# TYPE quizroom_time_up_lateness_seconds histogram"
        );
        for (bound, c) in LATENESS_BUCKETS_MS.iter().zip(&h.counts) {
            let _ = writeln!(
                out,
                "quizroom_time_up_lateness_seconds_bucket{{le=\"{}\"}} {}",
                bound / 1000.0,
                c.load(Ordering::Relaxed)
            );
        }
        let count = h.count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "quizroom_time_up_lateness_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "quizroom_time_up_lateness_seconds_sum {}",
            h.sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "quizroom_time_up_lateness_seconds_count {count}");
        let _ = writeln!(
            out,
            "# HELP quizroom_db_write_failures_total Failed group commits (each is retried).\n# TYPE quizroom_db_write_failures_total counter\nquizroom_db_write_failures_total {}",
            self.db_write_failures.get()
        );
        let _ = writeln!(
            out,
            "# HELP quizroom_slow_clients_dropped_total Sockets dropped because they did not read fast enough.\n# TYPE quizroom_slow_clients_dropped_total counter\nquizroom_slow_clients_dropped_total {}",
            self.slow_clients_dropped.get()
        );
        out
    }
}

fn status_slot(s: Status) -> usize {
    STATUSES.iter().position(|x| *x == s).unwrap_or(0)
}
