//! One actor per room: it owns the game state, its timers (deadline, ticks, lobby throttle,
//! auto-advance) and the sockets of its players and hosts. Every change to a room passes
//! through its mailbox in order; nothing in here waits on a socket or on Postgres.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use bytestring::ByteString;
use tokio::sync::oneshot;
use uuid::Uuid;

use super::RoomDeps;
use super::messages::*;
use super::registry::Registry;
use crate::config::Settings;
use crate::delivery::{Delivery, Undeliverable};
use crate::domain::{
    Advance, CloseReason, Game, Millis, Phase, PlayerStatus, Ranked, Rejection, Status,
};
use crate::metrics::METRICS;
use crate::outbox::{ConnTx, SendError};
use crate::priority::Deadlines;
use crate::protocol::{
    self, CurrentView, Event, HostWelcome, LeaderboardEntry, Outbound, PlayerWelcome, PlayerYou,
    QuestionMsg, QuestionView, RankYou, RevealYou, RoomSnapshot, RosterEntry,
};
use crate::store::{JournalEntry, NewAnswer, SettleFn, Settled as WriteOutcome, Store};

mod handlers;
mod views;

/// After a deadline, how long the room still waits for answers that a session read (and
/// stamped) before the deadline but that had not reached the mailbox yet (rule 3), at least.
const DEADLINE_GRACE: Duration = Duration::from_millis(25);
/// What writing one small frame to one socket costs the HTTP workers on a small machine (the
/// floor server measures 8-15 us per socket on this project's 2 cores).
const SEND_COST_PER_SOCKET: Duration = Duration::from_micros(12);
/// The longest a reveal waits after its `time_up`, whatever the number of sockets.
const REVEAL_WAIT_MAX: Duration = Duration::from_millis(300);

/// How long after a deadline's `time_up` the room reveals, `sockets` being how many the server
/// writes to: the grace for answers in flight, or, when longer, about the time the workers need
/// to write one frame to every socket. When many rooms reach their deadlines together, building
/// and writing their personal reveal and leaderboard frames during that time slowed every
/// `time_up` still being written (1,000 rooms of 10: p99 149-162 ms with 25 ms, 99-103 ms
/// with 150 ms; docs/benchmarks.md). Players see the reveal a fraction of a second later.
fn reveal_wait(sockets: usize) -> Duration {
    let fan_out = SEND_COST_PER_SOCKET.saturating_mul(u32::try_from(sockets).unwrap_or(u32::MAX));
    fan_out.clamp(DEADLINE_GRACE, REVEAL_WAIT_MAX)
}
/// `lobby` messages go out at most this often (rule 12).
const LOBBY_INTERVAL: Duration = Duration::from_millis(250);
/// Leaderboard messages carry the top entries only.
const LEADERBOARD_TOP: usize = 10;

pub fn now_ms() -> Millis {
    chrono::Utc::now().timestamp_millis()
}

fn now_ms_f64() -> f64 {
    chrono::Utc::now().timestamp_micros() as f64 / 1000.0
}

fn ms(d: Millis) -> Duration {
    Duration::from_millis(d.max(0) as u64)
}

