//! Real-time scheduling for the rooms' thread around deadlines, so that its timers fire on time
//! while the HTTP workers, Postgres and everything else on the machine keep the cores busy.
//!
//! `time_up` is stamped when the room's timer callback runs, not when the timer was due. Under
//! full load a normal thread waits its turn behind the busy workers: with a thousand rooms
//! whose deadlines coincide, the last of them was stamped 12–21 ms late. As a real-time thread
//! (`SCHED_FIFO` at the lowest priority) it runs as soon as it is ready: 3–4 ms.
//!
//! But only around deadlines: always real-time, a burst of 2,000 answers had its acks' p99 go
//! from about 30 to about 60 ms, most likely because the thread then preempts whatever runs for
//! each answer and each commit as it comes, instead of taking them in batches when it gets its
//! turn (measured, not proven). So the rooms register every
//! deadline they arm, and a governor task on the rooms' thread makes the thread real-time from
//! [`LEAD`] before the earliest one until [`TAIL`] after it, and normal in between.
//!
//! Being real-time needs the right to (root, `CAP_SYS_NICE`, or an `RLIMIT_RTPRIO` of at least
//! 1, e.g. systemd's `LimitRTPRIO=1`). Without it the thread stays normal, the server says so
//! once at startup, and nothing else changes. The kernel keeps 5 % of every second for normal
//! threads (`sched_rt_runtime_us`), so a real-time thread cannot lock up a machine.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use thread_priority::{
    NormalThreadSchedulePolicy, RealtimeThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue,
    ThreadSchedulePolicy, thread_native_id,
};
use tokio::sync::Notify;
use tokio::time::Instant;

/// How long before a deadline the thread turns real-time. The governor itself wakes as a
/// normal thread, so this also covers how late a loaded machine runs a normal thread.
const LEAD: Duration = Duration::from_millis(100);
/// How long after a deadline the thread stays real-time: the timer fires 1 ms past it, then
/// every room due at that moment stamps and locks.
const TAIL: Duration = Duration::from_millis(30);

/// How the rooms' thread is scheduled: `ROOMS_THREAD_PRIORITY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// `realtime` (the default): `SCHED_FIFO` at priority 1 around deadlines, when allowed.
    Realtime,
    /// `normal`: leave the thread as the OS made it.
    Normal,
}

/// What the rooms' thread ended up with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The thread's id (`/proc/<pid>/task/<tid>`), when it could be read.
    pub tid: Option<u32>,
    /// Whether the thread turns real-time around deadlines.
    pub realtime: bool,
    /// Why the thread stays normal although real-time was asked for.
    pub refused: Option<String>,
}

/// Finds out, on the calling thread, whether it may turn real-time: it does so once and goes
/// back to normal at once. The governor ([`govern`]) then switches it as deadlines come.
pub fn probe_current_thread(wanted: Wanted) -> Outcome {
    let tid = current_tid();
    if wanted == Wanted::Normal {
        return Outcome {
            tid,
            realtime: false,
            refused: None,
        };
    }
    match set_realtime(true).and_then(|()| set_realtime(false)) {
        Ok(()) => Outcome {
            tid,
            realtime: true,
            refused: None,
        },
        Err(e) => Outcome {
            tid,
            realtime: false,
            refused: Some(describe(e)),
        },
    }
}

/// Switches the calling thread to `SCHED_FIFO` 1, or back to `SCHED_OTHER` at nice 0.
fn set_realtime(on: bool) -> Result<(), thread_priority::Error> {
    let (priority, policy) = if on {
        (
            ThreadPriority::Min,
            ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
        )
    } else {
        let normal = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other);
        (nice_zero(normal)?, normal)
    };
    thread_priority::set_thread_priority_and_policy(thread_native_id(), priority, policy)
}

/// The crate maps a 0–99 scale onto niceness for normal threads; this is the value that maps
/// to nice 0, the default.
fn nice_zero(normal: ThreadSchedulePolicy) -> Result<ThreadPriority, thread_priority::Error> {
    (0..=*ThreadPriorityValue::MAX)
        .filter_map(|v| ThreadPriorityValue::try_from(v).ok())
        .map(ThreadPriority::Crossplatform)
        .find(|p| p.to_posix(normal).ok() == Some(0))
        .ok_or(thread_priority::Error::Priority("no value maps to nice 0"))
}

