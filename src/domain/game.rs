//! The game's rules as a state machine over plain data: phases, players, judging answers,
//! scoring at reveal. Every function that needs the time takes `now`; nothing here does I/O.

use std::collections::HashMap;

use uuid::Uuid;

use super::nickname::Nickname;
use super::quiz::Quiz;
use super::scoring::{Ranked, Standing, points_for_correct, rank};

/// Milliseconds since the Unix epoch on the server's clock.
pub type Millis = i64;

/// Where the game is. `Closed` is the short moment between a question's time-up and its reveal,
/// while the last answers read before the deadline are judged and made durable; the wire shows
/// it as `reveal` (the answers are locked), without the correct choice yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Lobby,
    Question,
    Paused,
    Closed,
    Reveal,
    Finished,
}

/// The status the protocol shows for a phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Lobby,
    Question,
    Paused,
    Reveal,
    Finished,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Lobby => "lobby",
            Status::Question => "question",
            Status::Paused => "paused",
            Status::Reveal => "reveal",
            Status::Finished => "finished",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "lobby" => Status::Lobby,
            "question" => Status::Question,
            "paused" => Status::Paused,
            "reveal" => Status::Reveal,
            "finished" => Status::Finished,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    Deadline,
    Locked,
    AllAnswered,
}

impl CloseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Deadline => "deadline",
            CloseReason::Locked => "locked",
            CloseReason::AllAnswered => "all_answered",
        }
    }

    pub fn parse(s: &str) -> Option<CloseReason> {
        Some(match s {
            "deadline" => CloseReason::Deadline,
            "locked" => CloseReason::Locked,
            "all_answered" => CloseReason::AllAnswered,
            _ => return None,
        })
    }
}

/// The timing of the question that is open, paused, closed or revealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Round {
    pub index: usize,
    pub started_at: Millis,
    /// `started_at + time_limit_ms + time spent paused`; moves on every resume.
    pub deadline_at: Millis,
    pub paused_at: Option<Millis>,
    /// Time spent paused before now (not counting a pause still under way).
    pub paused_ms: Millis,
    pub closed: Option<(CloseReason, Millis)>,
    pub revealed_at: Option<Millis>,
}

impl Round {
    /// Time left before the deadline; frozen while paused.
    pub fn remaining_ms(&self, now: Millis) -> Millis {
        let at = self.paused_at.unwrap_or(now);
        (self.deadline_at - at).max(0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayerStatus {
    Active,
    Left,
    Kicked,
}

impl PlayerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PlayerStatus::Active => "active",
            PlayerStatus::Left => "left",
            PlayerStatus::Kicked => "kicked",
        }
    }