/// One socket in the room; its frames go through the delivery task.
struct Conn {
    /// The player this socket speaks for; `None` for a host screen.
    player: Option<Uuid>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Audience {
    Everyone,
    Players,
    Hosts,
}

/// A host action that has to wait until the closing question is revealed.
type Deferred = (
    ControlAction,
    oneshot::Sender<Result<RoomView, ControlError>>,
);

pub struct Room {
    id: Uuid,
    code: String,
    host_token_hash: String,
    game: Game,
    store: Store,
    settings: Arc<Settings>,
    registry: Registry,
    delivery: Delivery,
    deadlines: Deadlines,
    /// How the delivery task reports a socket it let go.
    undeliverable: Undeliverable,
    conns: HashMap<ConnId, Conn>,
    /// The host screens among `conns`, kept apart because frames for hosts only (a join, the
    /// progress after every group commit) would otherwise scan every player's socket.
    host_conns: Vec<ConnId>,
    /// The socket each connected player currently uses.
    player_conn: HashMap<Uuid, ConnId>,
    settle: SettleFn,
    deadline_timer: Option<SpawnHandle>,
    tick_timer: Option<SpawnHandle>,
    next_tick_at: tokio::time::Instant,
    grace_timer: Option<SpawnHandle>,
    /// The armed auto-advance, and when it fires (server clock) for host screens that connect
    /// meanwhile.
    auto_advance: Option<(SpawnHandle, Millis)>,
    lobby_timer: Option<SpawnHandle>,
    lobby_sent_at: Option<tokio::time::Instant>,
    /// The count the last `lobby` message carried; `None` once a welcome may have shown a
    /// different one, so that the next flush is sent whatever the count (rule 12).
    lobby_sent_count: Option<usize>,
    deferred: Vec<Deferred>,
    reported_status: Option<Status>,
    /// The last join, resume, host connection, answer or host action.
    last_activity: tokio::time::Instant,
    /// Whether the closing of the current question is committed (a reveal waits for it).
    close_stored: bool,
}

impl Room {
    pub fn new(
        id: Uuid,
        code: String,
        host_token_hash: String,
        game: Game,
        deps: &RoomDeps,
        addr: Addr<Room>,
    ) -> Room {
        // How the writer and the delivery task reach the room again: through its mailbox.
        let settle: SettleFn = {
            let addr = addr.clone();
            Arc::new(move |outcomes| addr.do_send(Settled(outcomes)))
        };
        let undeliverable: Undeliverable =
            Arc::new(move |conn, error| addr.do_send(SocketDropped { conn, error }));
        Room {
            id,
            code,
            host_token_hash,
            game,
            store: deps.store.clone(),
            settings: deps.settings.clone(),
            registry: deps.registry.clone(),
            delivery: deps.delivery.clone(),
            deadlines: deps.deadlines.clone(),
            undeliverable,
            conns: HashMap::new(),
            host_conns: Vec::new(),
            player_conn: HashMap::new(),
            settle,
            deadline_timer: None,
            tick_timer: None,
            next_tick_at: tokio::time::Instant::now(),
            grace_timer: None,
            auto_advance: None,
            lobby_timer: None,
            lobby_sent_at: None,
            lobby_sent_count: None,
            deferred: Vec::new(),
            reported_status: None,
            last_activity: tokio::time::Instant::now(),
            close_stored: true,
        }
    }

    // ----- sending -------------------------------------------------------------------------

    /// Takes a socket into the room: its frames now go to `tx`, in order.
    fn add_conn(&mut self, conn: ConnId, tx: ConnTx, player: Option<Uuid>) {
        // A socket joins once (its session refuses a second join), so it is never here yet.
        debug_assert!(!self.conns.contains_key(&conn));
        self.delivery.attach(conn, tx, self.undeliverable.clone());
        if player.is_none() {
            self.host_conns.push(conn);
        }
        self.conns.insert(conn, Conn { player });
    }

    /// Lets go of a socket once the frames queued for it so far are handed over.
    fn remove_conn(&mut self, conn: ConnId) -> Option<Conn> {
        let c = self.conns.remove(&conn)?;
        if c.player.is_none() {
            self.host_conns.retain(|h| *h != conn);
        }
        self.delivery.detach(conn);
        Some(c)
    }

    /// Queues a frame for one socket. A socket that cannot take it (too slow, or gone) is let
    /// go by the delivery task, which tells the room (`SocketDropped`).
    fn send(&mut self, conn: ConnId, out: Outbound) {
        if self.conns.contains_key(&conn) {
            self.delivery.send(conn, out);
        }
    }

    /// The delivery task let go of a socket that could not take a frame.
    fn dropped(&mut self, conn: ConnId, e: SendError) {
        if !self.conns.contains_key(&conn) {
            return;
        }
        if e == SendError::Full {
            METRICS.slow_clients_dropped.inc();
            tracing::info!(room_code = %self.code, conn, "dropped a socket that does not keep up");
        }
        self.forget_conn(conn);
    }

