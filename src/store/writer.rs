//! The single writer: a task that takes every game write (answers, joins, phase changes) in
//! order, commits whatever has queued up in one transaction (group commit), and then tells the
//! rooms which answers are durable. While Postgres is down it retries with backoff; answers and
//! joins that wait longer than their bound are failed (the player is told `unavailable`),
//! phase changes are kept and retried until they land, in order.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::{StoreError, to_ts};
use crate::domain::{CloseReason, Millis, PlayerStatus};

/// Most operations committed in one transaction.
const MAX_BATCH: usize = 4096;

/// An accepted answer to insert.
#[derive(Debug, Clone)]
pub struct NewAnswer {
    pub id: Uuid,
    pub room_id: Uuid,
    pub question: usize,
    pub player_id: Uuid,
    pub choice: usize,
    pub received_at: Millis,
    pub response_ms: Millis,
    pub correct: bool,
    pub points: u32,
}

/// The fate of one answer's write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Committed: it may be acknowledged.
    Stored,
    /// Not stored (the database stayed unreachable, or a row for this player and question
    /// already exists): it must be rejected.
    Failed,
}

#[derive(Debug, Clone)]
pub struct AnswerSettled {
    pub id: Uuid,
    pub player_id: Uuid,
    pub question: usize,
    pub outcome: Settled,
}

/// Called once per room and batch with the outcomes of that room's answers.
pub type SettleFn = Arc<dyn Fn(Vec<AnswerSettled>) + Send + Sync>;

/// A phase change or roster change, applied in order, each with its `room_events` row.
#[derive(Debug, Clone)]
pub enum JournalEntry {
    QuestionOpened {
        room_id: Uuid,
        question: usize,
        started_at: Millis,
        deadline_at: Millis,
        first: bool,
    },
    Paused {
        room_id: Uuid,
        question: usize,
        at: Millis,
    },
    Resumed {
        room_id: Uuid,
        question: usize,
        at: Millis,
        deadline_at: Millis,
        paused_ms: Millis,
    },
    Closed {
        room_id: Uuid,
        question: usize,
        at: Millis,
        reason: CloseReason,
        paused_ms: Millis,
    },
    Revealed {
        room_id: Uuid,
        question: usize,
        at: Millis,
    },
    Finished {
        room_id: Uuid,
        at: Millis,
    },
    PlayerRemoved {
        room_id: Uuid,
        player_id: Uuid,
        status: PlayerStatus,
        at: Millis,
    },
}

enum Op {
    Answer {
        answer: NewAnswer,
        settle: SettleFn,
        queued: Instant,
    },
    Player {
        room_id: Uuid,
        id: Uuid,
        nickname: String,
        token_hash: String,
        at: Millis,
        done: oneshot::Sender<Result<(), StoreError>>,
        queued: Instant,
    },
    /// `done` hears once the entry is committed (or refused and dropped).
    Journal(JournalEntry, Option<oneshot::Sender<()>>),
    Flush(oneshot::Sender<()>),
}

/// Cheap to clone; every clone feeds the same writer task.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::UnboundedSender<Op>,
    /// When the batch being written was taken up (ms since the epoch), 0 while idle: a write
    /// that takes far longer than the answer timeout means the database is not really there.
    busy_since: Arc<AtomicI64>,
}

impl Writer {
    pub fn start(pool: PgPool, answer_timeout: Duration) -> Writer {
        let (tx, rx) = mpsc::unbounded_channel();
        let busy_since = Arc::new(AtomicI64::new(0));
        tokio::spawn(run(pool, rx, answer_timeout, busy_since.clone()));
        Writer { tx, busy_since }
    }

    /// Queues an answer; `settle` hears whether it was stored. Never blocks.
    pub fn answer(&self, answer: NewAnswer, settle: SettleFn) {
        let queued = Instant::now();
        if let Err(mpsc::error::SendError(Op::Answer { answer, settle, .. })) =
            self.tx.send(Op::Answer {
                answer,
                settle,
                queued,
            })
        {
            settle(vec![AnswerSettled {
                id: answer.id,
                player_id: answer.player_id,
                question: answer.question,
                outcome: Settled::Failed,
            }]);
        }
    }

