//! The WebSocket wire format of PROTOCOL.md: parsing client frames into typed messages (with
//! the error codes of rule 2) and the server's messages, serialized once per broadcast.

use bytestring::ByteString;
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::domain::Millis;

// ----- client -> server --------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    Join {
        code: String,
        nickname: String,
    },
    Resume {
        code: String,
        player_token: String,
    },
    Host {
        code: String,
        host_token: String,
    },
    /// `question` and `choice` are any JSON integers; range checks are the room's (rule 21).
    Answer {
        question: i64,
        choice: i64,
    },
    Ping {
        client_time: Value,
    },
    Leave,
}

/// Why a frame is not a message, with the protocol's error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("the frame is not valid JSON")]
    InvalidJson,
    #[error("{0}")]
    InvalidMessage(String),
    #[error("unknown message type {0:?}")]
    UnknownType(String),
}

impl FrameError {
    pub fn code(&self) -> &'static str {
        match self {
            FrameError::InvalidJson => "invalid_json",
            FrameError::InvalidMessage(_) => "invalid_message",
            FrameError::UnknownType(_) => "unknown_type",
        }
    }
}

impl ClientMessage {
    pub fn parse(text: &str) -> Result<ClientMessage, FrameError> {
        let value: Value = serde_json::from_str(text).map_err(|_| FrameError::InvalidJson)?;
        let Value::Object(obj) = value else {
            return Err(FrameError::InvalidMessage(
                "a message must be a JSON object".into(),
            ));
        };
        let kind = match obj.get("type") {
            Some(Value::String(t)) => t.as_str(),
            Some(_) => {
                return Err(FrameError::InvalidMessage(
                    "\"type\" must be a string".into(),
                ));
            }
            None => {
                return Err(FrameError::InvalidMessage(
                    "the message has no \"type\"".into(),
                ));
            }
        };
        Ok(match kind {
            "join" => ClientMessage::Join {
                code: string(&obj, "code")?,
                nickname: string(&obj, "nickname")?,
            },
            "resume" => ClientMessage::Resume {
                code: string(&obj, "code")?,
                player_token: string(&obj, "player_token")?,
            },
            "host" => ClientMessage::Host {
                code: string(&obj, "code")?,
                host_token: string(&obj, "host_token")?,
            },
            "answer" => ClientMessage::Answer {
                question: integer(&obj, "question")?,
                choice: integer(&obj, "choice")?,
            },
            "ping" => match obj.get("client_time") {
                Some(v @ Value::Number(_)) => ClientMessage::Ping {
                    client_time: v.clone(),
                },
                Some(Value::Null) | None => ClientMessage::Ping {
                    client_time: Value::Null,
                },
                Some(_) => {
                    return Err(FrameError::InvalidMessage(
                        "\"client_time\" must be a number".into(),
                    ));
                }
            },
            "leave" => ClientMessage::Leave,
            other => return Err(FrameError::UnknownType(truncate(other, 40))),
        })
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

fn string(obj: &Map<String, Value>, field: &str) -> Result<String, FrameError> {
    match obj.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(FrameError::InvalidMessage(format!(
            "\"{field}\" must be a string"
        ))),
        None => Err(FrameError::InvalidMessage(format!(
            "\"{field}\" is required"
        ))),
    }
}

/// A JSON integer. Integers beyond i64 saturate, which no index can match.
fn integer(obj: &Map<String, Value>, field: &str) -> Result<i64, FrameError> {
    match obj.get(field) {
        Some(Value::Number(n)) if n.is_i64() => n
            .as_i64()
            .ok_or_else(|| FrameError::InvalidMessage(format!("\"{field}\" must be an integer"))),
        Some(Value::Number(n)) if n.is_u64() => Ok(i64::MAX),
        Some(_) => Err(FrameError::InvalidMessage(format!(
            "\"{field}\" must be an integer"
        ))),
        None => Err(FrameError::InvalidMessage(format!(
            "\"{field}\" is required"
        ))),
    }
}

// ----- server -> client --------------------------------------------------------------------

/// What a room or a session puts on one socket's queue.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// A text frame, shared between sockets by reference count.
    Text(ByteString),
    /// Close the socket with this code and reason.
    Close(u16, &'static str),
}

pub fn frame<T: Serialize>(msg: &T) -> ByteString {
    ByteString::from(serde_json::to_string(msg).unwrap_or_else(|_| {
        r#"{"type":"error","code":"internal","message":"could not encode a message"}"#.into()
    }))
}

/// Appends a personal `"you"` object to a message serialized once for everyone.
pub fn with_you<Y: Serialize>(shared: &str, you: &Y) -> ByteString {
    let you = serde_json::to_string(you).unwrap_or_else(|_| "null".into());
    let body = shared.strip_suffix('}').unwrap_or(shared);
    let mut out = String::with_capacity(body.len() + you.len() + 9);
    out.push_str(body);
    out.push_str(",\"you\":");
    out.push_str(&you);
    out.push('}');
    ByteString::from(out)
}

#[derive(Debug, Clone, Serialize)]
pub struct ErrorMsg<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub code: &'a str,
    pub message: &'a str,
}