    fn send_text(&mut self, conn: ConnId, text: ByteString) {
        self.send(conn, Outbound::Text(text));
    }

    /// Sends one serialized frame to every socket of an audience.
    fn broadcast(&mut self, text: &ByteString, audience: Audience) {
        if audience == Audience::Hosts {
            self.delivery
                .send_same(self.host_conns.clone(), text.clone());
            return;
        }
        let conns = self
            .conns
            .iter()
            .filter(|(_, c)| match audience {
                Audience::Everyone => true,
                Audience::Players => c.player.is_some(),
                Audience::Hosts => c.player.is_none(),
            })
            .map(|(id, _)| *id)
            .collect();
        self.delivery.send_same(conns, text.clone());
    }

    /// One frame per socket of the room, in `conns` order: the shared part with the player's
    /// own `you`, or the shared part alone for a host screen.
    fn personal_frames<Y: serde::Serialize>(
        &self,
        shared: &ByteString,
        you: impl Fn(&Self, Uuid) -> Y,
    ) -> Vec<(ConnId, ByteString)> {
        self.conns
            .iter()
            .map(|(id, c)| {
                let text = match c.player {
                    Some(p) => protocol::with_you(shared, &you(self, p)),
                    None => shared.clone(),
                };
                (*id, text)
            })
            .collect()
    }

    /// Sends two personal messages with each socket's pair back to back, so that its HTTP
    /// worker usually finds both queued and writes them with one syscall instead of two.
    fn broadcast_pairs(
        &mut self,
        first: Vec<(ConnId, ByteString)>,
        second: Vec<(ConnId, ByteString)>,
    ) {
        // Both lists were built from `conns` with nothing changed in between.
        debug_assert!(first.iter().map(|f| f.0).eq(second.iter().map(|f| f.0)));
        let frames = first
            .into_iter()
            .zip(second)
            .flat_map(|(a, b)| [a, b])
            .collect();
        self.delivery.send_each(frames);
    }

    /// Removes a socket from the room; its player becomes disconnected.
    fn forget_conn(&mut self, conn: ConnId) -> Option<Uuid> {
        let c = self.remove_conn(conn)?;
        let player = c.player?;
        if self.player_conn.get(&player) == Some(&conn) {
            self.player_conn.remove(&player);
            self.game.set_connected(player, false);
        }
        Some(player)
    }

    fn journal(&self, entry: JournalEntry) {
        self.store.writer.journal(entry);
    }

    // ----- timers --------------------------------------------------------------------------

    fn cancel(ctx: &mut Context<Self>, handle: &mut Option<SpawnHandle>) {
        if let Some(h) = handle.take() {
            ctx.cancel_future(h);
        }
    }

    fn stop_question_timers(&mut self, ctx: &mut Context<Self>) {
        Self::cancel(ctx, &mut self.deadline_timer);
        Self::cancel(ctx, &mut self.tick_timer);
    }

    /// Arms the time-up on the absolute deadline, one millisecond past it so that the server
    /// clock has passed `deadline_at` when `time_up` is sent (rule 3).
    fn arm_deadline(&mut self, ctx: &mut Context<Self>) {
        Self::cancel(ctx, &mut self.deadline_timer);
        let Some(round) = self.game.round() else {
            return;
        };
        let delay = ms(round.deadline_at + 1 - now_ms());
        self.deadlines.expect(tokio::time::Instant::now() + delay);
        self.deadline_timer = Some(ctx.run_later(delay, |act, ctx| {
            act.deadline_timer = None;
            if act.game.deadline_passed(now_ms()) {
                act.close_question(CloseReason::Deadline, ctx);
            } else if act.game.phase() == Phase::Question {
                act.arm_deadline(ctx);
            }
        }));
    }

    /// Ticks every `TICK_MS` from now on, on absolute instants so they do not drift.
    fn start_ticks(&mut self, ctx: &mut Context<Self>) {
        Self::cancel(ctx, &mut self.tick_timer);
        self.next_tick_at = tokio::time::Instant::now() + self.settings.tick;
        self.arm_tick(ctx);
    }

