//! The session task of one WebSocket: frames in, typed messages to the room; the room's queued
//! frames out. It holds no game state, only which room and role the socket joined as.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix::Addr;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, Session};
use bytestring::ByteString;
use futures_channel::mpsc;
use futures_util::StreamExt;
use tokio::sync::watch;
use tracing::Instrument;
use uuid::Uuid;

use super::rate::TokenBucket;
use crate::domain::{JoinError, Nickname};
use crate::http::AppState;
use crate::metrics::METRICS;
use crate::outbox::ConnTx;
use crate::protocol::{self, ClientMessage, Event, Outbound};
use crate::rooms::{
    ConnId, Disconnected, HostJoin, Join, JoinFailure, Leave, Resume, ResumeFailure, Room,
    SubmitAnswer, next_conn_id, now_ms,
};

/// `GET /ws`: upgrades and spawns the session task.
pub async fn ws_route(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    let (response, session, stream) = actix_ws::handle(&req, body)?;
    let limit = state.deps.settings.ws_max_frame_bytes;
    let stream = stream
        .max_frame_size(limit)
        .aggregate_continuations()
        .max_continuation_size(limit);
    let conn = next_conn_id();
    let span = tracing::info_span!(
        "ws",
        conn,
        room_code = tracing::field::Empty,
        player_id = tracing::field::Empty
    );
    let state = state.into_inner();
    actix_web::rt::spawn(
        async move {
            METRICS.ws_connections.add(1);
            let mut s = SessionTask::new(conn, session, state);
            s.run(stream).await;
            METRICS.ws_connections.add(-1);
        }
        .instrument(span),
    );
    Ok(response)
}

/// What the socket has joined as.
enum Role {
    None,
    Player { room: Addr<Room> },
    Host { room: Addr<Room> },
}

/// The session's end of a joined socket's overflow queue (see `outbox`).
struct Overflow {
    rx: mpsc::Receiver<Outbound>,
    /// Frames in `rx` not yet handed to the socket, shared with the room's `ConnTx`.
    backlog: Arc<AtomicUsize>,
}

enum Flow {
    Continue,
    Stop,
}

struct SessionTask {
    conn: ConnId,
    session: Session,
    state: std::sync::Arc<AppState>,
    role: Role,
    /// Frames from the room; present once joined.
    outbound: Option<Overflow>,
    bucket: TokenBucket,
    last_heard: Instant,
}

impl SessionTask {
    fn new(conn: ConnId, session: Session, state: std::sync::Arc<AppState>) -> Self {
        let s = &state.deps.settings;
        let bucket = TokenBucket::new(s.ws_rate_per_s, s.ws_rate_burst, Instant::now());
        SessionTask {
            conn,
            session,
            state,
            role: Role::None,
            outbound: None,
            bucket,
            last_heard: Instant::now(),
        }
    }

