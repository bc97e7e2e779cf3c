//! The SQL of one group commit: every write the writer took up, in one transaction, with as
//! few statements as the order allows. Answers go in one `INSERT ... SELECT FROM UNNEST`,
//! `room_events` rows in another, and phase changes in one `UPDATE ... FROM UNNEST` per run of
//! the same kind: when a thousand rooms close their questions at once, that is a handful of
//! statements, not three thousand.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::to_ts;
use super::writer::{JournalEntry, NewAnswer, Op};
use crate::domain::{Millis, PlayerStatus};

type Tx<'c> = Transaction<'c, Postgres>;

/// Commits `batch` in queue order; returns the ids of the answers and players that are stored
/// (a row with that id exists, whether this attempt or a lost-reply one inserted it).
pub(super) async fn commit(pool: &PgPool, batch: &[Op]) -> Result<HashSet<Uuid>, sqlx::Error> {
    let mut stored = HashSet::new();
    if batch.iter().all(|op| matches!(op, Op::Flush(_))) {
        return Ok(stored);
    }
    let mut tx = pool.begin().await?;
    let mut events = Events::default();
    // Answers only need their question and player rows, which exist before the answer is
    // queued or earlier in this batch: they all go in at the end, in one statement.
    let mut answers: Vec<&NewAnswer> = Vec::new();
    let mut run: Vec<&JournalEntry> = Vec::new();
    for op in batch {
        match op {
            Op::Answer { answer, .. } => answers.push(answer),
            Op::Journal(entry, _) => {
                if !run.is_empty() && !joins_run(&run, entry) {
                    apply_run(&mut tx, &mut run, &mut events).await?;
                }
                run.push(entry);
            }
            Op::Player {
                room_id,
                id,
                nickname,
                token_hash,
                at,
                ..
            } => {
                // A player row must exist before a later kick of it updates it.
                apply_run(&mut tx, &mut run, &mut events).await?;
                if insert_player(&mut tx, *room_id, *id, nickname, token_hash, *at).await? {
                    stored.insert(*id);
                    events.push(
                        *room_id,
                        *at,
                        "player_joined",
                        None,
                        json!({ "player_id": id }),
                    );
                } else if player_exists(&mut tx, *id).await? {
                    stored.insert(*id);
                }
            }
            Op::Flush(_) => {}
        }
    }
    apply_run(&mut tx, &mut run, &mut events).await?;
    insert_answers(&mut tx, &answers, &mut stored).await?;
    events.insert(&mut tx).await?;
    tx.commit().await?;
    Ok(stored)
}

// ----- players ----------------------------------------------------------------------------

/// Inserts a joining player; false when the nickname is taken (the unique index has the last
/// word) or the row was already stored by an attempt whose reply was lost.
async fn insert_player(
    tx: &mut Tx<'_>,
    room_id: Uuid,
    id: Uuid,
    nickname: &str,
    token_hash: &str,
    at: Millis,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO players (id, room_id, nickname, token_hash, joined_at)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (room_id, lower(nickname)) WHERE status = 'active' DO NOTHING
           RETURNING id"#,
        id,
        room_id,
        nickname,
        token_hash,
        to_ts(at)
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(inserted.is_some())
}

async fn player_exists(tx: &mut Tx<'_>, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM players WHERE id = $1) AS "exists!""#,
        id
    )
    .fetch_one(&mut **tx)
    .await
}

// ----- answers ----------------------------------------------------------------------------