    fn arm_tick(&mut self, ctx: &mut Context<Self>) {
        let delay = self
            .next_tick_at
            .saturating_duration_since(tokio::time::Instant::now());
        self.tick_timer = Some(ctx.run_later(delay, |act, ctx| {
            act.tick_timer = None;
            let Some(round) = act
                .game
                .round()
                .filter(|_| act.game.phase() == Phase::Question)
            else {
                return;
            };
            let now = now_ms();
            let (question, remaining_ms) = (round.index, round.deadline_at - now);
            if remaining_ms > 0 {
                let text = protocol::frame(&Event::Tick {
                    question,
                    remaining_ms,
                    server_time: now,
                });
                act.broadcast(&text, Audience::Everyone);
            }
            act.next_tick_at += act.settings.tick;
            act.arm_tick(ctx);
        }));
    }

    // ----- the lobby -----------------------------------------------------------------------

    /// The roster changed: players in the lobby hear the new count, at most every 250 ms.
    fn roster_changed(&mut self, ctx: &mut Context<Self>) {
        if self.game.phase() != Phase::Lobby || self.lobby_timer.is_some() {
            return;
        }
        let now = tokio::time::Instant::now();
        match self
            .lobby_sent_at
            .map(|t| t + LOBBY_INTERVAL)
            .filter(|due| *due > now)
        {
            None => self.send_lobby(),
            Some(due) => {
                self.lobby_timer = Some(ctx.run_later(due - now, |act, _| {
                    act.lobby_timer = None;
                    act.send_lobby();
                }));
            }
        }
    }

    fn send_lobby(&mut self) {
        let count = self.game.player_count();
        if self.game.phase() != Phase::Lobby || Some(count) == self.lobby_sent_count {
            return;
        }
        self.lobby_sent_count = Some(count);
        self.lobby_sent_at = Some(tokio::time::Instant::now());
        let text = protocol::frame(&Event::Lobby {
            player_count: count,
        });
        self.broadcast(&text, Audience::Players);
    }

    // ----- players -------------------------------------------------------------------------

    fn attach_player(&mut self, player: Uuid, conn: ConnId, tx: ConnTx, token: &str) {
        if let Some(old) = self.player_conn.insert(player, conn)
            && old != conn
        {
            // Rule 11: a resume on a new socket closes the old one.
            self.send(old, Outbound::Close(4000, "resumed on another connection"));
            self.remove_conn(old);
        }
        self.add_conn(conn, tx, Some(player));
        self.game.set_connected(player, true);
        let now = now_ms();
        let Some(p) = self.game.player(player) else {
            return;
        };
        let answer = self
            .game
            .round()
            .and_then(|r| self.game.answer_of(player, r.index));
        let answered_choice = answer.map(|a| a.choice);
        let rank = self.game.started_at.and_then(|_| self.game.rank_of(player));
        // Only once revealed: before that, `correct` would give the answer away.
        let revealed = self.game.phase() == Phase::Reveal;
        let welcome = PlayerWelcome {
            kind: "welcome",
            role: "player",
            player_id: player,
            player_token: token,
            nickname: p.nickname.as_str(),
            server_time: now,
            room: self.snapshot(now),
            you: PlayerYou {
                score: p.score,
                answered_choice,
                rank,
                correct: revealed.then(|| answer.is_some_and(|a| a.correct)),
                points: revealed.then(|| answer.map_or(0, |a| a.points)),
                response_ms: answer.filter(|_| revealed).map(|a| a.response_ms),
            },
        };
        let text = protocol::frame(&welcome);
        self.send_text(conn, text);
        // This player now knows a count that the others may not have been sent.
        self.lobby_sent_count = None;
    }

    fn host_welcome(&self, now: Millis) -> HostWelcome {
        let ranked = self.game.leaderboard();
        let players = ranked
            .iter()
            .map(|r| RosterEntry {
                player_id: r.player_id,
                nickname: r.nickname.clone(),
                score: r.score,
                connected: self.game.player(r.player_id).is_some_and(|p| p.connected),
            })
            .collect();
        HostWelcome {
            kind: "welcome",
            role: "host",
            server_time: now,
            room: self.snapshot(now),
            players,
            settings: self.game.quiz.settings,
            advance_at: self.auto_advance.map(|(_, at)| at),
        }
    }