    /// Stores a joining player; resolves once the row is committed (or could not be).
    pub fn player(
        &self,
        room_id: Uuid,
        id: Uuid,
        nickname: String,
        token_hash: String,
        at: Millis,
    ) -> oneshot::Receiver<Result<(), StoreError>> {
        let (done, rx) = oneshot::channel();
        let _ = self.tx.send(Op::Player {
            room_id,
            id,
            nickname,
            token_hash,
            at,
            done,
            queued: Instant::now(),
        });
        rx
    }

    pub fn journal(&self, entry: JournalEntry) {
        if self.tx.send(Op::Journal(entry, None)).is_err() {
            tracing::error!("the writer has stopped; a phase change was not stored");
        }
    }

    /// Queues a phase change; the receiver resolves once it is committed. The room waits on
    /// this before it publishes what must not be undone by a crash (a reveal).
    pub fn journal_durable(&self, entry: JournalEntry) -> oneshot::Receiver<()> {
        let (done, rx) = oneshot::channel();
        if self.tx.send(Op::Journal(entry, Some(done))).is_err() {
            tracing::error!("the writer has stopped; a phase change was not stored");
        }
        rx
    }

    /// How long the current write has been under way, if one is.
    pub fn busy_for(&self) -> Option<Duration> {
        let since = self.busy_since.load(Ordering::Relaxed);
        (since > 0).then(|| {
            Duration::from_millis((chrono::Utc::now().timestamp_millis() - since).max(0) as u64)
        })
    }

    /// Resolves once everything queued before it is committed (or failed).
    pub async fn flush(&self) {
        let (done, rx) = oneshot::channel();
        if self.tx.send(Op::Flush(done)).is_ok() {
            let _ = rx.await;
        }
    }
}

async fn run(
    pool: PgPool,
    mut rx: mpsc::UnboundedReceiver<Op>,
    answer_timeout: Duration,
    busy_since: Arc<AtomicI64>,
) {
    // One attempt may not outlive the answers' bound: a stalled connection or a lock must not
    // hold every room's answers past it.
    let attempt_limit = answer_timeout.max(Duration::from_millis(200));
    let mut batch: Vec<Op> = Vec::new();
    while let Some(first) = rx.recv().await {
        busy_since.store(chrono::Utc::now().timestamp_millis(), Ordering::Relaxed);
        batch.push(first);
        take_queued(&mut rx, &mut batch);
        let mut backoff = Duration::from_millis(50);
        loop {
            let attempt = tokio::time::timeout(attempt_limit, commit(&pool, &batch)).await;
            match attempt {
                Ok(Ok(inserted)) => {
                    settle_all(std::mem::take(&mut batch), Some(&inserted));
                    break;
                }
                Ok(Err(e)) if is_refusal(&e) => {
                    tracing::error!(error = %e, ops = batch.len(), "a write was refused; committing one by one");
                    batch = commit_one_by_one(&pool, std::mem::take(&mut batch)).await;
                    if batch.is_empty() {
                        break;
                    }
                }
                failed => {
                    match failed {
                        Ok(Err(e)) => {
                            tracing::warn!(error = %e, ops = batch.len(), "write failed; retrying")
                        }
                        _ => tracing::warn!(
                            ops = batch.len(),
                            limit_ms = attempt_limit.as_millis() as u64,
                            "write timed out; retrying"
                        ),
                    }
                    crate::metrics::METRICS.db_write_failures.inc();
                    fail_expired(&mut batch, answer_timeout);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                    take_queued(&mut rx, &mut batch);
                    fail_expired(&mut batch, answer_timeout);
                    if batch.is_empty() {
                        break;
                    }
                }
            }
        }
        busy_since.store(0, Ordering::Relaxed);
    }
}

/// Is this the database refusing a statement (a bug or bad data), rather than the database
/// being unreachable or overloaded for a while? Connection exceptions (SQLSTATE class 08),
/// operator intervention such as a shutdown (57), insufficient resources (53), transaction
/// rollbacks (40) and system errors (58) are worth retrying; the rest is not.
fn is_refusal(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            !["08", "57", "53", "40", "58"]
                .iter()
                .any(|class| code.starts_with(class))
        }
        _ => false,
    }
}

