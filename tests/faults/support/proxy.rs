//! A TCP proxy between the server and Postgres, so a test can make the database fail on cue
//! without touching the machine's shared Postgres:
//!
//! - [`Mode::Down`]: every proxied connection is dropped and new ones are refused (the listener
//!   is closed: `ECONNREFUSED`, as when Postgres is stopped);
//! - [`Mode::Stalled`]: connections stay open but no byte moves either way and new connections
//!   hang (as when the network or the database host freezes);
//! - [`PgProxy::lose_next_commit_reply`]: the next `COMMIT` reaches Postgres, but its reply is
//!   swallowed and that connection is cut 300 ms later (the commit happened, the client cannot
//!   know it).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Up,
    Down,
    Stalled,
}

pub struct PgProxy {
    pub port: u16,
    mode: watch::Sender<Mode>,
    lose_commit: Arc<AtomicBool>,
    commits_lost: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for PgProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn bind(port: u16) -> TcpListener {
    let mut tries = 0;
    loop {
        let bound = TcpSocket::new_v4().and_then(|s| {
            s.set_reuseaddr(true)?;
            s.bind(([127, 0, 0, 1], port).into())?;
            s.listen(256)
        });
        match bound {
            Ok(l) => return l,
            Err(e) => {
                tries += 1;
                assert!(tries < 200, "the proxy cannot listen on {port} again: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

impl PgProxy {
    /// Listens on a free port and forwards to `upstream` (`host:port` of Postgres).
    pub async fn start(upstream: &str) -> PgProxy {
        let listener = bind(0).await;
        let port = listener.local_addr().expect("proxy address").port();
        let (mode, rx) = watch::channel(Mode::Up);
        let lose_commit = Arc::new(AtomicBool::new(false));
        let commits_lost = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(serve(
            listener,
            port,
            upstream.to_owned(),
            rx,
            lose_commit.clone(),
            commits_lost.clone(),
        ));
        PgProxy {
            port,
            mode,
            lose_commit,
            commits_lost,
            task,
        }
    }

    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    pub fn down(&self) {
        self.set(Mode::Down);
    }

    pub fn up(&self) {
        self.set(Mode::Up);
    }

    pub fn stall(&self) {
        self.set(Mode::Stalled);
    }

    /// Arms the one-shot fault: the next `COMMIT` sent through the proxy is delivered, its reply
    /// is not, and its connection is cut 300 ms later.
    pub fn lose_next_commit_reply(&self) {
        self.lose_commit.store(true, Ordering::SeqCst);
    }

    /// How many `COMMIT` replies have been swallowed so far.
    pub fn commit_replies_lost(&self) -> usize {
        self.commits_lost.load(Ordering::SeqCst)
    }
}

async fn serve(
    first: TcpListener,
    port: u16,
    upstream: String,
    mut mode: watch::Receiver<Mode>,
    lose_commit: Arc<AtomicBool>,
    commits_lost: Arc<AtomicUsize>,
) {
    let mut listener = Some(first);
    loop {
        let current = *mode.borrow_and_update();
        if current == Mode::Down {
            // Closing the listener makes new connections fail with ECONNREFUSED.
            listener = None;
            if mode.changed().await.is_err() {
                return;
            }
            continue;
        }
        let l = match &listener {
            Some(l) => l,
            None => listener.insert(bind(port).await),
        };
        tokio::select! {
            accepted = l.accept() => {
                if let Ok((client, _)) = accepted {
                    tokio::spawn(relay(
                        client,
                        upstream.clone(),
                        mode.clone(),
                        lose_commit.clone(),
                        commits_lost.clone(),
                    ));
                }
            }
            changed = mode.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

/// Waits while the proxy is stalled; false once it is down (or gone).
async fn flowing(mode: &mut watch::Receiver<Mode>) -> bool {
    loop {
        match *mode.borrow_and_update() {
            Mode::Up => return true,
            Mode::Down => return false,
            Mode::Stalled => {}
        }
        if mode.changed().await.is_err() {
            return false;
        }
    }
}

async fn until_down(mut mode: watch::Receiver<Mode>) {
    loop {
        if *mode.borrow_and_update() == Mode::Down {
            return;
        }
        if mode.changed().await.is_err() {
            return;
        }
    }
}

async fn relay(
    client: TcpStream,
    upstream: String,
    mut mode: watch::Receiver<Mode>,
    lose_commit: Arc<AtomicBool>,
    commits_lost: Arc<AtomicUsize>,
) {
    if !flowing(&mut mode).await {
        return;
    }
    let Ok(server) = TcpStream::connect(&upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_r, client_w) = client.into_split();
    let (server_r, server_w) = server.into_split();
    let swallowing = Arc::new(AtomicBool::new(false));
    let cut_after_swallow = {
        let swallowing = swallowing.clone();
        async move {
            while !swallowing.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            commits_lost.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    };
    tokio::select! {
        _ = to_server(client_r, server_w, mode.clone(), lose_commit, swallowing.clone()) => {}
        _ = to_client(server_r, client_w, mode.clone(), swallowing) => {}
        _ = until_down(mode) => {}
        _ = cut_after_swallow => {}
    }
}

async fn to_client(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    mut mode: watch::Receiver<Mode>,
    swallowing: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if !flowing(&mut mode).await {
            return;
        }
        if swallowing.load(Ordering::SeqCst) {
            continue;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Client to server, reading the frontend protocol's framing to spot `COMMIT`.
async fn to_server(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    mut mode: watch::Receiver<Mode>,
    lose_commit: Arc<AtomicBool>,
    swallowing: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut frames = Frames::default();
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if !flowing(&mut mode).await {
            return;
        }
        let commit = frames.feed(&buf[..n]);
        if commit && lose_commit.swap(false, Ordering::SeqCst) {
            // Set before the COMMIT goes out, so that no byte of its reply gets through.
            swallowing.store(true, Ordering::SeqCst);
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Splits the frontend (client to server) byte stream of the Postgres protocol into messages.
#[derive(Default)]
struct Frames {
    buf: Vec<u8>,
    /// After the StartupMessage every message has a type byte.
    started: bool,
}

impl Frames {
    /// Takes more bytes; true if a complete simple-query `COMMIT` message is among them.
    fn feed(&mut self, bytes: &[u8]) -> bool {
        self.buf.extend_from_slice(bytes);
        let mut commit = false;
        loop {
            let (header, len_at) = if self.started { (1, 1) } else { (0, 0) };
            if self.buf.len() < header + 4 {
                return commit;
            }
            let len = u32::from_be_bytes([
                self.buf[len_at],
                self.buf[len_at + 1],
                self.buf[len_at + 2],
                self.buf[len_at + 3],
            ]) as usize;
            let total = header + len;
            if len < 4 || self.buf.len() < total {
                return commit;
            }
            let msg: Vec<u8> = self.buf.drain(..total).collect();
            if self.started {
                if msg[0] == b'Q' && msg[5..].starts_with(b"COMMIT") {
                    commit = true;
                }
            } else if msg.len() >= 8 && msg[4..8] == [0, 3, 0, 0] {
                // StartupMessage (protocol 3.0); SSLRequest and the like stay untyped.
                self.started = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Frames;

    fn msg(t: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![t];
        m.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn frames_spot_a_commit_split_anywhere() {
        let mut stream = Vec::new();
        stream.extend_from_slice(&9u32.to_be_bytes());
        stream.extend_from_slice(&[0, 3, 0, 0, 0]);
        stream.extend(msg(b'Q', b"BEGIN\0"));
        stream.extend(msg(b'P', b"\0INSERT INTO x VALUES ('COMMIT')\0\0\0"));
        stream.extend(msg(b'Q', b"COMMIT\0"));
        for cut in 0..stream.len() {
            let mut f = Frames::default();
            let a = f.feed(&stream[..cut]);
            let b = f.feed(&stream[cut..]);
            assert!(a ^ b, "cut at {cut}");
        }
    }
}