    pub fn parse(s: &str) -> Option<PlayerStatus> {
        Some(match s {
            "active" => PlayerStatus::Active,
            "left" => PlayerStatus::Left,
            "kicked" => PlayerStatus::Kicked,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Player {
    pub id: Uuid,
    pub nickname: Nickname,
    pub token_hash: String,
    pub status: PlayerStatus,
    /// Has a live socket. Disconnected players stay in the room and may resume.
    pub connected: bool,
    /// Visible score: points of revealed questions only (rule 4).
    pub score: i64,
}

/// An accepted answer. `durable` turns true once its row is committed; only then is it acked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    pub id: Uuid,
    pub player_id: Uuid,
    pub question: usize,
    pub choice: usize,
    pub received_at: Millis,
    pub response_ms: Millis,
    pub correct: bool,
    pub points: u32,
    pub durable: bool,
}

/// An accepted answer as the game keeps it: the seat it is stored under says whose, the list it
/// is in which question. 40 bytes, where an `Answer` in a map keyed by player took about 180
/// (with the map's spare room): at 2,000 players and 10 questions, 1.4 KiB per player.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Kept {
    id: Uuid,
    received_at: Millis,
    response_ms: Millis,
    points: u32,
    /// Below `MAX_CHOICES`.
    choice: u8,
    correct: bool,
    durable: bool,
}

impl Kept {
    /// `None` for a choice no question can have (only a corrupt store gives one).
    fn of(a: &Answer) -> Option<Kept> {
        Some(Kept {
            id: a.id,
            received_at: a.received_at,
            response_ms: a.response_ms,
            points: a.points,
            choice: u8::try_from(a.choice).ok()?,
            correct: a.correct,
            durable: a.durable,
        })
    }

    fn answer(&self, player_id: Uuid, question: usize) -> Answer {
        Answer {
            id: self.id,
            player_id,
            question,
            choice: usize::from(self.choice),
            received_at: self.received_at,
            response_ms: self.response_ms,
            correct: self.correct,
            points: self.points,
            durable: self.durable,
        }
    }
}

/// A player's place in the roster, in the order of joining.
type Seat = usize;

/// Why an answer was not accepted, in the order of PROTOCOL.md rule 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("join the room as a player first")]
    NotJoined,
    #[error("no question is open")]
    NotOpen,
    #[error("that is not the open question")]
    WrongQuestion,
    #[error("time is up for this question")]
    TooLate,
    #[error("no such choice")]
    InvalidChoice,
    #[error("you already answered this question")]
    AlreadyAnswered,
    #[error("the answer could not be stored; try again")]
    Unavailable,
}

impl Rejection {
    pub fn code(self) -> &'static str {
        match self {
            Rejection::NotJoined => "not_joined",
            Rejection::NotOpen => "not_open",
            Rejection::WrongQuestion => "wrong_question",
            Rejection::TooLate => "too_late",
            Rejection::InvalidChoice => "invalid_choice",
            Rejection::AlreadyAnswered => "already_answered",
            Rejection::Unavailable => "unavailable",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    #[error("the game is over")]
    GameFinished,
    #[error("the room is full")]
    RoomFull,
    #[error("that nickname is taken in this room")]
    NicknameTaken,
}

/// A host action refused in the current phase (`409 invalid_state`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} while the room is {status}")]
pub struct InvalidState {
    pub action: &'static str,
    pub status: &'static str,
}

/// The public facts of a revealed question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevealOutcome {
    pub question: usize,
    pub correct: usize,
    pub distribution: Vec<u32>,
    pub answered: u32,
}

/// What `next` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advance {
    Opened(usize),
    Finished,
}

#[derive(Debug, Clone)]
pub struct Game {
    pub quiz: Quiz,
    phase: Phase,
    round: Option<Round>,
    /// Everyone who joined, at their seat; left and kicked players keep theirs (their answers
    /// stay counted). A join that could not be stored leaves its seat empty.
    players: Vec<Option<Player>>,
    seat_of: HashMap<Uuid, Seat>,
    /// Lowercased nickname -> player, for players still in the room.
    nickname_owner: HashMap<String, Uuid>,
    /// Token hash -> player, for players still in the room.
    token_owner: HashMap<String, Uuid>,
    /// answers[question][seat], sized to the roster when the question gets an answer.
    answers: Vec<Vec<Option<Kept>>>,
    pub started_at: Option<Millis>,
    pub finished_at: Option<Millis>,
}

impl Game {
    pub fn new(quiz: Quiz) -> Game {
        let n = quiz.questions.len();
        Game {
            quiz,
            phase: Phase::Lobby,
            round: None,
            players: Vec::new(),
            seat_of: HashMap::new(),
            nickname_owner: HashMap::new(),
            token_owner: HashMap::new(),
            answers: vec![Vec::new(); n],
            started_at: None,
            finished_at: None,
        }
    }

    // ----- reading -------------------------------------------------------------------------

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn status(&self) -> Status {
        match self.phase {
            Phase::Lobby => Status::Lobby,
            Phase::Question => Status::Question,
            Phase::Paused => Status::Paused,
            Phase::Closed | Phase::Reveal => Status::Reveal,
            Phase::Finished => Status::Finished,
        }
    }

    /// The current round, except in lobby and finished (where `current_question` is null).
    pub fn round(&self) -> Option<&Round> {
        match self.phase {
            Phase::Lobby | Phase::Finished => None,
            _ => self.round.as_ref(),
        }
    }

    pub fn question_count(&self) -> usize {
        self.quiz.questions.len()
    }

    pub fn player(&self, id: Uuid) -> Option<&Player> {
        let seat = *self.seat_of.get(&id)?;
        self.players.get(seat)?.as_ref()
    }