/// Commits each operation alone so that one refused statement does not hold back the others.
/// A refused answer or join is failed, a refused journal entry is logged and dropped. Returns
/// what could not be written because the database went away meanwhile (to retry).
async fn commit_one_by_one(pool: &PgPool, ops: Vec<Op>) -> Vec<Op> {
    let mut retry = Vec::new();
    for op in ops {
        if !retry.is_empty() {
            retry.push(op);
            continue;
        }
        match commit(pool, std::slice::from_ref(&op)).await {
            Ok(inserted) => settle_all(vec![op], Some(&inserted)),
            Err(e) if is_refusal(&e) => {
                if let Op::Journal(entry, _) = &op {
                    tracing::error!(error = %e, ?entry, "a phase change was refused by the database and dropped");
                }
                settle_all(vec![op], None);
            }
            Err(_) => retry.push(op),
        }
    }
    retry
}

fn take_queued(rx: &mut mpsc::UnboundedReceiver<Op>, batch: &mut Vec<Op>) {
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(op) => batch.push(op),
            Err(_) => break,
        }
    }
}

/// Fails answers and joins that have waited too long; keeps journal entries.
fn fail_expired(batch: &mut Vec<Op>, timeout: Duration) {
    let (expired, kept): (Vec<Op>, Vec<Op>) =
        std::mem::take(batch).into_iter().partition(|op| match op {
            Op::Answer { queued, .. } | Op::Player { queued, .. } => queued.elapsed() >= timeout,
            Op::Journal(..) | Op::Flush(_) => false,
        });
    *batch = kept;
    settle_all(expired, None);
}

/// Tells every waiter how its write ended. `inserted` is the set of answer and player ids
/// committed; with `None` the batch failed.
fn settle_all(ops: Vec<Op>, inserted: Option<&std::collections::HashSet<Uuid>>) {
    let mut per_room: HashMap<Uuid, (SettleFn, Vec<AnswerSettled>)> = HashMap::new();
    for op in ops {
        match op {
            Op::Answer { answer, settle, .. } => {
                let outcome = match inserted {
                    Some(ids) if ids.contains(&answer.id) => Settled::Stored,
                    _ => Settled::Failed,
                };
                per_room
                    .entry(answer.room_id)
                    .or_insert_with(|| (settle, Vec::new()))
                    .1
                    .push(AnswerSettled {
                        id: answer.id,
                        player_id: answer.player_id,
                        question: answer.question,
                        outcome,
                    });
            }
            Op::Player { done, .. } => {
                let _ = done.send(if inserted.is_some() {
                    Ok(())
                } else {
                    Err(StoreError::Unavailable)
                });
            }
            Op::Flush(done) => {
                let _ = done.send(());
            }
            // Settled either way: committed, or refused and dropped (logged); a room waiting on
            // it must not wait forever.
            Op::Journal(_, done) => {
                if let Some(done) = done {
                    let _ = done.send(());
                }
            }
        }
    }
    for (_, (settle, outcomes)) in per_room {
        settle(outcomes);
    }
}