    /// A player leaves or is kicked (rule 9).
    fn remove_player(&mut self, player: Uuid, how: PlayerStatus, ctx: &mut Context<Self>) {
        let Some(nickname) = self
            .game
            .player(player)
            .map(|p| p.nickname.as_str().to_owned())
        else {
            return;
        };
        if !self.game.remove_player(player, how) {
            return;
        }
        self.journal(JournalEntry::PlayerRemoved {
            room_id: self.id,
            player_id: player,
            status: how,
            at: now_ms(),
        });
        if let Some(conn) = self.player_conn.remove(&player) {
            if how == PlayerStatus::Kicked {
                self.send_text(conn, protocol::frame(&Event::Kicked {}));
            }
            self.send(
                conn,
                Outbound::Close(
                    1000,
                    if how == PlayerStatus::Kicked {
                        "kicked"
                    } else {
                        "left"
                    },
                ),
            );
            self.remove_conn(conn);
        }
        let text = protocol::frame(&Event::PlayerLeft {
            player_id: player,
            nickname: &nickname,
            player_count: self.game.player_count(),
        });
        self.broadcast(&text, Audience::Hosts);
        self.roster_changed(ctx);
        self.check_all_answered(ctx);
    }

    fn check_all_answered(&mut self, ctx: &mut Context<Self>) {
        if self.game.quiz.settings.end_when_all_answered && self.game.all_connected_answered() {
            self.close_question(CloseReason::AllAnswered, ctx);
        }
    }

    // ----- phases --------------------------------------------------------------------------

    fn question_opened(&mut self, first: bool, ctx: &mut Context<Self>) {
        self.cancel_auto_advance(ctx);
        Self::cancel(ctx, &mut self.lobby_timer);
        let Some(view) = self.question_view() else {
            return;
        };
        let now = now_ms();
        let text = protocol::frame(&QuestionMsg {
            kind: "question",
            question: &view,
            server_time: now,
        });
        self.broadcast(&text, Audience::Everyone);
        self.journal(JournalEntry::QuestionOpened {
            room_id: self.id,
            question: view.question,
            started_at: view.started_at,
            deadline_at: view.deadline_at,
            first,
        });
        self.arm_deadline(ctx);
        self.start_ticks(ctx);
        self.track_status();
    }

    /// Time-up: locks the answers, tells everyone, then reveals once every answer read by the
    /// deadline is judged and stored.
    fn close_question(&mut self, reason: CloseReason, ctx: &mut Context<Self>) {
        let now = now_ms();
        let Ok(question) = self.game.close(reason, now) else {
            return;
        };
        self.stop_question_timers(ctx);
        let Some(round) = self.game.round().cloned() else {
            return;
        };
        let text = protocol::frame(&Event::TimeUp {
            question,
            reason: reason.as_str(),
            server_time: now,
        });
        self.broadcast(&text, Audience::Everyone);
        if reason == CloseReason::Deadline {
            METRICS
                .time_up_lateness
                .observe_ms(now_ms_f64() - round.deadline_at as f64);
            let wait = reveal_wait(self.delivery.sockets());
            self.grace_timer = Some(ctx.run_later(wait, |act, ctx| {
                act.grace_timer = None;
                act.try_reveal(ctx);
            }));
        }
        // The reveal publishes the correct choice: it waits until Postgres knows the question
        // closed, so that a crash can never bring back open a question whose answer is out.
        let stored = self.store.writer.journal_durable(JournalEntry::Closed {
            room_id: self.id,
            question,
            at: now,
            reason,
            paused_ms: round.paused_ms,
        });
        self.close_stored = false;
        ctx.spawn(
            async move { stored.await.unwrap_or(()) }
                .into_actor(self)
                .map(|(), act, ctx| {
                    act.close_stored = true;
                    act.try_reveal(ctx);
                }),
        );
        self.track_status();
        self.try_reveal(ctx);
    }