async fn insert_answers(
    tx: &mut Tx<'_>,
    answers: &[&NewAnswer],
    stored: &mut HashSet<Uuid>,
) -> Result<(), sqlx::Error> {
    if answers.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = answers.iter().map(|a| a.id).collect();
    let rooms: Vec<Uuid> = answers.iter().map(|a| a.room_id).collect();
    let questions: Vec<i32> = answers.iter().map(|a| a.question as i32).collect();
    let players: Vec<Uuid> = answers.iter().map(|a| a.player_id).collect();
    let choices: Vec<i32> = answers.iter().map(|a| a.choice as i32).collect();
    let received: Vec<DateTime<Utc>> = answers.iter().map(|a| to_ts(a.received_at)).collect();
    let response: Vec<i32> = answers
        .iter()
        .map(|a| a.response_ms.clamp(0, i64::from(i32::MAX)) as i32)
        .collect();
    let correct: Vec<bool> = answers.iter().map(|a| a.correct).collect();
    let points: Vec<i32> = answers.iter().map(|a| a.points as i32).collect();
    // A duplicate (player, question) is skipped, not an error: one bad row must not fail the
    // batch; its answer is then rejected, as the unique index says.
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO answers (id, room_id, question, player_id, choice, received_at, response_ms, correct, points)
           SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::int[], $4::uuid[], $5::int[],
                                $6::timestamptz[], $7::int[], $8::bool[], $9::int[])
           ON CONFLICT (player_id, question) DO NOTHING
           RETURNING id"#,
        &ids, &rooms, &questions, &players, &choices, &received, &response, &correct, &points
    )
    .fetch_all(&mut **tx)
    .await?;
    let all_inserted = inserted.len() == ids.len();
    stored.extend(inserted);
    if all_inserted {
        return Ok(());
    }
    // Stored means "a row with this answer's id exists", not "this statement inserted it": when
    // an earlier attempt committed but its reply was lost, the retry inserts nothing, and the
    // answer is stored all the same. Only then is this second look needed.
    let missing: Vec<Uuid> = ids.into_iter().filter(|id| !stored.contains(id)).collect();
    let rows = sqlx::query_scalar!("SELECT id FROM answers WHERE id = ANY($1)", &missing)
        .fetch_all(&mut **tx)
        .await?;
    stored.extend(rows);
    Ok(())
}

// ----- room_events ------------------------------------------------------------------------

/// `room_events` rows gathered in queue order, inserted in one statement.
#[derive(Default)]
struct Events {
    room: Vec<Uuid>,
    at: Vec<DateTime<Utc>>,
    kind: Vec<String>,
    question: Vec<Option<i32>>,
    detail: Vec<Value>,
}

impl Events {
    fn push(&mut self, room: Uuid, at: Millis, kind: &str, question: Option<usize>, detail: Value) {
        self.room.push(room);
        self.at.push(to_ts(at));
        self.kind.push(kind.to_owned());
        self.question.push(question.map(|q| q as i32));
        self.detail.push(detail);
    }

