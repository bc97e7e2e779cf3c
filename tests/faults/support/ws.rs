//! WebSocket clients. [`Client`] reads all the time (a background task feeds its mailbox) and
//! lets a test wait for a message of some type while keeping the others for later.
//! [`SlowReader`] joins and then never reads again.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{SOON, now_ms};

type Stream = WebSocketStream<MaybeTlsStream<TcpStream>>;

enum Incoming {
    Msg(Value),
    /// The socket ended: the close code, or `None` without a close frame.
    Closed(Option<u16>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum WaitError {
    Timeout,
    Closed(Option<u16>),
}

/// How an answer ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `answer_ack`, with the message.
    Ack(Value),
    /// `answer_rejected`, with its reason.
    Rejected(String),
}

pub struct Client {
    pub name: String,
    sink: SplitSink<Stream, Message>,
    inbox: mpsc::UnboundedReceiver<Incoming>,
    pending: VecDeque<Value>,
    /// Set once the socket has closed: its close code (`None` without a close frame).
    pub closed: Option<Option<u16>>,
    reader: JoinHandle<()>,
    /// For players: the token and id of the `welcome`.
    pub token: Option<String>,
    pub player_id: Option<String>,
}

impl Drop for Client {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Client {
    /// Opens a socket. Every message gets a `_recv_at` field: the local clock when it arrived.
    pub async fn connect(url: &str, name: &str) -> Client {
        let (ws, _) = tokio::time::timeout(SOON, tokio_tungstenite::connect_async(url))
            .await
            .unwrap_or_else(|_| panic!("{name}: connecting to {url} timed out"))
            .unwrap_or_else(|e| panic!("{name}: cannot connect to {url}: {e}"));
        let (sink, mut stream) = ws.split();
        let (tx, inbox) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            while let Some(frame) = stream.next().await {
                match frame {
                    Ok(Message::Text(text)) => {
                        let mut v: Value = serde_json::from_str(text.as_str()).unwrap_or_else(
                            |_| json!({"type": "_not_json", "text": text.as_str()}),
                        );
                        v["_recv_at"] = json!(now_ms());
                        if tx.send(Incoming::Msg(v)).is_err() {
                            return;
                        }
                    }
                    Ok(Message::Close(frame)) => {
                        let _ = tx.send(Incoming::Closed(frame.map(|f| u16::from(f.code))));
                        return;
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            let _ = tx.send(Incoming::Closed(None));
        });
        Client {
            name: name.to_owned(),
            sink,
            inbox,
            pending: VecDeque::new(),
            closed: None,
            reader,
            token: None,
            player_id: None,
        }
    }

    /// Joins as a player; returns the client and its `welcome`.
    pub async fn join(url: &str, code: &str, nickname: &str) -> (Client, Value) {
        let mut c = Client::connect(url, nickname).await;
        c.send(&json!({"type": "join", "code": code, "nickname": nickname}))
            .await;
        let welcome = c.wait_for("welcome", SOON).await;
        c.token = welcome["player_token"].as_str().map(str::to_owned);
        c.player_id = welcome["player_id"].as_str().map(str::to_owned);
        (c, welcome)
    }

    /// Resumes a player on a new socket; returns the client and its `welcome`.
    pub async fn resume(url: &str, code: &str, token: &str, name: &str) -> (Client, Value) {
        let mut c = Client::connect(url, name).await;
        c.send(&json!({"type": "resume", "code": code, "player_token": token}))
            .await;
        let welcome = c.wait_for("welcome", SOON).await;
        c.token = Some(token.to_owned());
        c.player_id = welcome["player_id"].as_str().map(str::to_owned);
        (c, welcome)
    }

    /// Joins as a host screen; returns the client and its `welcome`.
    pub async fn host(url: &str, code: &str, host_token: &str) -> (Client, Value) {
        let mut c = Client::connect(url, "host").await;
        c.send(&json!({"type": "host", "code": code, "host_token": host_token}))
            .await;
        let welcome = c.wait_for("welcome", SOON).await;
        (c, welcome)
    }

    /// Sends one JSON message; false if the socket is gone.
    pub async fn send(&mut self, v: &Value) -> bool {
        self.sink
            .send(Message::Text(v.to_string().into()))
            .await
            .is_ok()
    }

    fn take_pending(&mut self, pred: &impl Fn(&Value) -> bool) -> Option<Value> {
        let i = self.pending.iter().position(pred)?;
        self.pending.remove(i)
    }

    /// The first message (kept or new) that `pred` accepts; the others stay in the mailbox.
    pub async fn wait_where(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Result<Value, WaitError> {
        if let Some(v) = self.take_pending(&pred) {
            return Ok(v);
        }
        let give_up = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(code) = self.closed {
                return Err(WaitError::Closed(code));
            }
            match tokio::time::timeout_at(give_up, self.inbox.recv()).await {
                Err(_) => return Err(WaitError::Timeout),
                Ok(None) => self.closed = Some(None),
                Ok(Some(Incoming::Closed(code))) => self.closed = Some(code),
                Ok(Some(Incoming::Msg(v))) => {
                    if pred(&v) {
                        return Ok(v);
                    }
                    self.pending.push_back(v);
                }
            }
        }
    }

    /// The next message of type `ty`; panics on timeout or close.
    pub async fn wait_for(&mut self, ty: &str, timeout: Duration) -> Value {
        match self.wait_where(timeout, |v| v["type"] == ty).await {
            Ok(v) => v,
            Err(e) => panic!(
                "{}: no {ty:?} within {timeout:?} ({e:?}); kept: {:?}",
                self.name,
                self.pending.iter().map(|v| &v["type"]).collect::<Vec<_>>()
            ),
        }
    }

    /// The next message of type `ty` about question `q`; panics on timeout or close.
    pub async fn wait_for_q(&mut self, ty: &str, q: i64, timeout: Duration) -> Value {
        match self
            .wait_where(timeout, |v| v["type"] == ty && v["question"] == q)
            .await
        {
            Ok(v) => v,
            Err(e) => panic!(
                "{}: no {ty:?} for question {q} within {timeout:?} ({e:?}); kept: {:?}",
                self.name,
                self.pending
                    .iter()
                    .map(|v| format!("{} {}", v["type"], v["question"]))
                    .collect::<Vec<_>>()
            ),
        }
    }

    /// Sends an answer and waits for its `answer_ack` or `answer_rejected`.
    pub async fn answer(
        &mut self,
        question: i64,
        choice: i64,
        timeout: Duration,
    ) -> Result<Outcome, WaitError> {
        self.send(&json!({"type": "answer", "question": question, "choice": choice}))
            .await;
        self.answer_outcome(question, timeout).await
    }

    /// Waits for the `answer_ack` or `answer_rejected` of an answer already sent.
    pub async fn answer_outcome(
        &mut self,
        question: i64,
        timeout: Duration,
    ) -> Result<Outcome, WaitError> {
        let v = self
            .wait_where(timeout, |v| {
                (v["type"] == "answer_ack" || v["type"] == "answer_rejected")
                    && v["question"] == question
            })
            .await?;
        Ok(if v["type"] == "answer_ack" {
            Outcome::Ack(v)
        } else {
            Outcome::Rejected(v["reason"].as_str().unwrap_or_default().to_owned())
        })
    }

    /// Waits until the socket closes; its close code (`None` without a close frame).
    pub async fn wait_closed(&mut self, timeout: Duration) -> Option<u16> {
        match self.wait_where(timeout, |_| false).await {
            Err(WaitError::Closed(code)) => code,
            other => panic!(
                "{}: the socket did not close in {timeout:?}: {other:?}",
                self.name
            ),
        }
    }

    /// Moves whatever has arrived into the mailbox, without waiting.
    pub fn drain_now(&mut self) {
        while let Ok(incoming) = self.inbox.try_recv() {
            match incoming {
                Incoming::Msg(v) => self.pending.push_back(v),
                Incoming::Closed(code) => self.closed = Some(code),
            }
        }
    }

    /// Removes and returns every kept message of type `ty` (call `drain_now` first to include
    /// what has just arrived).
    pub fn take_all(&mut self, ty: &str) -> Vec<Value> {
        let (hits, rest): (VecDeque<Value>, VecDeque<Value>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|v| v["type"] == ty);
        self.pending = rest;
        hits.into()
    }
}

/// A player that joins and then never reads again. A silent one sends nothing either; a
/// pinging one sends WebSocket Ping frames as fast as the server takes them (control frames do
/// not count toward the rate limit), so the server has Pongs to write to a socket nobody reads
/// and its buffers fill in seconds rather than the minutes quiz traffic alone would take on
/// loopback, where the kernel absorbs about 3 MB per socket.
pub struct SlowReader {
    /// The socket, never read after the `welcome` (inside the ping task when pinging).
    _ws: Option<WebSocketStream<TcpStream>>,
    pinger: Option<JoinHandle<()>>,
    pub token: String,
    pub player_id: String,
}

impl Drop for SlowReader {
    fn drop(&mut self) {
        if let Some(p) = self.pinger.take() {
            p.abort();
        }
    }
}

impl SlowReader {
    pub async fn join(
        port: u16,
        code: &str,
        nickname: &str,
        ping_flood: bool,
    ) -> (SlowReader, Value) {
        let socket = TcpSocket::new_v4().expect("a socket");
        socket.set_recv_buffer_size(4096).expect("set SO_RCVBUF");
        let stream = socket
            .connect(([127, 0, 0, 1], port).into())
            .await
            .expect("connect the slow reader");
        let (mut ws, _) =
            tokio_tungstenite::client_async(format!("ws://127.0.0.1:{port}/ws"), stream)
                .await
                .expect("WebSocket handshake");
        ws.send(Message::Text(
            json!({"type": "join", "code": code, "nickname": nickname})
                .to_string()
                .into(),
        ))
        .await
        .expect("send join");
        let welcome = tokio::time::timeout(SOON, async {
            while let Some(Ok(frame)) = ws.next().await {
                if let Message::Text(t) = frame {
                    let v: Value = serde_json::from_str(t.as_str()).expect("JSON");
                    if v["type"] == "welcome" {
                        return v;
                    }
                }
            }
            panic!("the slow reader's socket closed before its welcome");
        })
        .await
        .expect("the slow reader's welcome");
        let (ws, pinger) = if ping_flood {
            let pinger = tokio::spawn(async move {
                let payload = vec![7u8; 125];
                while ws.send(Message::Ping(payload.clone().into())).await.is_ok() {}
            });
            (None, Some(pinger))
        } else {
            (Some(ws), None)
        };
        let reader = SlowReader {
            _ws: ws,
            pinger,
            token: welcome["player_token"].as_str().expect("token").to_owned(),
            player_id: welcome["player_id"].as_str().expect("id").to_owned(),
        };
        (reader, welcome)
    }
}