    fn player_mut(&mut self, id: Uuid) -> Option<&mut Player> {
        let seat = *self.seat_of.get(&id)?;
        self.players.get_mut(seat)?.as_mut()
    }

    /// Everyone who joined, in the order they joined.
    pub fn players(&self) -> impl Iterator<Item = &Player> {
        self.players.iter().flatten()
    }

    pub fn active_players(&self) -> impl Iterator<Item = &Player> {
        self.players().filter(|p| p.status == PlayerStatus::Active)
    }

    /// Players in the room, connected or not (rule 19); left and kicked ones are gone.
    pub fn player_count(&self) -> usize {
        self.nickname_owner.len()
    }

    pub fn player_by_token(&self, token_hash: &str) -> Option<Uuid> {
        self.token_owner.get(token_hash).copied()
    }

    fn kept(&self, seat: Seat, question: usize) -> Option<&Kept> {
        self.answers.get(question)?.get(seat)?.as_ref()
    }

    fn kept_mut(&mut self, player: Uuid, question: usize) -> Option<&mut Option<Kept>> {
        let seat = *self.seat_of.get(&player)?;
        self.answers.get_mut(question)?.get_mut(seat)
    }

    /// The accepted answers to a question, with the seat each is kept at.
    fn kept_answers(&self, question: usize) -> impl Iterator<Item = (Seat, &Kept)> {
        self.answers
            .get(question)
            .into_iter()
            .flat_map(|list| list.iter().enumerate())
            .filter_map(|(seat, k)| Some((seat, k.as_ref()?)))
    }

    pub fn answer_of(&self, player: Uuid, question: usize) -> Option<Answer> {
        let seat = *self.seat_of.get(&player)?;
        Some(self.kept(seat, question)?.answer(player, question))
    }

    /// Accepted answers to a question that are already durable (acknowledged).
    pub fn durable_count(&self, question: usize) -> usize {
        self.kept_answers(question)
            .filter(|(_, k)| k.durable)
            .count()
    }

    pub fn pending_count(&self, question: usize) -> usize {
        self.kept_answers(question)
            .filter(|(_, k)| !k.durable)
            .count()
    }

    /// The ranked list of players still in the room.
    pub fn leaderboard(&self) -> Vec<Ranked> {
        rank(
            self.active_players()
                .map(|p| Standing {
                    player_id: p.id,
                    nickname: p.nickname.as_str().to_owned(),
                    score: p.score,
                })
                .collect(),
        )
    }

    /// A player's rank among the players still in the room: 1 + the number with a strictly
    /// higher score (rule 8), without sorting the whole roster.
    pub fn rank_of(&self, player: Uuid) -> Option<u32> {
        let score = self
            .player(player)
            .filter(|p| p.status == PlayerStatus::Active)?
            .score;
        Some(1 + self.active_players().filter(|p| p.score > score).count() as u32)
    }

    // ----- players -------------------------------------------------------------------------

    pub fn add_player(
        &mut self,
        id: Uuid,
        nickname: Nickname,
        token_hash: String,
    ) -> Result<(), JoinError> {
        if self.phase == Phase::Finished {
            return Err(JoinError::GameFinished);
        }
        if self.player_count() >= self.quiz.settings.max_players as usize {
            return Err(JoinError::RoomFull);
        }
        let key = nickname.key();
        if self.nickname_owner.contains_key(&key) {
            return Err(JoinError::NicknameTaken);
        }
        self.nickname_owner.insert(key, id);
        self.token_owner.insert(token_hash.clone(), id);
        self.seat(Player {
            id,
            nickname,
            token_hash,
            status: PlayerStatus::Active,
            connected: false,
            score: 0,
        });
        Ok(())
    }

    /// Gives the player the next seat (or back its own, for an id already seated).
    fn seat(&mut self, player: Player) {
        match self.seat_of.get(&player.id) {
            Some(&seat) => self.players[seat] = Some(player),
            None => {
                self.seat_of.insert(player.id, self.players.len());
                self.players.push(Some(player));
            }
        }
    }

    /// Undoes `add_player` for a join that could not be stored. Its seat stays empty.
    pub fn forget_player(&mut self, id: Uuid) {
        let Some(seat) = self.seat_of.remove(&id) else {
            return;
        };
        if let Some(p) = self.players.get_mut(seat).and_then(Option::take) {
            self.nickname_owner.remove(&p.nickname.key());
            self.token_owner.remove(&p.token_hash);
        }
        for list in &mut self.answers {
            if let Some(k) = list.get_mut(seat) {
                *k = None;
            }
        }
    }