    async fn run(&mut self, mut stream: actix_ws::AggregatedMessageStream) {
        let settings = self.state.deps.settings.clone();
        let mut heartbeat = tokio::time::interval(settings.ws_heartbeat);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        heartbeat.tick().await;
        let mut shutdown: watch::Receiver<bool> = self.state.shutdown.clone();
        let mut shutting_down = false;
        let close = loop {
            tokio::select! {
                biased;
                _ = shutdown.changed() => {
                    shutting_down = true;
                    break Some((CloseCode::Restart, "server restart"));
                }
                out = next_outbound(&mut self.outbound) => match out {
                    Some(Outbound::Text(text)) => {
                        if !Box::pin(self.write(text)).await {
                            break None;
                        }
                        // Only now, with the frame in the socket's queue, may the room go
                        // back to writing there directly.
                        if let Some(o) = &self.outbound {
                            o.backlog.fetch_sub(1, Ordering::AcqRel);
                        }
                    }
                    Some(Outbound::Close(code, reason)) => break Some((CloseCode::from(code), reason)),
                    // The room let go of this socket: it did not keep up, or the room closed.
                    None => break Some((CloseCode::Again, "too slow or room closed; reconnect and resume")),
                },
                frame = stream.recv() => {
                    let received_at = now_ms();
                    self.last_heard = Instant::now();
                    match frame {
                        None => break None,
                        Some(Err(e)) if is_oversize(&e) => break Some((CloseCode::Size, "message too large")),
                        Some(Err(e)) => {
                            tracing::debug!(error = %e, "websocket protocol error");
                            break Some((CloseCode::Protocol, "protocol error"));
                        }
                        // Boxed, like every await below that holds a timer: a task's future is
                        // as large as its largest await, and this one lives as long as the socket.
                        Some(Ok(msg)) => match Box::pin(self.on_frame(msg, received_at)).await {
                            Ok(Flow::Continue) => {}
                            Ok(Flow::Stop) => break Some((CloseCode::Normal, "closing")),
                            Err(close) => break Some(close),
                        },
                    }
                }
                _ = heartbeat.tick() => {
                    if self.last_heard.elapsed() > settings.ws_client_timeout {
                        tracing::debug!("client silent too long; closing");
                        break Some((CloseCode::Away, "no heartbeat"));
                    }
                    let timeout = settings.ws_client_timeout;
                    let ping = Box::pin(tokio::time::timeout(timeout, self.session.ping(b"")));
                    if !matches!(ping.await, Ok(Ok(()))) {
                        break None;
                    }
                }
            }
        };
        // A planned restart is not a disconnect: the room must come back as it stands (rule 20),
        // not, say, close a question because every player still connected has answered.
        if !shutting_down {
            match &self.role {
                Role::Player { room } | Role::Host { room } => {
                    room.do_send(Disconnected { conn: self.conn })
                }
                Role::None => {}
            }
        }
        if let Some((code, reason)) = close {
            let session = self.session.clone();
            let reason = CloseReason {
                code,
                description: Some(reason.to_owned()),
            };
            let _ = Box::pin(tokio::time::timeout(
                Duration::from_secs(1),
                session.close(Some(reason)),
            ))
            .await;
        }
    }

    /// Writes one frame; a client that does not take it within the client timeout is gone.
    async fn write(&mut self, text: ByteString) -> bool {
        let timeout = self.state.deps.settings.ws_client_timeout;
        matches!(
            tokio::time::timeout(timeout, self.session.text(text)).await,
            Ok(Ok(()))
        )
    }

    async fn send_error(&mut self, code: &str, message: &str) -> bool {
        self.write(protocol::error_frame(code, message)).await
    }