/// One transaction for the whole batch, statements in queue order (answers grouped into one
/// INSERT per run of consecutive answers). Returns the ids of the answers and players inserted.
async fn commit(
    pool: &PgPool,
    batch: &[Op],
) -> Result<std::collections::HashSet<Uuid>, sqlx::Error> {
    let mut inserted = std::collections::HashSet::new();
    if batch.iter().all(|op| matches!(op, Op::Flush(_))) {
        return Ok(inserted);
    }
    let mut tx = pool.begin().await?;
    let mut run: Vec<&NewAnswer> = Vec::new();
    for op in batch {
        if let Op::Answer { answer, .. } = op {
            run.push(answer);
            continue;
        }
        insert_answers(&mut tx, &mut run, &mut inserted).await?;
        match op {
            Op::Player {
                room_id,
                id,
                nickname,
                token_hash,
                at,
                ..
            } => {
                // The room already checked the nickname; the unique index is the last word.
                let stored = sqlx::query_scalar!(
                    r#"INSERT INTO players (id, room_id, nickname, token_hash, joined_at)
                       VALUES ($1, $2, $3, $4, $5)
                       ON CONFLICT (room_id, lower(nickname)) WHERE status = 'active' DO NOTHING
                       RETURNING id"#,
                    id,
                    room_id,
                    nickname,
                    token_hash,
                    to_ts(*at)
                )
                .fetch_optional(&mut *tx)
                .await?;
                if stored.is_none() {
                    // Taken by another player, or stored by an attempt whose reply was lost.
                    let ours = sqlx::query_scalar!(
                        r#"SELECT EXISTS (SELECT 1 FROM players WHERE id = $1) AS "exists!""#,
                        id
                    )
                    .fetch_one(&mut *tx)
                    .await?;
                    if ours {
                        inserted.insert(*id);
                    }
                    continue;
                }
                inserted.insert(*id);
                event(
                    &mut tx,
                    *room_id,
                    *at,
                    "player_joined",
                    None,
                    json!({"player_id": id}),
                )
                .await?;
            }
            Op::Journal(entry, _) => apply(&mut tx, entry).await?,
            Op::Answer { .. } | Op::Flush(_) => {}
        }
    }
    insert_answers(&mut tx, &mut run, &mut inserted).await?;
    tx.commit().await?;
    Ok(inserted)
}

async fn insert_answers(
    tx: &mut Transaction<'_, Postgres>,
    run: &mut Vec<&NewAnswer>,
    inserted: &mut std::collections::HashSet<Uuid>,
) -> Result<(), sqlx::Error> {
    if run.is_empty() {
        return Ok(());
    }
    let n = run.len();
    let (mut ids, mut rooms, mut questions, mut players) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut choices, mut received, mut response, mut correct, mut points) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for a in run.drain(..) {
        ids.push(a.id);
        rooms.push(a.room_id);
        questions.push(a.question as i32);
        players.push(a.player_id);
        choices.push(a.choice as i32);
        received.push(to_ts(a.received_at));
        response.push(a.response_ms.clamp(0, i64::from(i32::MAX)) as i32);
        correct.push(a.correct);
        points.push(a.points as i32);
    }
    // A duplicate (player, question) is skipped, not an error: one bad row must not fail the
    // batch; its answer is then rejected, as the unique index says.
    sqlx::query!(
        r#"INSERT INTO answers (id, room_id, question, player_id, choice, received_at, response_ms, correct, points)
           SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::int[], $4::uuid[], $5::int[],
                                $6::timestamptz[], $7::int[], $8::bool[], $9::int[])
           ON CONFLICT (player_id, question) DO NOTHING"#,
        &ids, &rooms, &questions, &players, &choices, &received, &response, &correct, &points
    )
    .execute(&mut **tx)
    .await?;
    // Stored means "a row with this answer's id exists", not "this statement inserted it": when
    // an earlier attempt committed but its reply was lost, the retry inserts nothing, and the
    // answer is stored all the same.
    let rows = sqlx::query_scalar!("SELECT id FROM answers WHERE id = ANY($1)", &ids)
        .fetch_all(&mut **tx)
        .await?;
    inserted.extend(rows);
    Ok(())
}

