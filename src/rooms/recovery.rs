//! Bringing rooms back after a restart, crash included (PROTOCOL.md rule 20): every room that
//! was not finished is rebuilt from Postgres with its players (disconnected until they resume),
//! their answers and scores, and the open question's original deadline.

use super::RoomDeps;
use crate::domain::{
    Answer, CloseReason, Game, Nickname, Phase, Player, PlayerStatus, Question, Quiz,
    RestoredState, RoomSettings, Round,
};
use crate::store::{StoreError, StoredRoom, to_ms};

/// Restores every unfinished room; returns how many came back.
pub async fn recover(deps: &RoomDeps) -> Result<usize, StoreError> {
    let rooms = deps.store.unfinished_rooms().await?;
    let mut restored = 0;
    for row in rooms {
        let stored = deps.store.load_room(row).await?;
        let (id, code, hash) = (
            stored.room.id,
            stored.room.code.clone(),
            stored.room.host_token_hash.clone(),
        );
        match rebuild(&stored) {
            Ok(game) => {
                tracing::info!(room_code = %code, room_id = %id, status = game.status().as_str(), "room restored");
                let addr = deps.start(id, code.clone(), hash, game);
                deps.registry.insert(code, id, addr);
                restored += 1;
            }
            Err(e) => {
                tracing::error!(room_code = %code, room_id = %id, error = %e, "room could not be restored")
            }
        }
    }
    Ok(restored)
}

fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::Corrupt(what.into())
}

/// The game as it stood when the process stopped.
fn rebuild(s: &StoredRoom) -> Result<Game, StoreError> {
    let r = &s.room;
    let questions = s
        .questions
        .iter()
        .map(|q| Question {
            prompt: q.prompt.clone(),
            choices: q.choices.clone(),
            correct: q.correct as usize,
            time_limit_ms: q.time_limit_ms as u32,
            points: q.points as u32,
        })
        .collect::<Vec<_>>();
    if questions.is_empty() {
        return Err(corrupt("a room without questions"));
    }
    let quiz = Quiz {
        title: r.title.clone(),
        questions,
        settings: RoomSettings {
            max_players: r.max_players as u32,
            auto_advance_ms: r.auto_advance_ms.map(|v| v as u32),
            end_when_all_answered: r.end_when_all_answered,
        },
    };
    let players = s
        .players
        .iter()
        .map(|p| {
            Ok(Player {
                id: p.id,
                nickname: Nickname::restore(&p.nickname)
                    .map_err(|e| corrupt(format!("nickname: {e}")))?,
                token_hash: p.token_hash.clone(),
                status: PlayerStatus::parse(&p.status).ok_or_else(|| corrupt("player status"))?,
                connected: false,
                score: 0,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let answers = s
        .answers
        .iter()
        .map(|a| Answer {
            id: a.id,
            player_id: a.player_id,
            question: a.question as usize,
            choice: a.choice as usize,
            received_at: to_ms(a.received_at),
            response_ms: i64::from(a.response_ms),
            correct: a.correct,
            points: a.points as u32,
            durable: true,
        })
        .collect();
    let revealed_questions = s
        .questions
        .iter()
        .filter(|q| q.revealed_at.is_some())
        .map(|q| q.idx as usize)
        .collect();

    let (phase, round) = match (r.status.as_str(), r.current_question) {
        ("lobby", _) => (Phase::Lobby, None),
        (status, Some(idx)) => {
            let q = s
                .questions
                .get(idx as usize)
                .ok_or_else(|| corrupt("current question out of range"))?;
            let (Some(started_at), Some(deadline_at)) = (q.started_at, q.deadline_at) else {
                return Err(corrupt("an open question without its start or deadline"));
            };
            let closed = match (
                q.close_reason.as_deref().and_then(CloseReason::parse),
                q.closed_at,
            ) {
                (Some(reason), Some(at)) => Some((reason, to_ms(at))),
                _ => None,
            };
            let paused_at = if status == "paused" {
                r.paused_at.map(to_ms)
            } else {
                None
            };
            let round = Round {
                index: idx as usize,
                started_at: to_ms(started_at),
                deadline_at: to_ms(deadline_at),
                paused_at,
                paused_ms: q.paused_ms,
                closed,
                revealed_at: q.revealed_at.map(to_ms),
            };
            let phase = match (status, closed.is_some(), round.revealed_at.is_some()) {
                (_, _, true) => Phase::Reveal,
                (_, true, false) => Phase::Closed,
                ("paused", false, false) if paused_at.is_some() => Phase::Paused,
                _ => Phase::Question,
            };
            (phase, Some(round))
        }
        (_, None) => return Err(corrupt("a started room without a current question")),
    };
    Ok(Game::restore(
        quiz,
        RestoredState {
            phase,
            round,
            players,
            answers,
            revealed_questions,
            started_at: r.started_at.map(to_ms),
            finished_at: r.finished_at.map(to_ms),
        },
    ))
}