    /// Handles one frame. `Err` closes the socket with that code.
    async fn on_frame(
        &mut self,
        msg: AggregatedMessage,
        received_at: i64,
    ) -> Result<Flow, (CloseCode, &'static str)> {
        let text = match msg {
            AggregatedMessage::Text(text) => {
                self.rate_limit().await?;
                text
            }
            AggregatedMessage::Binary(_) => {
                self.rate_limit().await?;
                return Ok(flow(
                    self.send_error("unsupported_frame", "send JSON in text frames")
                        .await,
                ));
            }
            AggregatedMessage::Ping(bytes) => {
                // Like every write, bounded: a client that pings but never reads must not
                // hold this task (and its socket) forever.
                let timeout = self.state.deps.settings.ws_client_timeout;
                let sent = tokio::time::timeout(timeout, self.session.pong(&bytes)).await;
                return Ok(flow(matches!(sent, Ok(Ok(())))));
            }
            AggregatedMessage::Pong(_) => return Ok(Flow::Continue),
            AggregatedMessage::Close(_) => return Ok(Flow::Stop),
        };
        let msg = match ClientMessage::parse(&text) {
            Ok(msg) => msg,
            Err(e) => return Ok(flow(self.send_error(e.code(), &e.to_string()).await)),
        };
        let ok = match msg {
            ClientMessage::Ping { client_time } => {
                let pong = protocol::frame(&Event::Pong {
                    client_time: &client_time,
                    server_time: now_ms(),
                });
                self.write(pong).await
            }
            ClientMessage::Answer { question, choice } => match &self.role {
                Role::Player { room } => {
                    room.do_send(SubmitAnswer {
                        conn: self.conn,
                        question,
                        choice,
                        received_at,
                    });
                    true
                }
                _ => {
                    crate::metrics::METRICS.rejected(crate::domain::Rejection::NotJoined);
                    let text = protocol::frame(&Event::AnswerRejected {
                        question,
                        reason: "not_joined",
                    });
                    self.write(text).await
                }
            },
            ClientMessage::Leave => match &self.role {
                Role::Player { room } => {
                    room.do_send(Leave { conn: self.conn });
                    true
                }
                _ => return Err((CloseCode::Normal, "left")),
            },
            ClientMessage::Join { .. }
            | ClientMessage::Resume { .. }
            | ClientMessage::Host { .. }
                if !matches!(self.role, Role::None) =>
            {
                self.send_error("already_joined", "this socket has already joined a room")
                    .await
            }
            // Joining awaits the room and maybe Postgres: large futures, needed once per socket.
            // Boxed, they do not make every session task carry their size for its whole life.
            ClientMessage::Join { code, nickname } => Box::pin(self.join(&code, &nickname)).await,
            ClientMessage::Resume { code, player_token } => {
                Box::pin(self.resume(&code, player_token)).await
            }
            ClientMessage::Host { code, host_token } => {
                Box::pin(self.host(&code, host_token)).await
            }
        };
        Ok(flow(ok))
    }

    async fn rate_limit(&mut self) -> Result<(), (CloseCode, &'static str)> {
        if self.bucket.take(Instant::now()) {
            return Ok(());
        }
        self.send_error("rate_limited", "too many messages; slow down")
            .await;
        Err((CloseCode::Policy, "rate limited"))
    }

    /// The room for a code, or the error a client should see: a finished room that has left
    /// memory is `game_finished`, an unknown one `room_not_found`.
    async fn find_room(&mut self, code: &str) -> Result<Addr<Room>, (&'static str, &'static str)> {
        if let Some(room) = self.state.deps.registry.get(code) {
            return Ok(room);
        }
        if !crate::tokens::is_room_code(code) {
            return Err(("room_not_found", "no room has that code"));
        }
        match self.state.deps.store.room_by_code(code).await {
            Ok(Some(row)) if row.status == "finished" => {
                Err(("game_finished", "this game is over"))
            }
            _ => Err(("room_not_found", "no room has that code")),
        }
    }

    /// The room took this socket as a player's; frames now come through `rx`.
    fn attached_as_player(
        &mut self,
        room: Addr<Room>,
        rx: Overflow,
        code: &str,
        player: Uuid,
    ) -> bool {
        self.outbound = Some(rx);
        self.role = Role::Player { room };
        self.joined(code, Some(player));
        true
    }

    fn joined(&mut self, code: &str, player: Option<Uuid>) {
        let span = tracing::Span::current();
        span.record("room_code", code);
        if let Some(p) = player {
            span.record("player_id", tracing::field::display(p));
        }
    }

    /// The room's handle to this socket, and the receiving end of its overflow queue.
    fn queue(&self) -> (ConnTx, Overflow) {
        // The channel holds `buffer` frames plus one per sender (there is one).
        let buffer = self.state.deps.settings.ws_send_queue.saturating_sub(1);
        let (tx, rx) = mpsc::channel(buffer);
        let backlog = Arc::new(AtomicUsize::new(0));
        (
            ConnTx::new(self.session.clone(), tx, backlog.clone()),
            Overflow { rx, backlog },
        )
    }

