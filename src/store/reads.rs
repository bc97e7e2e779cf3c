//! Queries that read: a room by code or id, its questions, players and answers (for results
//! and for recovery after a restart), and the admin's room list.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Store, StoreError};

#[derive(Debug, Clone)]
pub struct RoomRow {
    pub id: Uuid,
    pub code: String,
    pub title: String,
    pub host_token_hash: String,
    pub status: String,
    pub max_players: i32,
    pub auto_advance_ms: Option<i32>,
    pub end_when_all_answered: bool,
    pub current_question: Option<i32>,
    pub paused_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct QuestionRow {
    pub idx: i32,
    pub prompt: String,
    pub choices: Vec<String>,
    pub correct: i32,
    pub time_limit_ms: i32,
    pub points: i32,
    pub started_at: Option<DateTime<Utc>>,
    pub deadline_at: Option<DateTime<Utc>>,
    pub paused_ms: i64,
    pub closed_at: Option<DateTime<Utc>>,
    pub close_reason: Option<String>,
    pub revealed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct PlayerRow {
    pub id: Uuid,
    pub nickname: String,
    pub token_hash: String,
    pub status: String,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct AnswerRow {
    pub id: Uuid,
    pub question: i32,
    pub player_id: Uuid,
    pub choice: i32,
    pub received_at: DateTime<Utc>,
    pub response_ms: i32,
    pub correct: bool,
    pub points: i32,
}

/// Everything stored about one room.
#[derive(Debug, Clone)]
pub struct StoredRoom {
    pub room: RoomRow,
    pub questions: Vec<QuestionRow>,
    pub players: Vec<PlayerRow>,
    pub answers: Vec<AnswerRow>,
}

#[derive(Debug, Clone)]
pub struct AdminRoomRow {
    pub id: Uuid,
    pub code: String,
    pub title: String,
    pub status: String,
    pub player_count: i64,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Store {
    /// The newest room with this code (codes are reused once a room is finished).
    pub async fn room_by_code(&self, code: &str) -> Result<Option<RoomRow>, StoreError> {
        Ok(sqlx::query_as!(
            RoomRow,
            r#"SELECT id, code, title, host_token_hash, status, max_players, auto_advance_ms,
                      end_when_all_answered, current_question, paused_at, created_at, started_at,
                      finished_at
                 FROM rooms WHERE code = $1 ORDER BY created_at DESC LIMIT 1"#,
            code
        )
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn room_by_id(&self, id: Uuid) -> Result<Option<RoomRow>, StoreError> {
        Ok(sqlx::query_as!(
            RoomRow,
            r#"SELECT id, code, title, host_token_hash, status, max_players, auto_advance_ms,
                      end_when_all_answered, current_question, paused_at, created_at, started_at,
                      finished_at
                 FROM rooms WHERE id = $1"#,
            id
        )
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Rooms that a restart must bring back.
    pub async fn unfinished_rooms(&self) -> Result<Vec<RoomRow>, StoreError> {
        Ok(sqlx::query_as!(
            RoomRow,
            r#"SELECT id, code, title, host_token_hash, status, max_players, auto_advance_ms,
                      end_when_all_answered, current_question, paused_at, created_at, started_at,
                      finished_at
                 FROM rooms WHERE status <> 'finished' ORDER BY created_at"#
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// A room with its questions, every player who ever joined and every accepted answer.
    pub async fn load_room(&self, room: RoomRow) -> Result<StoredRoom, StoreError> {
        let questions = sqlx::query_as!(
            QuestionRow,
            r#"SELECT idx, prompt, choices, correct, time_limit_ms, points, started_at, deadline_at,
                      paused_ms, closed_at, close_reason, revealed_at
                 FROM questions WHERE room_id = $1 ORDER BY idx"#,
            room.id
        )
        .fetch_all(&self.pool)
        .await?;
        let players = sqlx::query_as!(
            PlayerRow,
            r#"SELECT id, nickname, token_hash, status, joined_at
                 FROM players WHERE room_id = $1 ORDER BY joined_at, id"#,
            room.id
        )
        .fetch_all(&self.pool)
        .await?;
        let answers = sqlx::query_as!(
            AnswerRow,
            r#"SELECT id, question, player_id, choice, received_at, response_ms, correct, points
                 FROM answers WHERE room_id = $1 ORDER BY question, received_at"#,
            room.id
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(StoredRoom {
            room,
            questions,
            players,
            answers,
        })
    }

    /// Newest first; `status` filters when given.
    pub async fn list_rooms(
        &self,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AdminRoomRow>, StoreError> {
        Ok(sqlx::query_as!(
            AdminRoomRow,
            r#"SELECT r.id, r.code, r.title, r.status, r.created_at, r.finished_at,
                      (SELECT COUNT(*) FROM players p WHERE p.room_id = r.id AND p.status = 'active') AS "player_count!"
                 FROM rooms r
                WHERE $1::text IS NULL OR r.status = $1
                ORDER BY r.created_at DESC, r.id
                LIMIT $2"#,
            status,
            limit
        )
        .fetch_all(&self.pool)
        .await?)
    }
}