    async fn insert(&self, tx: &mut Tx<'_>) -> Result<(), sqlx::Error> {
        if self.room.is_empty() {
            return Ok(());
        }
        // WITH ORDINALITY + ORDER BY: ids follow the order things happened in.
        sqlx::query!(
            r#"INSERT INTO room_events (room_id, at, kind, question, detail)
               SELECT room_id, at, kind, question, detail
                 FROM UNNEST($1::uuid[], $2::timestamptz[], $3::text[], $4::int[], $5::jsonb[])
                      WITH ORDINALITY AS t(room_id, at, kind, question, detail, n)
                ORDER BY n"#,
            &self.room,
            &self.at,
            &self.kind,
            &self.question as &[Option<i32>],
            &self.detail,
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

// ----- phase changes ----------------------------------------------------------------------

/// The row a phase change updates: one `UPDATE ... FROM UNNEST` cannot change the same row
/// twice, so a run holds each key once.
fn key(entry: &JournalEntry) -> (std::mem::Discriminant<JournalEntry>, Uuid) {
    let id = match entry {
        JournalEntry::PlayerRemoved { player_id, .. } => *player_id,
        JournalEntry::QuestionOpened { room_id, .. }
        | JournalEntry::Paused { room_id, .. }
        | JournalEntry::Resumed { room_id, .. }
        | JournalEntry::Closed { room_id, .. }
        | JournalEntry::Revealed { room_id, .. }
        | JournalEntry::Finished { room_id, .. } => *room_id,
    };
    (std::mem::discriminant(entry), id)
}

/// May `entry` join the run: same kind, and a row the run does not touch yet?
fn joins_run(run: &[&JournalEntry], entry: &JournalEntry) -> bool {
    let (kind, id) = key(entry);
    run.iter().all(|e| {
        let (k, i) = key(e);
        k == kind && i != id
    })
}

/// Applies a run of phase changes of one kind (each on its own row) and records their events.
async fn apply_run(
    tx: &mut Tx<'_>,
    run: &mut Vec<&JournalEntry>,
    events: &mut Events,
) -> Result<(), sqlx::Error> {
    let Some(first) = run.first() else {
        return Ok(());
    };
    match first {
        JournalEntry::QuestionOpened { .. } => {
            let (mut rooms, mut idx, mut starts, mut deadlines, mut firsts) =
                (vec![], vec![], vec![], vec![], vec![]);
            for e in run.iter() {
                if let JournalEntry::QuestionOpened {
                    room_id,
                    question,
                    started_at,
                    deadline_at,
                    first,
                } = **e
                {
                    rooms.push(room_id);
                    idx.push(question as i32);
                    starts.push(to_ts(started_at));
                    deadlines.push(to_ts(deadline_at));
                    firsts.push(first);
                    if first {
                        events.push(room_id, started_at, "started", None, json!({}));
                    }
                    events.push(
                        room_id,
                        started_at,
                        "question_opened",
                        Some(question),
                        json!({ "deadline_at": deadline_at }),
                    );
                }
            }
            sqlx::query!(
                r#"UPDATE questions q SET started_at = t.started_at, deadline_at = t.deadline_at
                     FROM UNNEST($1::uuid[], $2::int[], $3::timestamptz[], $4::timestamptz[])
                          AS t(room_id, idx, started_at, deadline_at)
                    WHERE q.room_id = t.room_id AND q.idx = t.idx"#,
                &rooms,
                &idx,
                &starts,
                &deadlines
            )
            .execute(&mut **tx)
            .await?;
            sqlx::query!(
                r#"UPDATE rooms r SET status = 'question', current_question = t.idx, paused_at = NULL,
                          started_at = CASE WHEN t.first THEN t.started_at ELSE r.started_at END
                     FROM UNNEST($1::uuid[], $2::int[], $3::timestamptz[], $4::bool[])
                          AS t(room_id, idx, started_at, first)
                    WHERE r.id = t.room_id"#,
                &rooms, &idx, &starts, &firsts
            )
            .execute(&mut **tx)
            .await?;
        }
        JournalEntry::Paused { .. } => {
            let (mut rooms, mut ats) = (vec![], vec![]);
            for e in run.iter() {
                if let JournalEntry::Paused {
                    room_id,
                    question,
                    at,
                } = **e
                {
                    rooms.push(room_id);
                    ats.push(to_ts(at));
                    events.push(room_id, at, "paused", Some(question), json!({}));
                }
            }
            sqlx::query!(
                r#"UPDATE rooms r SET status = 'paused', paused_at = t.at
                     FROM UNNEST($1::uuid[], $2::timestamptz[]) AS t(room_id, at)
                    WHERE r.id = t.room_id"#,
                &rooms,
                &ats
            )
            .execute(&mut **tx)
            .await?;
        }
        JournalEntry::Resumed { .. } => {
            let (mut rooms, mut idx, mut deadlines, mut paused) = (vec![], vec![], vec![], vec![]);
            for e in run.iter() {
                if let JournalEntry::Resumed {
                    room_id,
                    question,
                    at,
                    deadline_at,
                    paused_ms,
                } = **e
                {
                    rooms.push(room_id);
                    idx.push(question as i32);
                    deadlines.push(to_ts(deadline_at));
                    paused.push(paused_ms);
                    events.push(
                        room_id,
                        at,
                        "resumed",
                        Some(question),
                        json!({ "deadline_at": deadline_at }),
                    );
                }
            }
            sqlx::query!(
                r#"UPDATE questions q SET deadline_at = t.deadline_at, paused_ms = t.paused_ms
                     FROM UNNEST($1::uuid[], $2::int[], $3::timestamptz[], $4::bigint[])
                          AS t(room_id, idx, deadline_at, paused_ms)
                    WHERE q.room_id = t.room_id AND q.idx = t.idx"#,
                &rooms,
                &idx,
                &deadlines,
                &paused
            )
            .execute(&mut **tx)
            .await?;
            sqlx::query!(
                r#"UPDATE rooms SET status = 'question', paused_at = NULL WHERE id = ANY($1)"#,
                &rooms
            )
            .execute(&mut **tx)
            .await?;
        }
        JournalEntry::Closed { .. } => {
            let (mut rooms, mut idx, mut ats, mut reasons, mut paused) =
                (vec![], vec![], vec![], vec![], vec![]);
            for e in run.iter() {
                if let JournalEntry::Closed {
                    room_id,
                    question,
                    at,
                    reason,
                    paused_ms,
                } = **e
                {
                    rooms.push(room_id);
                    idx.push(question as i32);
                    ats.push(to_ts(at));
                    reasons.push(reason.as_str().to_owned());
                    paused.push(paused_ms);
                    events.push(
                        room_id,
                        at,
                        "time_up",
                        Some(question),
                        json!({ "reason": reason.as_str() }),
                    );
                }
            }
            sqlx::query!(
                r#"UPDATE questions q SET closed_at = t.at, close_reason = t.reason, paused_ms = t.paused_ms
                     FROM UNNEST($1::uuid[], $2::int[], $3::timestamptz[], $4::text[], $5::bigint[])
                          AS t(room_id, idx, at, reason, paused_ms)
                    WHERE q.room_id = t.room_id AND q.idx = t.idx"#,
                &rooms, &idx, &ats, &reasons, &paused
            )
            .execute(&mut **tx)
            .await?;
            sqlx::query!(
                r#"UPDATE rooms SET status = 'reveal', paused_at = NULL WHERE id = ANY($1)"#,
                &rooms
            )
            .execute(&mut **tx)
            .await?;
        }
        JournalEntry::Revealed { .. } => {
            let (mut rooms, mut idx, mut ats) = (vec![], vec![], vec![]);
            for e in run.iter() {
                if let JournalEntry::Revealed {
                    room_id,
                    question,
                    at,
                } = **e
                {
                    rooms.push(room_id);
                    idx.push(question as i32);
                    ats.push(to_ts(at));
                    events.push(room_id, at, "revealed", Some(question), json!({}));
                }
            }
            sqlx::query!(
                r#"UPDATE questions q SET revealed_at = t.at
                     FROM UNNEST($1::uuid[], $2::int[], $3::timestamptz[]) AS t(room_id, idx, at)
                    WHERE q.room_id = t.room_id AND q.idx = t.idx"#,
                &rooms,
                &idx,
                &ats
            )
            .execute(&mut **tx)
            .await?;
        }
        JournalEntry::Finished { .. } => {
            let (mut rooms, mut ats) = (vec![], vec![]);
            for e in run.iter() {
                if let JournalEntry::Finished { room_id, at } = **e {
                    rooms.push(room_id);
                    ats.push(to_ts(at));
                    events.push(room_id, at, "finished", None, json!({}));
                }
            }
            sqlx::query!(
                r#"UPDATE rooms r SET status = 'finished', finished_at = t.at, current_question = NULL,
                          paused_at = NULL
                     FROM UNNEST($1::uuid[], $2::timestamptz[]) AS t(room_id, at)
                    WHERE r.id = t.room_id"#,
                &rooms, &ats
            )
            .execute(&mut **tx)
            .await?;
        }
        JournalEntry::PlayerRemoved { .. } => {
            let (mut players, mut statuses, mut ats) = (vec![], vec![], vec![]);
            for e in run.iter() {
                if let JournalEntry::PlayerRemoved {
                    room_id,
                    player_id,
                    status,
                    at,
                } = **e
                {
                    players.push(player_id);
                    statuses.push(status.as_str().to_owned());
                    ats.push(to_ts(at));
                    let kind = if status == PlayerStatus::Kicked {
                        "player_kicked"
                    } else {
                        "player_left"
                    };
                    events.push(room_id, at, kind, None, json!({ "player_id": player_id }));
                }
            }
            sqlx::query!(
                r#"UPDATE players p SET status = t.status, left_at = t.at
                     FROM UNNEST($1::uuid[], $2::text[], $3::timestamptz[]) AS t(player_id, status, at)
                    WHERE p.id = t.player_id"#,
                &players, &statuses, &ats
            )
            .execute(&mut **tx)
            .await?;
        }
    }
    run.clear();
    Ok(())
}
