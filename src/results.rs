//! The results report of a room, built from what Postgres holds: JSON for hosts and admins, and
//! the CSV export. Only revealed questions show their answers and statistics (rule 14).

use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::domain::{Millis, Standing, rank};
use crate::store::{StoredRoom, to_ms};

#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub room: RoomInfo,
    pub questions: Vec<QuestionResult>,
    pub players: Vec<PlayerResult>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoomInfo {
    pub room_id: Uuid,
    pub code: String,
    pub title: String,
    pub status: String,
    pub created_at: Millis,
    pub started_at: Option<Millis>,
    pub finished_at: Option<Millis>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QuestionResult {
    pub index: usize,
    pub prompt: String,
    pub choices: Vec<String>,
    pub correct: Option<usize>,
    pub time_limit_ms: u32,
    pub points: u32,
    pub revealed: bool,
    pub answered: usize,
    pub correct_count: Option<usize>,
    pub distribution: Option<Vec<u32>>,
    pub avg_response_ms: Option<i64>,
    pub started_at: Option<Millis>,
    pub deadline_at: Option<Millis>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AnswerResult {
    pub question: usize,
    pub choice: usize,
    pub correct: bool,
    pub points: u32,
    pub response_ms: i64,
    pub received_at: Millis,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlayerResult {
    pub player_id: Uuid,
    pub nickname: String,
    pub status: String,
    pub score: i64,
    pub rank: u32,
    pub correct_count: usize,
    pub answers: Vec<AnswerResult>,
}

/// Mean rounded half up, in integers (rule 16).
fn rounded_mean(values: &[i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as i64;
    let sum: i64 = values.iter().sum();
    Some((2 * sum + n).div_euclid(2 * n))
}

pub fn build(s: &StoredRoom) -> Results {
    let revealed: Vec<bool> = s
        .questions
        .iter()
        .map(|q| q.revealed_at.is_some())
        .collect();
    let is_revealed = |q: i32| revealed.get(q as usize).copied().unwrap_or(false);
    let questions = s
        .questions
        .iter()
        .map(|q| {
            let answers: Vec<_> = s.answers.iter().filter(|a| a.question == q.idx).collect();
            let open = q.revealed_at.is_some();
            let mut distribution = vec![0u32; q.choices.len()];
            for a in &answers {
                if let Some(slot) = distribution.get_mut(a.choice as usize) {
                    *slot += 1;
                }
            }
            let times: Vec<i64> = answers.iter().map(|a| i64::from(a.response_ms)).collect();
            QuestionResult {
                index: q.idx as usize,
                prompt: q.prompt.clone(),
                choices: q.choices.clone(),
                correct: open.then_some(q.correct as usize),
                time_limit_ms: q.time_limit_ms as u32,
                points: q.points as u32,
                revealed: open,
                answered: answers.len(),
                correct_count: open.then(|| answers.iter().filter(|a| a.correct).count()),
                distribution: open.then_some(distribution),
                avg_response_ms: if open { rounded_mean(&times) } else { None },
                started_at: q.started_at.map(to_ms),
                deadline_at: q.deadline_at.map(to_ms),
            }
        })
        .collect();

    let standings: Vec<Standing> = s
        .players
        .iter()
        .map(|p| Standing {
            player_id: p.id,
            nickname: p.nickname.clone(),
            score: s
                .answers
                .iter()
                .filter(|a| a.player_id == p.id && is_revealed(a.question))
                .map(|a| i64::from(a.points))
                .sum(),
        })
        .collect();
    let players = rank(standings)
        .into_iter()
        .map(|r| {
            let status = s
                .players
                .iter()
                .find(|p| p.id == r.player_id)
                .map_or("active", |p| p.status.as_str());
            let answers: Vec<AnswerResult> = s
                .answers
                .iter()
                .filter(|a| a.player_id == r.player_id && is_revealed(a.question))
                .map(|a| AnswerResult {
                    question: a.question as usize,
                    choice: a.choice as usize,
                    correct: a.correct,
                    points: a.points as u32,
                    response_ms: i64::from(a.response_ms),
                    received_at: to_ms(a.received_at),
                })
                .collect();
            PlayerResult {
                player_id: r.player_id,
                nickname: r.nickname,
                status: status.to_owned(),
                score: r.score,
                rank: r.rank,
                correct_count: answers.iter().filter(|a| a.correct).count(),
                answers,
            }
        })
        .collect();
    let r = &s.room;
    Results {
        room: RoomInfo {
            room_id: r.id,
            code: r.code.clone(),
            title: r.title.clone(),
            status: r.status.clone(),
            created_at: to_ms(r.created_at),
            started_at: r.started_at.map(to_ms),
            finished_at: r.finished_at.map(to_ms),
        },
        questions,
        players,
    }
}

pub const CSV_HEADER: &str =
    "room_code,player_id,nickname,question,choice,correct,points,response_ms,received_at";

/// One row per player and revealed question; unanswered ones have empty choice and times.
pub fn csv(results: &Results) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    let revealed: Vec<usize> = results
        .questions
        .iter()
        .filter(|q| q.revealed)
        .map(|q| q.index)
        .collect();
    for p in &results.players {
        for q in &revealed {
            let a = p.answers.iter().find(|a| a.question == *q);
            let fields = [
                csv_field(&results.room.code),
                p.player_id.to_string(),
                csv_field(&p.nickname),
                q.to_string(),
                a.map_or(String::new(), |a| a.choice.to_string()),
                a.is_some_and(|a| a.correct).to_string(),
                a.map_or(0, |a| a.points).to_string(),
                a.map_or(String::new(), |a| a.response_ms.to_string()),
                a.map_or(String::new(), |a| a.received_at.to_string()),
            ];
            out.push_str(&fields.join(","));
            out.push('\n');
        }
    }
    out
}

/// Quotes a field when it holds a comma, quote or line break. A leading `=`, `+`, `-` or `@`
/// is prefixed with `'` so that spreadsheets do not run a nickname as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The leaderboard of a room from the store: players still in it, ranked.
pub fn leaderboard_json(results: &Results) -> Value {
    let standings = results
        .players
        .iter()
        .filter(|p| p.status == "active")
        .map(|p| Standing {
            player_id: p.player_id,
            nickname: p.nickname.clone(),
            score: p.score,
        })
        .collect();
    let entries: Vec<Value> = rank(standings)
        .into_iter()
        .map(|r| json!({"rank": r.rank, "player_id": r.player_id, "nickname": r.nickname, "score": r.score}))
        .collect();
    json!({ "entries": entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_rounds_half_up() {
        assert_eq!(rounded_mean(&[]), None);
        assert_eq!(rounded_mean(&[1, 2]), Some(2));
        assert_eq!(rounded_mean(&[1, 1, 2]), Some(1));
        assert_eq!(rounded_mean(&[100, 201]), Some(151));
    }

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("amy"), "amy");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
    }
}