    pub fn set_connected(&mut self, id: Uuid, connected: bool) {
        if let Some(p) = self.player_mut(id) {
            p.connected = connected && p.status == PlayerStatus::Active;
        }
    }

    /// A player leaves or is kicked: out of the roster, nickname free, token dead; accepted
    /// answers stay counted (rule 9). Returns false if the player was already gone.
    pub fn remove_player(&mut self, id: Uuid, how: PlayerStatus) -> bool {
        let Some(p) = self.player_mut(id) else {
            return false;
        };
        if p.status != PlayerStatus::Active {
            return false;
        }
        p.status = how;
        p.connected = false;
        let (key, token) = (p.nickname.key(), p.token_hash.clone());
        self.nickname_owner.remove(&key);
        self.token_owner.remove(&token);
        true
    }

    /// Rule 10: every connected player has an acknowledged answer to the open question, and
    /// someone is connected.
    pub fn all_connected_answered(&self) -> bool {
        let Some(round) = self.round.as_ref() else {
            return false;
        };
        if self.phase != Phase::Question {
            return false;
        }
        let mut connected = self
            .players
            .iter()
            .enumerate()
            .filter_map(|(seat, p)| Some((seat, p.as_ref()?)))
            .filter(|(_, p)| p.status == PlayerStatus::Active && p.connected)
            .peekable();
        connected.peek().is_some()
            && connected.all(|(seat, _)| {
                // Only stored answers count: a pending write may still fail, and its player may
                // then answer again.
                self.kept(seat, round.index).is_some_and(|k| k.durable)
            })
    }

    // ----- answers -------------------------------------------------------------------------

    /// Judges an answer read at `received_at`, in the order of rule 1. On success the answer is
    /// recorded as pending; it becomes durable with `confirm_answer`.
    pub fn submit_answer(
        &mut self,
        player: Option<Uuid>,
        question: i64,
        choice: i64,
        received_at: Millis,
    ) -> Result<Answer, Rejection> {
        let (seat, answer) = self.judge(player, question, choice, received_at)?;
        let kept = Kept::of(&answer).ok_or(Rejection::InvalidChoice)?;
        let roster = self.players.len();
        let list = &mut self.answers[answer.question];
        if list.len() < roster {
            list.resize(roster, None);
        }
        list[seat] = Some(kept);
        Ok(answer)
    }

    fn judge(
        &self,
        player: Option<Uuid>,
        question: i64,
        choice: i64,
        received_at: Millis,
    ) -> Result<(Seat, Answer), Rejection> {
        let (seat, player) = player
            .and_then(|id| Some((*self.seat_of.get(&id)?, self.player(id)?)))
            .filter(|(_, p)| p.status == PlayerStatus::Active)
            .ok_or(Rejection::NotJoined)?;
        let round = match (self.phase, self.round.as_ref()) {
            (Phase::Lobby | Phase::Finished, _) | (_, None) => return Err(Rejection::NotOpen),
            (_, Some(round)) => round,
        };
        if question != round.index as i64 {
            return Err(Rejection::WrongQuestion);
        }
        let in_time = match self.phase {
            Phase::Paused => return Err(Rejection::NotOpen),
            Phase::Question => received_at <= round.deadline_at,
            // Rule 3: an answer stamped by the deadline still counts while the room closes.
            Phase::Closed => {
                matches!(round.closed, Some((CloseReason::Deadline, _)))
                    && received_at <= round.deadline_at
            }
            _ => false,
        };
        if !in_time {
            return Err(Rejection::TooLate);
        }
        let spec = &self.quiz.questions[round.index];
        let choice = usize::try_from(choice)
            .ok()
            .filter(|c| *c < spec.choices.len())
            .ok_or(Rejection::InvalidChoice)?;
        if self.kept(seat, round.index).is_some() {
            return Err(Rejection::AlreadyAnswered);
        }
        let response_ms = (received_at - round.started_at - round.paused_ms).max(0);
        let correct = choice == spec.correct;
        let points = if correct {
            points_for_correct(spec.points, response_ms, spec.time_limit_ms)
        } else {
            0
        };
        let answer = Answer {
            id: Uuid::new_v4(),
            player_id: player.id,
            question: round.index,
            choice,
            received_at,
            response_ms,
            correct,
            points,
            durable: false,
        };
        Ok((seat, answer))
    }

