//! The real `quizroom` binary as a child process: start on a free port, wait for `/healthz`,
//! kill -9, SIGTERM, restart on the same port and database. Dropping the handle kills the child,
//! so a failing test never leaves a server behind.

use std::fs::OpenOptions;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use super::api::Api;
use super::now_ms;

pub const ADMIN_TOKEN: &str = "faults-admin-token";

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub struct Server {
    pub name: String,
    pub port: u16,
    env: Vec<(String, String)>,
    child: Option<Child>,
    pub log_path: PathBuf,
    /// When the current process was spawned, and when it first answered `/healthz` 200.
    pub spawned_at_ms: i64,
    pub ready_at_ms: i64,
}

impl Server {
    /// Starts the server against `database_url` with the test defaults overridden by `extra`
    /// (setting names as in `.env.example`), and waits until `/healthz` answers 200.
    pub async fn start(name: &str, database_url: &str, extra: &[(&str, &str)]) -> Server {
        let mut server = Server::configure(name, database_url, extra);
        server.restart().await;
        server
    }

    /// Prepares a server without starting it.
    pub fn configure(name: &str, database_url: &str, extra: &[(&str, &str)]) -> Server {
        let port = free_port();
        let mut env: Vec<(String, String)> = vec![
            ("DATABASE_URL".into(), database_url.into()),
            ("QUIZROOM_ADDR".into(), format!("127.0.0.1:{port}")),
            ("ADMIN_TOKEN".into(), ADMIN_TOKEN.into()),
            (
                "RUST_LOG".into(),
                std::env::var("FAULTS_RUST_LOG").unwrap_or_else(|_| "warn".into()),
            ),
            (
                "QUIZROOM_STATIC_DIR".into(),
                concat!(env!("CARGO_MANIFEST_DIR"), "/static").into(),
            ),
            ("DB_POOL_SIZE".into(), "4".into()),
        ];
        for (k, v) in extra {
            env.retain(|(name, _)| name != k);
            env.push(((*k).into(), (*v).into()));
        }
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("faults");
        std::fs::create_dir_all(&dir).expect("create the log folder");
        let log_path = dir.join(format!("{name}.log"));
        let _ = std::fs::remove_file(&log_path);
        Server {
            name: name.into(),
            port,
            env,
            child: None,
            log_path,
            spawned_at_ms: 0,
            ready_at_ms: 0,
        }
    }

    pub fn setting(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn api(&self) -> Api {
        Api::new(format!("http://127.0.0.1:{}", self.port))
    }

    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child
            .as_ref()
            .and_then(|c| c.id())
            .expect("the server is running")
    }

    /// Spawns the process (it must not be running) without waiting for it.
    pub fn spawn(&mut self) {
        assert!(self.child.is_none(), "the server is already running");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .expect("open the server log");
        let err = log.try_clone().expect("clone the log handle");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_quizroom"));
        cmd.env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err))
            .kill_on_drop(true);
        self.spawned_at_ms = now_ms();
        self.child = Some(cmd.spawn().expect("spawn the quizroom binary"));
    }

    /// Waits until `/healthz` answers 200 (panics with the log's tail if the process exits or
    /// takes more than 60 s).
    pub async fn wait_ready(&mut self) {
        let api = self.api();
        let give_up = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                panic!(
                    "the server exited during start ({status}); log {}:\n{}",
                    self.log_path.display(),
                    self.log_tail()
                );
            }
            if api.healthz_status(Duration::from_millis(1500)).await == Some(200) {
                self.ready_at_ms = now_ms();
                return;
            }
            assert!(
                Instant::now() < give_up,
                "the server did not become healthy in 60 s; log:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts the process again on the same port and database, and waits until it is healthy.
    pub async fn restart(&mut self) {
        self.spawn();
        self.wait_ready().await;
    }

    /// kill -9, and waits until the process is gone.
    pub async fn kill9(&mut self) {
        let mut child = self.child.take().expect("the server is running");
        let _ = child.kill().await;
    }

    /// Sends SIGTERM and waits (up to `limit`) for the process to exit: its status and how long
    /// it took. Panics (after a kill -9) if it does not exit in time.
    pub async fn sigterm(&mut self, limit: Duration) -> (ExitStatus, Duration) {
        let pid = self.pid().to_string();
        let sent = Instant::now();
        let ok = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(ok.success(), "kill -TERM {pid} failed");
        let child = self.child.as_mut().expect("the server is running");
        match tokio::time::timeout(limit, child.wait()).await {
            Ok(status) => {
                self.child = None;
                (status.expect("wait for the server"), sent.elapsed())
            }
            Err(_) => {
                let _ = child.kill().await;
                self.child = None;
                panic!(
                    "the server did not exit within {limit:?} of SIGTERM; log:\n{}",
                    self.log_tail()
                );
            }
        }
    }

    /// The process's resident memory (`VmRSS`), in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc/<pid>/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/<pid>/status")
    }

    /// The last lines of the server's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
        }
    }
}
