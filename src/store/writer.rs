//! The single writer: a task that takes every game write (answers, joins, phase changes) in
//! order, commits whatever has queued up in one transaction (group commit), and then tells the
//! rooms which answers are durable. While Postgres is down it retries with backoff; answers and
//! joins that wait longer than their bound are failed (the player is told `unavailable`),
//! phase changes are kept and retried until they land, in order.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::StoreError;
use super::batch;
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

pub(super) enum Op {
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
            let started = Instant::now();
            let attempt = tokio::time::timeout(attempt_limit, batch::commit(&pool, &batch)).await;
            match attempt {
                Ok(Ok(inserted)) => {
                    tracing::debug!(
                        ops = batch.len(),
                        ms = started.elapsed().as_secs_f64() * 1e3,
                        "group commit"
                    );
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
        match batch::commit(pool, std::slice::from_ref(&op)).await {
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
            Op::Player { id, done, .. } => {
                let _ = done.send(match inserted {
                    Some(ids) if ids.contains(&id) => Ok(()),
                    Some(_) => Err(StoreError::NicknameTaken),
                    None => Err(StoreError::Unavailable),
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