    /// The answer's row is committed: it may be acknowledged.
    pub fn confirm_answer(&mut self, player: Uuid, question: usize, id: Uuid) -> bool {
        match self.kept_mut(player, question) {
            Some(Some(k)) if k.id == id => {
                k.durable = true;
                true
            }
            _ => false,
        }
    }

    /// The answer could not be stored: as if it never came, so the player may answer again.
    pub fn discard_answer(&mut self, player: Uuid, question: usize, id: Uuid) {
        if let Some(slot) = self.kept_mut(player, question)
            && slot.is_some_and(|k| k.id == id && !k.durable)
        {
            *slot = None;
        }
    }

    // ----- phases --------------------------------------------------------------------------

    fn refuse(&self, action: &'static str) -> InvalidState {
        InvalidState {
            action,
            status: self.status().as_str(),
        }
    }

    pub fn start(&mut self, now: Millis) -> Result<usize, InvalidState> {
        if self.phase != Phase::Lobby {
            return Err(self.refuse("start"));
        }
        self.started_at = Some(now);
        self.open(0, now);
        Ok(0)
    }

    fn open(&mut self, index: usize, now: Millis) {
        let limit = Millis::from(self.quiz.questions[index].time_limit_ms);
        self.round = Some(Round {
            index,
            started_at: now,
            deadline_at: now + limit,
            paused_at: None,
            paused_ms: 0,
            closed: None,
            revealed_at: None,
        });
        self.phase = Phase::Question;
    }

    /// Freezes the timer; returns the remaining time.
    pub fn pause(&mut self, now: Millis) -> Result<Millis, InvalidState> {
        match (self.phase, self.round.as_mut()) {
            (Phase::Question, Some(round)) => {
                round.paused_at = Some(now);
                self.phase = Phase::Paused;
                Ok(round.remaining_ms(now))
            }
            _ => Err(self.refuse("pause")),
        }
    }

    /// Restarts the timer with the time that was left; returns the new deadline. The deadline
    /// moves by exactly the pause's length (`started_at + time_limit + time paused`), so a pause
    /// taken after the deadline had passed (before the room closed the question) resumes into
    /// an immediate time-up, not into fresh time.
    pub fn resume(&mut self, now: Millis) -> Result<Millis, InvalidState> {
        match (self.phase, self.round.as_mut()) {
            (Phase::Paused, Some(round)) => {
                let paused_at = round.paused_at.take().unwrap_or(now);
                let pause = (now - paused_at).max(0);
                round.paused_ms += pause;
                round.deadline_at += pause;
                self.phase = Phase::Question;
                Ok(round.deadline_at)
            }
            _ => Err(self.refuse("resume")),
        }
    }

    /// Has the open question's deadline passed (strictly, rule 3)?
    pub fn deadline_passed(&self, now: Millis) -> bool {
        self.phase == Phase::Question && self.round.as_ref().is_some_and(|r| now > r.deadline_at)
    }

    /// Time-up: answers are locked. Allowed while the question is open or paused.
    pub fn close(&mut self, reason: CloseReason, now: Millis) -> Result<usize, InvalidState> {
        let action = match reason {
            CloseReason::Locked => "lock",
            _ => "close",
        };
        match (self.phase, self.round.as_mut()) {
            (Phase::Question | Phase::Paused, Some(round)) => {
                if let Some(paused_at) = round.paused_at.take() {
                    round.paused_ms += (now - paused_at).max(0);
                }
                round.closed = Some((reason, now));
                self.phase = Phase::Closed;
                Ok(round.index)
            }
            _ => Err(self.refuse(action)),
        }
    }

    /// Publishes the closed question: the correct choice, the distribution, and the points of
    /// its answers added to the scores. Every answer must be settled (durable or discarded).
    pub fn reveal(&mut self, now: Millis) -> Result<RevealOutcome, InvalidState> {
        let index = match (self.phase, self.round.as_mut()) {
            (Phase::Closed, Some(round)) => {
                round.revealed_at = Some(now);
                round.index
            }
            _ => return Err(self.refuse("reveal")),
        };
        self.phase = Phase::Reveal;
        self.add_points_of(index);
        Ok(self.outcome(index))
    }