    /// Reveals the closed question once nothing about it is still pending.
    fn try_reveal(&mut self, ctx: &mut Context<Self>) {
        if self.game.phase() != Phase::Closed || self.grace_timer.is_some() || !self.close_stored {
            return;
        }
        let Some(question) = self.game.round().map(|r| r.index) else {
            return;
        };
        if self.game.pending_count(question) > 0 {
            return;
        }
        let now = now_ms();
        let Ok(outcome) = self.game.reveal(now) else {
            return;
        };
        self.journal(JournalEntry::Revealed {
            room_id: self.id,
            question,
            at: now,
        });
        let ranked = self.game.leaderboard();
        let ranks: HashMap<Uuid, u32> = ranked.iter().map(|r| (r.player_id, r.rank)).collect();
        let last_rank = ranked.len() as u32 + 1;
        let shared = protocol::frame(&Event::Reveal {
            question,
            correct: outcome.correct,
            distribution: &outcome.distribution,
            answered: outcome.answered,
        });
        let reveals = self.personal_frames(&shared, |room, player| {
            let answer = room.game.answer_of(player, question).filter(|a| a.durable);
            RevealYou {
                choice: answer.map(|a| a.choice),
                correct: answer.is_some_and(|a| a.correct),
                points: answer.map_or(0, |a| a.points),
                response_ms: answer.map(|a| a.response_ms),
                score: room.game.player(player).map_or(0, |p| p.score),
                rank: ranks.get(&player).copied().unwrap_or(last_rank),
            }
        });
        let entries = Self::entries(&ranked, LEADERBOARD_TOP);
        let shared = protocol::frame(&Event::Leaderboard { entries: &entries });
        let boards = self.rank_frames(&shared, &ranked);
        self.broadcast_pairs(reveals, boards);
        self.track_status();

        for (action, reply) in std::mem::take(&mut self.deferred) {
            let result = self.apply(action, ctx);
            let _ = reply.send(result);
        }
        if self.game.phase() == Phase::Reveal
            && let Some(after) = self.game.quiz.settings.auto_advance_ms
        {
            self.arm_auto_advance(Millis::from(after), ctx);
        }
    }

    /// A leaderboard-shaped message for every socket, with each player's own rank and score.
    fn rank_frames(&self, shared: &ByteString, ranked: &[Ranked]) -> Vec<(ConnId, ByteString)> {
        let by_player: HashMap<Uuid, RankYou> = ranked
            .iter()
            .map(|r| {
                (
                    r.player_id,
                    RankYou {
                        rank: r.rank,
                        score: r.score,
                    },
                )
            })
            .collect();
        let last = RankYou {
            rank: ranked.len() as u32 + 1,
            score: 0,
        };
        self.personal_frames(shared, |_, player| {
            by_player
                .get(&player)
                .cloned()
                .unwrap_or_else(|| last.clone())
        })
    }

    fn arm_auto_advance(&mut self, delay: Millis, ctx: &mut Context<Self>) {
        self.cancel_auto_advance(ctx);
        let timer = ctx.run_later(ms(delay), |act, ctx| {
            act.auto_advance = None;
            if act.game.phase() == Phase::Reveal {
                let _ = act.apply(ControlAction::Next, ctx);
            }
        });
        self.auto_advance = Some((timer, now_ms() + delay.max(0)));
    }

