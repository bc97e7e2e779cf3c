//! The machine side: file descriptor limits from `/proc/*/limits`, and the server's memory and
//! CPU from `/proc/PID/status` and `/proc/PID/stat`, sampled every second.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;

/// The open files limit of a process: (soft, hard); `u64::MAX` for unlimited.
pub fn open_files_limit(pid: &str) -> Option<(u64, u64)> {
    parse_limits(&std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?)
}

pub fn parse_limits(text: &str) -> Option<(u64, u64)> {
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    let mut fields = line.trim_start_matches("Max open files").split_whitespace();
    let num = |f: Option<&str>| match f? {
        "unlimited" => Some(u64::MAX),
        v => v.parse().ok(),
    };
    Some((num(fields.next())?, num(fields.next())?))
}

/// One reading of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcSample {
    pub rss_kib: u64,
    pub hwm_kib: u64,
    /// utime + stime, in clock ticks.
    pub cpu_ticks: u64,
    /// Time its threads spent runnable but waiting for a CPU, summed (ns).
    pub run_delay_ns: u64,
}

pub fn read_proc(pid: u32) -> Option<ProcSample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (rss_kib, hwm_kib) = parse_status(&status)?;
    Some(ProcSample {
        rss_kib,
        hwm_kib,
        cpu_ticks: parse_stat_ticks(&stat)?,
        run_delay_ns: run_delay_ns(&pid.to_string()).unwrap_or(0),
    })
}

/// How long the threads of a process (`"self"` or a pid) have waited on a run queue, in ns:
/// the second field of `/proc/PID/task/*/schedstat`, summed. Tells CPU contention (this machine
/// shared with other work) apart from slowness of the process itself.
pub fn run_delay_ns(pid: &str) -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        if let Ok(text) = std::fs::read_to_string(task.path().join("schedstat")) {
            total += parse_schedstat_delay(&text).unwrap_or(0);
        }
    }
    Some(total)
}

pub fn parse_schedstat_delay(text: &str) -> Option<u64> {
    text.split_whitespace().nth(1)?.parse().ok()
}

/// ms of run-queue wait per second of wall time between two readings.
pub fn wait_ms_per_s(before_ns: u64, after_ns: u64, secs: f64) -> f64 {
    if secs <= 0.0 {
        return 0.0;
    }
    after_ns.saturating_sub(before_ns) as f64 / 1e6 / secs
}

/// (VmRSS, VmHWM) in KiB.
pub fn parse_status(text: &str) -> Option<(u64, u64)> {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// utime + stime (fields 14 and 15) of `/proc/PID/stat`; the command name in parentheses may
/// hold spaces, so fields are counted after its closing parenthesis.
pub fn parse_stat_ticks(text: &str) -> Option<u64> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Open file descriptors of a process (one directory read; not sampled every second).
pub fn open_fds(pid: u32) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

/// Clock ticks per second for `/proc/PID/stat`, from `getconf CLK_TCK` (100 on Linux).
pub async fn clock_ticks() -> u64 {
    let out = tokio::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .await;
    out.ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

#[derive(Debug, Default)]
struct SamplerState {
    /// (seconds since the sampler started, RSS KiB, CPU % and run-queue wait ms per second
    /// over the last second).
    samples: Vec<(f64, u64, f64, f64)>,
    last: Option<(Instant, ProcSample)>,
    peak_rss_kib: u64,
    current_rss_kib: u64,
    current_cpu: f64,
    gone: bool,
}

/// Reads the server process every second in a task of its own.
pub struct Sampler {
    pub pid: u32,
    pub clk_tck: u64,
    started: Instant,
    state: Mutex<SamplerState>,
}

impl Sampler {
    /// Starts sampling `--server-pid` when given, after checking that it can be read.
    pub async fn start_for(pid: Option<u32>) -> Result<Option<Arc<Sampler>>, String> {
        let Some(pid) = pid else {
            return Ok(None);
        };
        let s = Sampler::start(pid).await;
        if s.sample().is_none() {
            return Err(format!(
                "cannot read /proc/{pid}/status and /proc/{pid}/stat: is the server's pid right?"
            ));
        }
        Ok(Some(s))
    }

    async fn start(pid: u32) -> Arc<Sampler> {
        let sampler = Arc::new(Sampler {
            pid,
            clk_tck: clock_ticks().await,
            started: Instant::now(),
            state: Mutex::new(SamplerState::default()),
        });
        let s = sampler.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                if s.sample().is_none() {
                    break;
                }
            }
        });
        sampler
    }

    /// Reads now, records the reading, and returns it; `None` once the process is gone.
    pub fn sample(&self) -> Option<ProcSample> {
        let now = Instant::now();
        let reading = read_proc(self.pid);
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(r) = reading else {
            st.gone = true;
            return None;
        };
        st.peak_rss_kib = st.peak_rss_kib.max(r.rss_kib);
        st.current_rss_kib = r.rss_kib;
        if let Some((at, prev)) = st.last {
            let secs = now.duration_since(at).as_secs_f64();
            // Only whole-second intervals of the sampling task make the CPU series; readings
            // taken in between (phase marks) just move the reference point.
            if secs >= 0.5 {
                let cpu = cpu_percent(
                    r.cpu_ticks.saturating_sub(prev.cpu_ticks),
                    secs,
                    self.clk_tck,
                );
                let wait = wait_ms_per_s(prev.run_delay_ns, r.run_delay_ns, secs);
                st.current_cpu = cpu;
                let t = now.duration_since(self.started).as_secs_f64();
                st.samples.push((t, r.rss_kib, cpu, wait));
                st.last = Some((now, r));
            }
        } else {
            st.last = Some((now, r));
        }
        Some(r)
    }

    /// (current RSS KiB, CPU % over the last second) for the progress line.
    pub fn current(&self) -> (u64, f64, bool) {
        let st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        (st.current_rss_kib, st.current_cpu, st.gone)
    }

    /// (peak sampled RSS KiB, peak CPU %, peak run-queue wait ms/s, samples taken).
    pub fn peaks(&self) -> (u64, f64, f64, usize) {
        let st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let cpu = st.samples.iter().map(|s| s.2).fold(0.0, f64::max);
        let wait = st.samples.iter().map(|s| s.3).fold(0.0, f64::max);
        (st.peak_rss_kib, cpu, wait, st.samples.len())
    }
}