    /// The public facts of a question: the correct choice, and the distribution and count of
    /// its stored answers. Callers show it only once the question is revealed.
    pub fn outcome(&self, question: usize) -> RevealOutcome {
        let spec = &self.quiz.questions[question];
        let mut distribution = vec![0u32; spec.choices.len()];
        let mut answered = 0;
        for (_, k) in self.kept_answers(question).filter(|(_, k)| k.durable) {
            if let Some(n) = distribution.get_mut(usize::from(k.choice)) {
                *n += 1;
            }
            answered += 1;
        }
        RevealOutcome {
            question,
            correct: spec.correct,
            distribution,
            answered,
        }
    }

    /// From reveal: the next question, or the end after the last one.
    pub fn next(&mut self, now: Millis) -> Result<Advance, InvalidState> {
        match (self.phase, self.round.as_ref()) {
            (Phase::Reveal, Some(round)) => {
                let next = round.index + 1;
                if next < self.question_count() {
                    self.open(next, now);
                    Ok(Advance::Opened(next))
                } else {
                    self.finish(now);
                    Ok(Advance::Finished)
                }
            }
            _ => Err(self.refuse("go to the next question")),
        }
    }

    /// Ends the game from the lobby or a reveal. An open question must be closed and revealed
    /// first (rule 5), which the room does before calling this.
    pub fn end(&mut self, now: Millis) -> Result<(), InvalidState> {
        match self.phase {
            Phase::Lobby | Phase::Reveal => {
                self.finish(now);
                Ok(())
            }
            _ => Err(self.refuse("end")),
        }
    }

    /// Adds the points of a question's stored answers to their players' scores.
    fn add_points_of(&mut self, question: usize) {
        let Some(list) = self.answers.get(question) else {
            return;
        };
        for (seat, k) in list.iter().enumerate() {
            if let (Some(k), Some(Some(p))) = (k, self.players.get_mut(seat))
                && k.durable
            {
                p.score += i64::from(k.points);
            }
        }
    }

    fn finish(&mut self, now: Millis) {
        self.phase = Phase::Finished;
        self.finished_at = Some(now);
    }

    // ----- recovery ------------------------------------------------------------------------

    /// Rebuilds a game from what was stored (crash recovery). Scores are recomputed from the
    /// answers of revealed questions, so they match what players last saw.
    pub fn restore(quiz: Quiz, state: RestoredState) -> Game {
        let mut game = Game::new(quiz);
        game.started_at = state.started_at;
        game.finished_at = state.finished_at;
        for p in state.players {
            if p.status == PlayerStatus::Active {
                game.nickname_owner.insert(p.nickname.key(), p.id);
                game.token_owner.insert(p.token_hash.clone(), p.id);
            }
            game.seat(Player {
                connected: false,
                score: 0,
                ..p
            });
        }
        let roster = game.players.len();
        for a in state.answers {
            // Answers are stored after their player (one ordered writer), so every stored
            // answer has a seat; one without could not be shown in any result either.
            let (Some(&seat), Some(kept)) = (game.seat_of.get(&a.player_id), Kept::of(&a)) else {
                continue;
            };
            if let Some(list) = game.answers.get_mut(a.question) {
                if list.len() < roster {
                    list.resize(roster, None);
                }
                list[seat] = Some(Kept {
                    durable: true,
                    ..kept
                });
            }
        }
        for q in state.revealed_questions {
            game.add_points_of(q);
        }
        game.phase = state.phase;
        game.round = state.round;
        game
    }
}

/// What recovery reads back from the store.
#[derive(Debug, Clone)]
pub struct RestoredState {
    pub phase: Phase,
    pub round: Option<Round>,
    pub players: Vec<Player>,
    pub answers: Vec<Answer>,
    pub revealed_questions: Vec<usize>,
    pub started_at: Option<Millis>,
    pub finished_at: Option<Millis>,
}

#[cfg(test)]
#[path = "game_tests.rs"]
mod tests;