pub fn error_frame(code: &str, message: &str) -> ByteString {
    frame(&ErrorMsg {
        kind: "error",
        code,
        message,
    })
}

/// A question as sent when it opens, and inside snapshots.
#[derive(Debug, Clone, Serialize)]
pub struct QuestionView {
    pub question: usize,
    pub question_count: usize,
    pub prompt: String,
    pub choices: Vec<String>,
    pub time_limit_ms: u32,
    pub points: u32,
    pub started_at: Millis,
    pub deadline_at: Millis,
}

#[derive(Debug, Clone, Serialize)]
pub struct QuestionMsg<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(flatten)]
    pub question: &'a QuestionView,
    pub server_time: Millis,
}

/// `room.current` in a welcome: the open, paused or revealed question.
#[derive(Debug, Clone, Serialize)]
pub struct CurrentView {
    #[serde(flatten)]
    pub question: QuestionView,
    pub remaining_ms: Millis,
    pub paused: bool,
    /// Only once revealed (never before time-up).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correct: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distribution: Option<Vec<u32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoomSnapshot {
    pub code: String,
    pub title: String,
    pub status: &'static str,
    pub question_count: usize,
    pub player_count: usize,
    pub current: Option<CurrentView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlayerYou {
    pub score: i64,
    pub answered_choice: Option<usize>,
    /// The player's rank once the game has started (not in the protocol's table; additive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<u32>,
    /// While the current question is revealed: what that answer earned, as in `reveal.you`,
    /// so that a player who reconnects during a reveal sees it too (additive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correct: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_ms: Option<Millis>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlayerWelcome<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub role: &'static str,
    pub player_id: Uuid,
    pub player_token: &'a str,
    pub nickname: &'a str,
    pub server_time: Millis,
    pub room: RoomSnapshot,
    pub you: PlayerYou,
}

#[derive(Debug, Clone, Serialize)]
pub struct RosterEntry {
    pub player_id: Uuid,
    pub nickname: String,
    pub score: i64,
    pub connected: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostWelcome {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub role: &'static str,
    pub server_time: Millis,
    pub room: RoomSnapshot,
    pub players: Vec<RosterEntry>,
    /// The room's settings, for host screens (additive): e.g. to count down to an auto-advance.
    pub settings: crate::domain::RoomSettings,
    /// While a revealed question waits for its auto-advance: when the room moves on (server
    /// clock), so that a host screen that reconnects counts down from there, not from the top.
    pub advance_at: Option<Millis>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LeaderboardEntry {
    pub rank: u32,
    pub player_id: Uuid,
    pub nickname: String,
    pub score: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RankYou {
    pub rank: u32,
    pub score: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RevealYou {
    pub choice: Option<usize>,
    pub correct: bool,
    pub points: u32,
    pub response_ms: Option<Millis>,
    pub score: i64,
    pub rank: u32,
}

/// Small messages with fixed shapes.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event<'a> {
    Lobby {
        player_count: usize,
    },
    PlayerJoined {
        player_id: Uuid,
        nickname: &'a str,
        player_count: usize,
    },
    PlayerLeft {
        player_id: Uuid,
        nickname: &'a str,
        player_count: usize,
    },
    Tick {
        question: usize,
        remaining_ms: Millis,
        server_time: Millis,
    },
    Paused {
        question: usize,
        remaining_ms: Millis,
        server_time: Millis,
    },
    Resumed {
        question: usize,
        remaining_ms: Millis,
        deadline_at: Millis,
        server_time: Millis,
    },
    TimeUp {
        question: usize,
        reason: &'static str,
        server_time: Millis,
    },
    AnswerAck {
        question: usize,
        choice: usize,
        received_at: Millis,
    },
    AnswerRejected {
        question: i64,
        reason: &'static str,
    },
    AnswersProgress {
        question: usize,
        answered: usize,
        player_count: usize,
    },
    Reveal {
        question: usize,
        correct: usize,
        distribution: &'a [u32],
        answered: u32,
    },
    Leaderboard {
        entries: &'a [LeaderboardEntry],
    },
    GameOver {
        entries: &'a [LeaderboardEntry],
    },
    Kicked {},
    Pong {
        client_time: &'a Value,
        server_time: Millis,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(text: &str) -> &'static str {
        match ClientMessage::parse(text) {
            Err(e) => e.code(),
            Ok(m) => panic!("parsed {m:?}"),
        }
    }

    #[test]
    fn rule_2_error_codes() {
        assert_eq!(code_of(r#"{"type": "join", "code": "#), "invalid_json");
        assert_eq!(code_of("hello"), "invalid_json");
        assert_eq!(code_of("[1,2]"), "invalid_message");
        assert_eq!(code_of(r#"{"code": "1"}"#), "invalid_message");
        assert_eq!(code_of(r#"{"type": 5}"#), "invalid_message");
        assert_eq!(code_of(r#"{"type": "nope"}"#), "unknown_type");
        assert_eq!(
            code_of(r#"{"type": "join", "code": 123456, "nickname": ["x"]}"#),
            "invalid_message"
        );
        assert_eq!(
            code_of(r#"{"type": "answer", "question": "zero", "choice": null}"#),
            "invalid_message"
        );
        assert_eq!(
            code_of(r#"{"type": "answer", "question": 0, "choice": 1.5}"#),
            "invalid_message"
        );
        assert_eq!(
            code_of(r#"{"type": "answer", "question": 0}"#),
            "invalid_message"
        );
    }

    #[test]
    fn integers_of_any_size_are_messages() {
        assert_eq!(
            ClientMessage::parse(r#"{"type":"answer","question":0,"choice":-3}"#),
            Ok(ClientMessage::Answer {
                question: 0,
                choice: -3
            })
        );
        assert_eq!(
            ClientMessage::parse(r#"{"type":"answer","question":0,"choice":18446744073709551615}"#),
            Ok(ClientMessage::Answer {
                question: 0,
                choice: i64::MAX
            })
        );
    }

    #[test]
    fn you_is_appended_to_a_shared_body() {
        let shared = frame(&Event::Lobby { player_count: 3 });
        let personal = with_you(&shared, &RankYou { rank: 1, score: 5 });
        let v: Value = serde_json::from_str(&personal).expect("json");
        assert_eq!(v["type"], "lobby");
        assert_eq!(v["you"]["rank"], 1);
    }

    #[test]
    fn events_are_tagged_with_snake_case_types() {
        let f = frame(&Event::TimeUp {
            question: 2,
            reason: "deadline",
            server_time: 10,
        });
        let v: Value = serde_json::from_str(&f).expect("json");
        assert_eq!(
            v,
            serde_json::json!({"type": "time_up", "question": 2, "reason": "deadline", "server_time": 10})
        );
        let f = frame(&Event::Kicked {});
        assert_eq!(&*f, r#"{"type":"kicked"}"#);
    }
}
