//! Real-time scheduling for the rooms' thread, so that its timers fire on time while the HTTP
//! workers, Postgres and everything else on the machine keep the cores busy.
//!
//! The rooms' thread is idle most of the time (about a tenth of a core with 10,000 players),
//! but when a deadline falls it must run at once: `time_up` is stamped when the room's timer
//! callback runs, not when the timer was due. Under full load a normal thread waits its turn
//! behind the busy workers, and with a thousand rooms the last deadline of a burst was stamped
//! 12–21 ms late; as the lowest real-time priority (`SCHED_FIFO` 1) the same thread is run as
//! soon as it is ready, and the timer's p99 is 3–4 ms (docs/benchmarks.md).
//!
//! Changing the policy needs the right to (root, `CAP_SYS_NICE`, or `RLIMIT_RTPRIO` of at
//! least 1, e.g. systemd's `LimitRTPRIO=1`). Without it the thread keeps the normal policy and
//! the server says so once at startup; nothing else changes. The kernel keeps 5 % of every
//! second for normal threads (`sched_rt_runtime_us`), so a real-time thread cannot lock up
//! the machine.

use serde::Serialize;
use thread_priority::{
    RealtimeThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy, thread_native_id,
};

/// How the rooms' thread is scheduled: `ROOMS_THREAD_PRIORITY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// `realtime` (the default): `SCHED_FIFO` at priority 1 when the process may.
    Realtime,
    /// `normal`: leave the thread as the OS made it.
    Normal,
}

/// What the rooms' thread ended up with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The thread's id (`/proc/<pid>/task/<tid>`), when it could be read.
    pub tid: Option<u32>,
    pub realtime: bool,
    /// Why the thread is not real-time although that was asked for.
    pub refused: Option<String>,
}

/// Applies `wanted` to the calling thread.
pub fn apply_to_current_thread(wanted: Wanted) -> Outcome {
    let tid = current_tid();
    if wanted == Wanted::Normal {
        return Outcome {
            tid,
            realtime: false,
            refused: None,
        };
    }
    let result = thread_priority::set_thread_priority_and_policy(
        thread_native_id(),
        ThreadPriority::Min,
        ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
    );
    match result {
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

fn describe(e: thread_priority::Error) -> String {
    match e {
        // EPERM: the usual case for an unprivileged service.
        thread_priority::Error::OS(1) => {
            "not permitted (run with CAP_SYS_NICE or an RLIMIT_RTPRIO of at least 1)".into()
        }
        other => other.to_string(),
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
    let sched = std::fs::read_to_string(format!("/proc/self/task/{tid}/sched")).ok()?;
    sched
        .lines()
        .find(|l| l.starts_with("policy"))?
        .split(':')
        .nth(1)?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies `wanted` on a thread of its own and reads back what the kernel says of it.
    fn on_new_thread(wanted: Wanted) -> (Outcome, Option<u32>) {
        std::thread::spawn(move || {
            let outcome = apply_to_current_thread(wanted);
            let policy = outcome.tid.and_then(policy_of);
            (outcome, policy)
        })
        .join()
        .expect("thread")
    }

    /// Without `CAP_SYS_NICE` (and with the default `RLIMIT_RTPRIO` of 0) the thread stays
    /// normal and the refusal says what would allow it. Capabilities belong to each thread,
    /// so the test drops it on its own thread only.
    #[test]
    fn without_the_right_the_thread_stays_normal() {
        let (outcome, policy) = std::thread::spawn(|| {
            caps::drop(
                None,
                caps::CapSet::Effective,
                caps::Capability::CAP_SYS_NICE,
            )
            .expect("dropping a capability is always allowed");
            let outcome = apply_to_current_thread(Wanted::Realtime);
            let policy = outcome.tid.and_then(policy_of);
            (outcome, policy)
        })
        .join()
        .expect("thread");
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
    fn normal_leaves_the_thread_alone() {
        let (outcome, policy) = on_new_thread(Wanted::Normal);
        assert!(!outcome.realtime);
        assert_eq!(outcome.refused, None);
        assert_eq!(policy, Some(0), "SCHED_OTHER");
    }

    #[test]
    fn realtime_is_what_the_kernel_reports_or_a_clear_refusal() {
        let (outcome, policy) = on_new_thread(Wanted::Realtime);
        if outcome.realtime {
            assert_eq!(policy, Some(1), "SCHED_FIFO");
            assert_eq!(outcome.refused, None);
        } else {
            assert_eq!(policy, Some(0), "SCHED_OTHER");
            assert!(outcome.refused.is_some_and(|why| !why.is_empty()));
        }
    }
}