    fn cancel_auto_advance(&mut self, ctx: &mut Context<Self>) {
        if let Some((timer, _)) = self.auto_advance.take() {
            ctx.cancel_future(timer);
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        self.cancel_auto_advance(ctx);
        Self::cancel(ctx, &mut self.lobby_timer);
        self.stop_question_timers(ctx);
        let now = now_ms();
        self.journal(JournalEntry::Finished {
            room_id: self.id,
            at: now,
        });
        // Rule 5: an end in the lobby has no standings to show.
        let ranked = if self.game.started_at.is_some() {
            self.game.leaderboard()
        } else {
            Vec::new()
        };
        let entries = Self::entries(&ranked, LEADERBOARD_TOP);
        let shared = protocol::frame(&Event::GameOver { entries: &entries });
        if self.game.started_at.is_some() {
            let frames = self.rank_frames(&shared, &ranked);
            self.delivery.send_each(frames);
        } else {
            self.broadcast(&shared, Audience::Everyone);
        }
        self.track_status();
        // Late readers (the results page, a reloading player) still find the room for a while.
        let ttl = self.settings.finished_room_ttl;
        ctx.run_later(ttl, |_, ctx| ctx.stop());
    }

    /// Runs a host action; the token has been checked.
    fn apply(
        &mut self,
        action: ControlAction,
        ctx: &mut Context<Self>,
    ) -> Result<RoomView, ControlError> {
        let now = now_ms();
        match action {
            ControlAction::Start => {
                self.game.start(now)?;
                self.question_opened(true, ctx);
            }
            ControlAction::Pause => {
                let remaining_ms = self.game.pause(now)?;
                self.stop_question_timers(ctx);
                let question = self.game.round().map_or(0, |r| r.index);
                let text = protocol::frame(&Event::Paused {
                    question,
                    remaining_ms,
                    server_time: now,
                });
                self.broadcast(&text, Audience::Everyone);
                self.journal(JournalEntry::Paused {
                    room_id: self.id,
                    question,
                    at: now,
                });
                self.track_status();
            }
            ControlAction::Resume => {
                let deadline_at = self.game.resume(now)?;
                let (question, paused_ms) =
                    self.game.round().map_or((0, 0), |r| (r.index, r.paused_ms));
                let text = protocol::frame(&Event::Resumed {
                    question,
                    remaining_ms: (deadline_at - now).max(0),
                    deadline_at,
                    server_time: now,
                });
                self.broadcast(&text, Audience::Everyone);
                self.journal(JournalEntry::Resumed {
                    room_id: self.id,
                    question,
                    at: now,
                    deadline_at,
                    paused_ms,
                });
                self.arm_deadline(ctx);
                self.start_ticks(ctx);
                self.track_status();
            }
            ControlAction::Lock => {
                if !matches!(self.game.phase(), Phase::Question | Phase::Paused) {
                    return Err(ControlError::InvalidState(crate::domain::InvalidState {
                        action: "lock",
                        status: self.game.status().as_str(),
                    }));
                }
                self.close_question(CloseReason::Locked, ctx);
            }
            ControlAction::Next => match self.game.next(now)? {
                Advance::Opened(_) => self.question_opened(false, ctx),
                Advance::Finished => self.finished(ctx),
            },
            ControlAction::End => {
                self.game.end(now)?;
                self.finished(ctx);
            }
            ControlAction::Kick(player) => {
                if self.game.player(player).is_none() {
                    return Err(ControlError::PlayerNotFound);
                }
                self.remove_player(player, PlayerStatus::Kicked, ctx);
            }
        }
        Ok(self.view())
    }

    /// Runs a host action now, or, while a question closes, once it is revealed: `next` and
    /// `end` wait for the reveal (rule 5), and `end` during an open question closes it first.
    fn control(
        &mut self,
        action: ControlAction,
        ctx: &mut Context<Self>,
    ) -> Result<Result<RoomView, ControlError>, oneshot::Receiver<Result<RoomView, ControlError>>>
    {
        let wait = match (action, self.game.phase()) {
            (ControlAction::Next | ControlAction::End, Phase::Closed) => true,
            (ControlAction::End, Phase::Question | Phase::Paused) => {
                self.close_question(CloseReason::Locked, ctx);
                self.game.phase() == Phase::Closed
            }
            _ => false,
        };
        if wait {
            let (reply, rx) = oneshot::channel();
            self.deferred.push((action, reply));
            Err(rx)
        } else {
            Ok(self.apply(action, ctx))
        }
    }

    /// Ends a room nobody has used for `ROOM_IDLE_TIMEOUT_MS`, so that abandoned rooms do not
    /// stay in memory (and come back after every restart) forever.
    fn reap_if_idle(&mut self, ctx: &mut Context<Self>) {
        let idle = self.last_activity.elapsed();
        if self.game.phase() != Phase::Finished && idle >= self.settings.room_idle_timeout {
            tracing::info!(room_code = %self.code, idle_s = idle.as_secs(), "ending an idle room");
            let _ = self.control(ControlAction::End, ctx);
        }
    }

    fn answer_settled(
        &mut self,
        outcomes: Vec<crate::store::AnswerSettled>,
        ctx: &mut Context<Self>,
    ) {
        let mut progressed = None;
        for s in outcomes {
            let conn = self.player_conn.get(&s.player_id).copied();
            match s.outcome {
                WriteOutcome::Stored => {
                    if !self.game.confirm_answer(s.player_id, s.question, s.id) {
                        continue;
                    }
                    METRICS.answers_accepted.inc();
                    progressed = Some(s.question);
                    if let (Some(conn), Some(a)) =
                        (conn, self.game.answer_of(s.player_id, s.question))
                    {
                        let text = protocol::frame(&Event::AnswerAck {
                            question: a.question,
                            choice: a.choice,
                            received_at: a.received_at,
                        });
                        self.send_text(conn, text);
                    }
                }
                WriteOutcome::Failed => {
                    self.game.discard_answer(s.player_id, s.question, s.id);
                    METRICS.rejected(Rejection::Unavailable);
                    if let Some(conn) = conn {
                        let text = protocol::frame(&Event::AnswerRejected {
                            question: s.question as i64,
                            reason: Rejection::Unavailable.code(),
                        });
                        self.send_text(conn, text);
                    }
                }
            }
        }
        if let Some(question) = progressed {
            let text = protocol::frame(&Event::AnswersProgress {
                question,
                answered: self.game.durable_count(question),
                player_count: self.game.player_count(),
            });
            self.broadcast(&text, Audience::Hosts);
        }
        self.check_all_answered(ctx);
        self.try_reveal(ctx);
    }

    /// Re-arms what a restored room was waiting for (crash recovery); a new room is in the
    /// lobby and waits for nothing.
    fn resume_timers(&mut self, ctx: &mut Context<Self>) {
        match self.game.phase() {
            Phase::Question => {
                self.arm_deadline(ctx);
                self.start_ticks(ctx);
            }
            Phase::Closed => self.try_reveal(ctx),
            Phase::Reveal => {
                if let (Some(after), Some(revealed_at)) = (
                    self.game.quiz.settings.auto_advance_ms,
                    self.game.round().and_then(|r| r.revealed_at),
                ) {
                    self.arm_auto_advance(revealed_at + Millis::from(after) - now_ms(), ctx);
                }
            }
            Phase::Finished => {
                let ttl = self.settings.finished_room_ttl;
                ctx.run_later(ttl, |_, ctx| ctx.stop());
            }
            Phase::Lobby | Phase::Paused => {}
        }
    }
}

impl Actor for Room {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.track_status();
        self.resume_timers(ctx);
        let every = (self.settings.room_idle_timeout / 10)
            .clamp(Duration::from_millis(100), Duration::from_secs(60));
        ctx.run_interval(every, |act, ctx| act.reap_if_idle(ctx));
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        METRICS.room_status(self.reported_status.take(), None);
        self.registry.remove(&self.code, self.id);
        for (_, reply) in self.deferred.drain(..) {
            let _ = reply.send(Err(ControlError::Gone));
        }
        self.host_conns.clear();
        for (conn, _) in self.conns.drain() {
            self.delivery
                .send(conn, Outbound::Close(1000, "the room has closed"));
            self.delivery.detach(conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reveal_waits_the_grace_for_a_few_sockets_and_the_fan_out_for_many() {
        assert_eq!(reveal_wait(0), DEADLINE_GRACE);
        assert_eq!(reveal_wait(2_000), DEADLINE_GRACE);
        assert_eq!(reveal_wait(10_000), Duration::from_millis(120));
        assert_eq!(reveal_wait(19_000), Duration::from_millis(228));
        assert_eq!(reveal_wait(1_000_000), REVEAL_WAIT_MAX);
        assert_eq!(reveal_wait(usize::MAX), REVEAL_WAIT_MAX);
    }
}
