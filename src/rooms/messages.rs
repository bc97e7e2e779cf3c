//! What sessions, REST handlers and the writer say to a room, and what it answers.

use std::sync::atomic::{AtomicU64, Ordering};

use actix::Message;
use serde::Serialize;
use uuid::Uuid;

use crate::domain::{InvalidState, JoinError, Millis, Nickname, Ranked};
use crate::outbox::ConnTx;
use crate::store::AnswerSettled;

/// Identifies one WebSocket connection inside a room.
pub type ConnId = u64;

pub fn next_conn_id() -> ConnId {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The room as `GET /api/rooms/{code}` and every host control show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RoomView {
    pub code: String,
    pub title: String,
    pub status: &'static str,
    pub question_count: usize,
    pub player_count: usize,
    pub current_question: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JoinFailure {
    #[error(transparent)]
    Rule(#[from] JoinError),
    #[error("the server could not store the join; try again")]
    Unavailable,
}

/// A new player: on success the room has queued the welcome on `tx`.
#[derive(Message)]
#[rtype(result = "Result<Uuid, JoinFailure>")]
pub struct Join {
    pub conn: ConnId,
    pub tx: ConnTx,
    pub nickname: Nickname,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResumeFailure {
    #[error("the game is over")]
    GameFinished,
    #[error("that token is not valid in this room")]
    InvalidToken,
}

#[derive(Message)]
#[rtype(result = "Result<Uuid, ResumeFailure>")]
pub struct Resume {
    pub conn: ConnId,
    pub tx: ConnTx,
    pub player_token: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("that host token is not valid for this room")]
pub struct InvalidHostToken;

#[derive(Message)]
#[rtype(result = "Result<(), InvalidHostToken>")]
pub struct HostJoin {
    pub conn: ConnId,
    pub tx: ConnTx,
    pub host_token: String,
}

/// An answer as read from a player's socket, stamped when the frame was read.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SubmitAnswer {
    pub conn: ConnId,
    pub question: i64,
    pub choice: i64,
    pub received_at: Millis,
}

/// The player leaves the room for good (`leave`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Leave {
    pub conn: ConnId,
}

/// The delivery task let go of a socket that could not take a frame (too slow, or gone).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SocketDropped {
    pub conn: ConnId,
    pub error: crate::outbox::SendError,
}

/// The socket is gone (dropped, closed, or timed out); a player stays in the room.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Disconnected {
    pub conn: ConnId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlAction {
    Start,
    Pause,
    Resume,
    Lock,
    Next,
    End,
    Kick(Uuid),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("a valid host token is required")]
    Unauthorized,
    #[error(transparent)]
    InvalidState(#[from] InvalidState),
    #[error("no such player in this room")]
    PlayerNotFound,
    #[error("the room is shutting down")]
    Gone,
}

/// A host control from REST, with the bearer token to check.
#[derive(Message)]
#[rtype(result = "Result<RoomView, ControlError>")]
pub struct Control {
    pub host_token: String,
    pub action: ControlAction,
}

#[derive(Message)]
#[rtype(result = "RoomView")]
pub struct GetView;

#[derive(Message)]
#[rtype(result = "Vec<Ranked>")]
pub struct GetLeaderboard;

/// Is this the room's host token? (For routes answered from the store, such as results.)
#[derive(Message)]
#[rtype(result = "bool")]
pub struct VerifyHost {
    pub host_token: String,
}

/// The writer's word on a batch of this room's answers.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Settled(pub Vec<AnswerSettled>);