fn describe(e: thread_priority::Error) -> String {
    match e {
        // EPERM: the usual case for an unprivileged service.
        thread_priority::Error::OS(1) => {
            "not permitted (run with CAP_SYS_NICE or an RLIMIT_RTPRIO of at least 1)".into()
        }
        other => other.to_string(),
    }
}

/// The deadlines the rooms have armed, for the governor. Cheap to clone; every clone is the
/// same list. Without a governor (real-time not wanted, or not allowed) it keeps nothing.
#[derive(Clone, Default)]
pub struct Deadlines {
    watched: Option<Arc<Watched>>,
}

struct Watched {
    due: Mutex<BinaryHeap<Reverse<Instant>>>,
    changed: Notify,
}

impl Deadlines {
    /// A list that a governor ([`govern`]) watches.
    pub fn watched() -> Deadlines {
        Deadlines {
            watched: Some(Arc::new(Watched {
                due: Mutex::new(BinaryHeap::new()),
                changed: Notify::new(),
            })),
        }
    }

    /// A room's timer will fire at `at`. A deadline that is later cancelled (a pause, a lock)
    /// stays listed until it passes: at worst the thread is real-time for nothing a moment.
    pub fn expect(&self, at: Instant) {
        let Some(w) = &self.watched else {
            return;
        };
        if let Ok(mut due) = w.due.lock() {
            due.push(Reverse(at));
        }
        w.changed.notify_one();
    }
}

impl Watched {
    /// The earliest deadline still of interest at `now`; older ones are forgotten.
    fn next(&self, now: Instant) -> Option<Instant> {
        let mut due = self.due.lock().ok()?;
        while let Some(Reverse(at)) = due.peek().copied() {
            if at + TAIL > now {
                return Some(at);
            }
            due.pop();
        }
        None
    }
}

/// What the thread should be at `now` given the next deadline, and until when.
#[derive(Debug, PartialEq, Eq)]
struct Plan {
    realtime: bool,
    until: Option<Instant>,
}

fn plan(now: Instant, next: Option<Instant>) -> Plan {
    match next {
        None => Plan {
            realtime: false,
            until: None,
        },
        Some(at) if now + LEAD < at => Plan {
            realtime: false,
            until: Some(at - LEAD),
        },
        Some(at) => Plan {
            realtime: true,
            until: Some(at + TAIL),
        },
    }
}

/// Runs on the rooms' thread for as long as it lives, switching it as [`plan`] says. Only
/// started when [`probe_current_thread`] found real-time allowed.
pub async fn govern(deadlines: Deadlines) {
    let Some(watched) = deadlines.watched else {
        return;
    };
    let mut realtime = false;
    loop {
        let now = Instant::now();
        let plan = plan(now, watched.next(now));
        if plan.realtime != realtime {
            match set_realtime(plan.realtime) {
                Ok(()) => {
                    realtime = plan.realtime;
                    tracing::debug!(realtime, "the rooms' thread switched");
                }
                Err(e) => {
                    tracing::warn!(error = %describe(e), "the rooms' thread could not switch its priority");
                }
            }
        }
        match plan.until {
            Some(until) => {
                tokio::select! {
                    _ = tokio::time::sleep_until(until) => {}
                    _ = watched.changed.notified() => {}
                }
            }
            None => watched.changed.notified().await,
        }
    }
}

/// The calling thread's id, read from `/proc/thread-self` (a link to `<pid>/task/<tid>`).
fn current_tid() -> Option<u32> {
    std::fs::read_link("/proc/thread-self")
        .ok()?
        .file_name()?
        .to_str()?
        .parse()
        .ok()
}

/// The scheduling policy the kernel reports for a thread of this process: 0 is `SCHED_OTHER`,
/// 1 `SCHED_FIFO` (the `policy` line of `/proc/self/task/<tid>/sched`).
pub fn policy_of(tid: u32) -> Option<u32> {
    sched_field(tid, "policy")
}

