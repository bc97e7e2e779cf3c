//! Read-only projections of the room for the wire: the REST view, question and snapshot
//! (`welcome.room`) shapes, and the host's roster.

use super::*;

impl Room {
    // ----- views ---------------------------------------------------------------------------

    pub(super) fn view(&self) -> RoomView {
        RoomView {
            code: self.code.clone(),
            title: self.game.quiz.title.clone(),
            status: self.game.status().as_str(),
            question_count: self.game.question_count(),
            player_count: self.game.player_count(),
            current_question: self.game.round().map(|r| r.index),
        }
    }

    pub(super) fn question_view(&self) -> Option<QuestionView> {
        let round = self.game.round()?;
        let q = &self.game.quiz.questions[round.index];
        Some(QuestionView {
            question: round.index,
            question_count: self.game.question_count(),
            prompt: q.prompt.clone(),
            choices: q.choices.clone(),
            time_limit_ms: q.time_limit_ms,
            points: q.points,
            started_at: round.started_at,
            deadline_at: round.deadline_at,
        })
    }

    pub(super) fn snapshot(&self, now: Millis) -> RoomSnapshot {
        let current = self.game.round().and_then(|round| {
            let mut question = self.question_view()?;
            let remaining_ms = match self.game.phase() {
                Phase::Question | Phase::Paused => round.remaining_ms(now),
                _ => 0,
            };
            let paused = self.game.phase() == Phase::Paused;
            if paused {
                // Rule 13: while paused, the deadline shown is now + remaining.
                question.deadline_at = now + remaining_ms;
            }
            let revealed = self.game.phase() == Phase::Reveal;
            let (correct, distribution, answered) = if revealed {
                let o = self.game.outcome(round.index);
                (Some(o.correct), Some(o.distribution), Some(o.answered))
            } else {
                (None, None, None)
            };
            Some(CurrentView {
                question,
                remaining_ms,
                paused,
                correct,
                distribution,
                answered,
            })
        });
        RoomSnapshot {
            code: self.code.clone(),
            title: self.game.quiz.title.clone(),
            status: self.game.status().as_str(),
            question_count: self.game.question_count(),
            player_count: self.game.player_count(),
            current,
        }
    }

    pub(super) fn entries(ranked: &[Ranked], top: usize) -> Vec<LeaderboardEntry> {
        ranked
            .iter()
            .take(top)
            .map(|r| LeaderboardEntry {
                rank: r.rank,
                player_id: r.player_id,
                nickname: r.nickname.clone(),
                score: r.score,
            })
            .collect()
    }

    pub(super) fn track_status(&mut self) {
        let now = Some(self.game.status());
        if now != self.reported_status {
            METRICS.room_status(self.reported_status, now);
            self.reported_status = now;
        }
    }
}