async fn event(
    tx: &mut Transaction<'_, Postgres>,
    room_id: Uuid,
    at: Millis,
    kind: &str,
    question: Option<usize>,
    detail: serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO room_events (room_id, at, kind, question, detail) VALUES ($1, $2, $3, $4, $5)",
        room_id,
        to_ts(at),
        kind,
        question.map(|q| q as i32),
        detail,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn apply(
    tx: &mut Transaction<'_, Postgres>,
    entry: &JournalEntry,
) -> Result<(), sqlx::Error> {
    match *entry {
        JournalEntry::QuestionOpened {
            room_id,
            question,
            started_at,
            deadline_at,
            first,
        } => {
            let q = question as i32;
            sqlx::query!(
                "UPDATE questions SET started_at = $3, deadline_at = $4 WHERE room_id = $1 AND idx = $2",
                room_id, q, to_ts(started_at), to_ts(deadline_at)
            )
            .execute(&mut **tx)
            .await?;
            sqlx::query!(
                r#"UPDATE rooms SET status = 'question', current_question = $2, paused_at = NULL,
                          started_at = CASE WHEN $4 THEN $3 ELSE started_at END
                    WHERE id = $1"#,
                room_id,
                q,
                to_ts(started_at),
                first
            )
            .execute(&mut **tx)
            .await?;
            if first {
                event(tx, room_id, started_at, "started", None, json!({})).await?;
            }
            event(
                tx,
                room_id,
                started_at,
                "question_opened",
                Some(question),
                json!({"deadline_at": deadline_at}),
            )
            .await
        }
        JournalEntry::Paused {
            room_id,
            question,
            at,
        } => {
            sqlx::query!(
                "UPDATE rooms SET status = 'paused', paused_at = $2 WHERE id = $1",
                room_id,
                to_ts(at)
            )
            .execute(&mut **tx)
            .await?;
            event(tx, room_id, at, "paused", Some(question), json!({})).await
        }
        JournalEntry::Resumed {
            room_id,
            question,
            at,
            deadline_at,
            paused_ms,
        } => {
            sqlx::query!(
                "UPDATE questions SET deadline_at = $3, paused_ms = $4 WHERE room_id = $1 AND idx = $2",
                room_id, question as i32, to_ts(deadline_at), paused_ms
            )
            .execute(&mut **tx)
            .await?;
            sqlx::query!(
                "UPDATE rooms SET status = 'question', paused_at = NULL WHERE id = $1",
                room_id
            )
            .execute(&mut **tx)
            .await?;
            event(
                tx,
                room_id,
                at,
                "resumed",
                Some(question),
                json!({"deadline_at": deadline_at}),
            )
            .await
        }
        JournalEntry::Closed {
            room_id,
            question,
            at,
            reason,
            paused_ms,
        } => {
            sqlx::query!(
                "UPDATE questions SET closed_at = $3, close_reason = $4, paused_ms = $5 WHERE room_id = $1 AND idx = $2",
                room_id, question as i32, to_ts(at), reason.as_str(), paused_ms
            )
            .execute(&mut **tx)
            .await?;
            sqlx::query!(
                "UPDATE rooms SET status = 'reveal', paused_at = NULL WHERE id = $1",
                room_id
            )
            .execute(&mut **tx)
            .await?;
            event(
                tx,
                room_id,
                at,
                "time_up",
                Some(question),
                json!({"reason": reason.as_str()}),
            )
            .await
        }
        JournalEntry::Revealed {
            room_id,
            question,
            at,
        } => {
            sqlx::query!(
                "UPDATE questions SET revealed_at = $3 WHERE room_id = $1 AND idx = $2",
                room_id,
                question as i32,
                to_ts(at)
            )
            .execute(&mut **tx)
            .await?;
            event(tx, room_id, at, "revealed", Some(question), json!({})).await
        }
        JournalEntry::Finished { room_id, at } => {
            sqlx::query!(
                r#"UPDATE rooms SET status = 'finished', finished_at = $2, current_question = NULL,
                          paused_at = NULL
                    WHERE id = $1"#,
                room_id,
                to_ts(at)
            )
            .execute(&mut **tx)
            .await?;
            event(tx, room_id, at, "finished", None, json!({})).await
        }
        JournalEntry::PlayerRemoved {
            room_id,
            player_id,
            status,
            at,
        } => {
            sqlx::query!(
                "UPDATE players SET status = $2, left_at = $3 WHERE id = $1",
                player_id,
                status.as_str(),
                to_ts(at)
            )
            .execute(&mut **tx)
            .await?;
            let kind = if status == PlayerStatus::Kicked {
                "player_kicked"
            } else {
                "player_left"
            };
            event(tx, room_id, at, kind, None, json!({"player_id": player_id})).await
        }
    }
}