fn sched_field<T: std::str::FromStr>(tid: u32, name: &str) -> Option<T> {
    let sched = std::fs::read_to_string(format!("/proc/self/task/{tid}/sched")).ok()?;
    sched
        .lines()
        .find(|l| l.split(':').next().map(str::trim) == Some(name))?
        .split(':')
        .nth(1)?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The nice value the kernel reports for a thread of this process.
    fn nice_of(tid: u32) -> Option<i64> {
        // `prio` is 120 + nice for a normal thread.
        sched_field(tid, "prio").map(|p: i64| p - 120)
    }

    /// Runs `f` on a thread of its own and returns what it returns with what the kernel then
    /// says of that thread: (policy, nice).
    fn on_new_thread<T: Send + 'static>(
        f: impl FnOnce() -> T + Send + 'static,
    ) -> (T, Option<u32>, Option<i64>) {
        std::thread::spawn(move || {
            let out = f();
            let tid = current_tid();
            (out, tid.and_then(policy_of), tid.and_then(nice_of))
        })
        .join()
        .expect("thread")
    }

    #[test]
    fn normal_leaves_the_thread_alone() {
        let (outcome, policy, nice) = on_new_thread(|| probe_current_thread(Wanted::Normal));
        assert!(!outcome.realtime);
        assert_eq!(outcome.refused, None);
        assert_eq!((policy, nice), (Some(0), Some(0)), "SCHED_OTHER, nice 0");
    }

    /// The probe leaves the thread normal either way; where real-time is allowed, switching
    /// it on gives `SCHED_FIFO` and off gives back `SCHED_OTHER` at nice 0.
    #[test]
    fn realtime_switches_on_and_off_where_allowed() {
        let (outcome, policy, nice) = on_new_thread(|| probe_current_thread(Wanted::Realtime));
        assert_eq!((policy, nice), (Some(0), Some(0)), "{outcome:?}");
        if !outcome.realtime {
            assert!(outcome.refused.is_some_and(|why| !why.is_empty()));
            return;
        }
        assert_eq!(outcome.refused, None);
        let (set, policy, _) = on_new_thread(|| set_realtime(true).is_ok());
        assert!(set);
        assert_eq!(policy, Some(1), "SCHED_FIFO");
        let (set, policy, nice) = on_new_thread(|| {
            set_realtime(true)
                .and_then(|()| set_realtime(false))
                .is_ok()
        });
        assert!(set);
        assert_eq!((policy, nice), (Some(0), Some(0)));
    }

    /// Without `CAP_SYS_NICE` (and with the default `RLIMIT_RTPRIO` of 0) the thread stays
    /// normal and the refusal says what would allow it. Capabilities belong to each thread,
    /// so the test drops it on its own thread only.
    #[test]
    fn without_the_right_the_thread_stays_normal() {
        let (outcome, policy, _) = on_new_thread(|| {
            caps::drop(
                None,
                caps::CapSet::Effective,
                caps::Capability::CAP_SYS_NICE,
            )
            .expect("dropping a capability is always allowed");
            probe_current_thread(Wanted::Realtime)
        });
        let rtprio_allowed = std::fs::read_to_string("/proc/self/limits")
            .expect("limits")
            .lines()
            .find(|l| l.starts_with("Max realtime priority"))
            .and_then(|l| l.split_whitespace().nth(3)?.parse::<u32>().ok())
            .unwrap_or(0);
        if rtprio_allowed == 0 {
            assert!(!outcome.realtime, "{outcome:?}");
            assert_eq!(policy, Some(0), "SCHED_OTHER");
            let why = outcome.refused.expect("a reason");
            assert!(why.contains("CAP_SYS_NICE"), "{why}");
        }
    }

    #[test]
    fn the_plan_is_real_time_from_lead_before_a_deadline_to_tail_after() {
        let now = Instant::now();
        let ms = Duration::from_millis;
        assert_eq!(
            plan(now, None),
            Plan {
                realtime: false,
                until: None
            }
        );
        let far = now + LEAD + ms(500);
        assert_eq!(
            plan(now, Some(far)),
            Plan {
                realtime: false,
                until: Some(far - LEAD)
            }
        );
        let near = now + LEAD - ms(1);
        assert_eq!(
            plan(now, Some(near)),
            Plan {
                realtime: true,
                until: Some(near + TAIL)
            }
        );
        assert_eq!(plan(now, Some(now)).until, Some(now + TAIL));
    }

    #[test]
    fn passed_deadlines_are_forgotten_after_the_tail() {
        let deadlines = Deadlines::watched();
        let now = Instant::now();
        let ms = Duration::from_millis;
        deadlines.expect(now + ms(300));
        deadlines.expect(now + ms(200));
        deadlines.expect(now);
        let watched = deadlines.watched.expect("watched");
        assert_eq!(watched.next(now), Some(now), "within its tail");
        assert_eq!(watched.next(now + TAIL), Some(now + ms(200)));
        assert_eq!(watched.next(now + ms(250) + TAIL), Some(now + ms(300)));
        assert_eq!(watched.next(now + ms(300) + TAIL), None);
    }
}