pub fn cpu_percent(ticks: u64, secs: f64, clk_tck: u64) -> f64 {
    if secs <= 0.0 || clk_tck == 0 {
        return 0.0;
    }
    ticks as f64 / clk_tck as f64 / secs * 100.0
}

/// A reading taken at a moment of the run, with the time it was taken.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    pub at: Instant,
    pub sample: ProcSample,
}

impl Mark {
    pub fn take(sampler: &Sampler) -> Option<Mark> {
        Some(Mark {
            at: Instant::now(),
            sample: sampler.sample()?,
        })
    }
}

/// CPU % between two marks.
pub fn cpu_between(a: &Mark, b: &Mark, clk_tck: u64) -> f64 {
    cpu_percent(
        b.sample.cpu_ticks.saturating_sub(a.sample.cpu_ticks),
        b.at.duration_since(a.at).as_secs_f64(),
        clk_tck,
    )
}

/// Run-queue wait (ms per second) between two marks.
pub fn wait_between(a: &Mark, b: &Mark) -> f64 {
    wait_ms_per_s(
        a.sample.run_delay_ns,
        b.sample.run_delay_ns,
        b.at.duration_since(a.at).as_secs_f64(),
    )
}

/// The server figures of the report.
#[derive(Debug, Clone, Serialize)]
pub struct ServerFigures {
    pub pid: u32,
    pub fd_limit_soft: Option<u64>,
    pub open_fds_after_join: Option<usize>,
    pub rss_start_kib: Option<u64>,
    pub rss_before_players_kib: Option<u64>,
    pub rss_after_join_kib: Option<u64>,
    pub rss_end_kib: Option<u64>,
    /// Highest VmRSS seen by any reading during the run.
    pub rss_peak_kib: u64,
    /// VmHWM at the end: the peak since the server started (earlier runs included).
    pub hwm_end_kib: Option<u64>,
    /// (peak RSS - RSS before the players connected) / players joined.
    pub rss_per_player_kib: Option<f64>,
    /// (RSS once all joined - RSS before the players connected) / players joined.
    pub rss_per_player_joined_kib: Option<f64>,
    /// CPU over the whole run (100 % = one core).
    pub cpu_avg_pct: Option<f64>,
    /// CPU from the first start request to the last game_over.
    pub cpu_game_avg_pct: Option<f64>,
    /// Highest one-second CPU sample.
    pub cpu_peak_pct: f64,
    /// How long the server's threads waited for a CPU, ms per second (all threads summed),
    /// from the first start to the last game_over: CPU contention, not the server's own work.
    pub runqueue_wait_game_ms_per_s: Option<f64>,
    /// The highest one-second value of the same.
    pub runqueue_wait_peak_ms_per_s: f64,
    pub samples: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_line() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max processes             127885               127885               processes \n\
                    Max open files            1024                 524288               files     \n";
        assert_eq!(parse_limits(text), Some((1024, 524288)));
        let text = "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_limits(text), Some((u64::MAX, u64::MAX)));
        assert_eq!(parse_limits("nothing"), None);
    }

    #[test]
    fn status_and_stat() {
        let status = "Name:\tquizroom\nVmHWM:\t   52000 kB\nVmRSS:\t   48000 kB\n";
        assert_eq!(parse_status(status), Some((48000, 52000)));
        let stat =
            "13490 (a (weird) name) R 13445 13445 2241 0 -1 4194304 102 0 0 0 250 75 0 0 20 0 1 0";
        assert_eq!(parse_stat_ticks(stat), Some(325));
        assert_eq!(cpu_percent(150, 1.0, 100), 150.0);
        assert_eq!(cpu_percent(50, 2.0, 100), 25.0);
        assert_eq!(
            parse_schedstat_delay("123456 7890000 42\n"),
            Some(7_890_000)
        );
        assert_eq!(wait_ms_per_s(1_000_000, 21_000_000, 2.0), 10.0);
        assert_eq!(wait_ms_per_s(5, 1, 1.0), 0.0);
    }
}