    async fn join(&mut self, code: &str, nickname: &str) -> bool {
        let room = match self.find_room(code).await {
            Ok(room) => room,
            Err((code, message)) => return self.send_error(code, message).await,
        };
        let nickname = match Nickname::parse(nickname) {
            Ok(n) => n,
            Err(e) => return self.send_error("invalid_nickname", &e.to_string()).await,
        };
        let (tx, rx) = self.queue();
        match room
            .send(Join {
                conn: self.conn,
                tx,
                nickname,
            })
            .await
        {
            Ok(Ok(player)) => self.attached_as_player(room, rx, code, player),
            Ok(Err(e)) => {
                let code = match e {
                    JoinFailure::Rule(JoinError::GameFinished) => "game_finished",
                    JoinFailure::Rule(JoinError::RoomFull) => "room_full",
                    JoinFailure::Rule(JoinError::NicknameTaken) => "nickname_taken",
                    JoinFailure::Unavailable => "unavailable",
                };
                self.send_error(code, &e.to_string()).await
            }
            Err(_) => {
                self.send_error("room_not_found", "the room has closed")
                    .await
            }
        }
    }

    async fn resume(&mut self, code: &str, player_token: String) -> bool {
        let room = match self.find_room(code).await {
            Ok(room) => room,
            Err((code, message)) => return self.send_error(code, message).await,
        };
        let (tx, rx) = self.queue();
        match room
            .send(Resume {
                conn: self.conn,
                tx,
                player_token,
            })
            .await
        {
            Ok(Ok(player)) => self.attached_as_player(room, rx, code, player),
            Ok(Err(e)) => {
                let code = match e {
                    ResumeFailure::GameFinished => "game_finished",
                    ResumeFailure::InvalidToken => "invalid_token",
                };
                self.send_error(code, &e.to_string()).await
            }
            Err(_) => {
                self.send_error("room_not_found", "the room has closed")
                    .await
            }
        }
    }

    async fn host(&mut self, code: &str, host_token: String) -> bool {
        let room = match self.state.deps.registry.get(code) {
            Some(room) => room,
            None => {
                return self
                    .send_error("room_not_found", "no live room has that code")
                    .await;
            }
        };
        let (tx, rx) = self.queue();
        match room
            .send(HostJoin {
                conn: self.conn,
                tx,
                host_token,
            })
            .await
        {
            Ok(Ok(())) => {
                self.outbound = Some(rx);
                self.role = Role::Host { room };
                self.joined(code, None);
                true
            }
            Ok(Err(e)) => self.send_error("invalid_token", &e.to_string()).await,
            Err(_) => {
                self.send_error("room_not_found", "the room has closed")
                    .await
            }
        }
    }
}

/// A frame, or a message sent in fragments, over `WS_MAX_FRAME_BYTES` (rule 17: close 1009).
/// actix-ws reports the fragmented case only as an I/O error with this text.
fn is_oversize(e: &actix_ws::ProtocolError) -> bool {
    match e {
        actix_ws::ProtocolError::Overflow => true,
        actix_ws::ProtocolError::Io(io) => io.to_string().contains("maximum continuation size"),
        _ => false,
    }
}

fn flow(ok: bool) -> Flow {
    if ok { Flow::Continue } else { Flow::Stop }
}

async fn next_outbound(overflow: &mut Option<Overflow>) -> Option<Outbound> {
    match overflow {
        Some(o) => o.rx.next().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of the future an `async fn` of the session returns, without running it.
    fn future_size<'a, Fut>(
        _: fn(&'a mut SessionTask, actix_ws::AggregatedMessageStream) -> Fut,
    ) -> usize {
        std::mem::size_of::<Fut>()
    }

    #[test]
    fn a_session_task_stays_small_for_its_whole_life() {
        // Every connected player keeps one of these for as long as it is connected, so its size
        // is part of the memory budget (issue 5: 16 KiB per player in all). Joining and every
        // timed write are boxed: this future is 696 bytes with rustc 1.95, and the whole spawned
        // task went from 1,880 to 1,160 bytes. This catches an inline await that brings it back.
        let size = future_size(SessionTask::run);
        assert!(size <= 800, "the session's run future is {size} bytes");
    }
}
