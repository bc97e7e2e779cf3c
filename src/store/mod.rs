//! Every SQL statement of quizroom: connecting and migrating, rooms, results, recovery, and the
//! group-committing writer that makes answers durable before they are acknowledged.

mod batch;
mod reads;
mod writer;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};
use std::str::FromStr;
use std::time::Duration;
use uuid::Uuid;

use crate::domain::{Millis, Quiz};

pub use reads::{AdminRoomRow, AnswerRow, PlayerRow, QuestionRow, RoomRow, StoredRoom};
pub use writer::{AnswerSettled, JournalEntry, NewAnswer, SettleFn, Settled, Writer};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the room code is already in use")]
    CodeTaken,
    #[error("another player in the room has that nickname")]
    NicknameTaken,
    #[error("the database did not answer in time")]
    Unavailable,
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

pub fn to_ts(ms: Millis) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

pub fn to_ms(ts: DateTime<Utc>) -> Millis {
    ts.timestamp_millis()
}

/// Handle to Postgres: a pool for reads and awaited writes, and the group-commit writer.
#[derive(Clone)]
pub struct Store {
    pub pool: PgPool,
    pub writer: Writer,
}

/// A room as created by a host.
pub struct NewRoom<'a> {
    pub id: Uuid,
    pub code: &'a str,
    pub host_token_hash: &'a str,
    pub quiz: &'a Quiz,
    pub created_at: Millis,
}

impl Store {
    /// Connects (creating the database if it does not exist yet) and runs the migrations.
    pub async fn connect(
        url: &str,
        pool_size: u32,
        answer_write_timeout: Duration,
    ) -> Result<Store, StoreError> {
        if !Postgres::database_exists(url).await? {
            tracing::info!("creating the database named in DATABASE_URL");
            if let Err(e) = Postgres::create_database(url).await {
                // Another process may have created it at the same moment.
                if !Postgres::database_exists(url).await? {
                    return Err(e.into());
                }
            }
        }
        let options = PgConnectOptions::from_str(url)?.application_name("quizroom");
        let pool = PgPoolOptions::new()
            .max_connections(pool_size)
            .acquire_timeout(Duration::from_secs(3))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        let writer = Writer::start(pool.clone(), answer_write_timeout);
        Ok(Store { pool, writer })
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query_scalar!("SELECT 1 AS one")
            .fetch_one(&self.pool)
            .await?;
        Ok(())
    }

    /// Stores a new room and its own copy of the quiz in one transaction.
    pub async fn create_room(&self, room: NewRoom<'_>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let s = &room.quiz.settings;
        let inserted = sqlx::query!(
            r#"INSERT INTO rooms (id, code, title, host_token_hash, max_players, auto_advance_ms,
                                  end_when_all_answered, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"#,
            room.id,
            room.code,
            room.quiz.title,
            room.host_token_hash,
            s.max_players as i32,
            s.auto_advance_ms.map(|v| v as i32),
            s.end_when_all_answered,
            to_ts(room.created_at),
        )
        .execute(&mut *tx)
        .await;
        if let Err(sqlx::Error::Database(e)) = &inserted
            && e.constraint() == Some("rooms_live_code")
        {
            return Err(StoreError::CodeTaken);
        }
        inserted?;
        let n = room.quiz.questions.len();
        let mut idx = Vec::with_capacity(n);
        let mut prompts = Vec::with_capacity(n);
        let mut choices = Vec::with_capacity(n);
        let mut correct = Vec::with_capacity(n);
        let mut limits = Vec::with_capacity(n);
        let mut points = Vec::with_capacity(n);
        for (i, q) in room.quiz.questions.iter().enumerate() {
            idx.push(i as i32);
            prompts.push(q.prompt.clone());
            // Postgres has no array of arrays of different lengths: choices travel as JSON.
            choices.push(serde_json::to_string(&q.choices).unwrap_or_else(|_| "[]".into()));
            correct.push(q.correct as i32);
            limits.push(q.time_limit_ms as i32);
            points.push(q.points as i32);
        }
        sqlx::query!(
            r#"INSERT INTO questions (room_id, idx, prompt, choices, correct, time_limit_ms, points)
               SELECT $1, t.idx, t.prompt,
                      ARRAY(SELECT e FROM jsonb_array_elements_text(t.choices::jsonb)
                                   WITH ORDINALITY AS x(e, n) ORDER BY n),
                      t.correct, t.time_limit_ms, t.points
                 FROM UNNEST($2::int[], $3::text[], $4::text[], $5::int[], $6::int[], $7::int[])
                      AS t(idx, prompt, choices, correct, time_limit_ms, points)"#,
            room.id,
            &idx,
            &prompts,
            &choices,
            &correct,
            &limits,
            &points,
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "INSERT INTO room_events (room_id, at, kind) VALUES ($1, $2, 'created')",
            room.id,
            to_ts(room.created_at),
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
