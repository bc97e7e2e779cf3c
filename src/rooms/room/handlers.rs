//! The room's mailbox: how it handles each message from sessions, REST handlers and the writer.

use actix::prelude::*;
use uuid::Uuid;

use super::*;

use crate::tokens;

impl Handler<Join> for Room {
    type Result = ResponseActFuture<Self, Result<Uuid, JoinFailure>>;

    fn handle(&mut self, msg: Join, _: &mut Context<Self>) -> Self::Result {
        self.last_activity = tokio::time::Instant::now();
        let player = Uuid::new_v4();
        let token = tokens::new_token();
        let token_hash = tokens::hash_token(&token);
        if let Err(e) = self
            .game
            .add_player(player, msg.nickname.clone(), token_hash.clone())
        {
            return Box::pin(actix::fut::ready(Err(JoinFailure::Rule(e))));
        }
        let stored = self.store.writer.player(
            self.id,
            player,
            msg.nickname.as_str().to_owned(),
            token_hash,
            now_ms(),
        );
        Box::pin(
            async move {
                stored
                    .await
                    .unwrap_or(Err(crate::store::StoreError::Unavailable))
            }
            .into_actor(self)
            .map(move |stored, act, ctx| {
                if let Err(e) = stored {
                    tracing::warn!(room_code = %act.code, error = %e, "a join could not be stored");
                    act.game.forget_player(player);
                    act.roster_changed(ctx);
                    return Err(match e {
                        crate::store::StoreError::NicknameTaken => {
                            JoinFailure::Rule(crate::domain::JoinError::NicknameTaken)
                        }
                        _ => JoinFailure::Unavailable,
                    });
                }
                act.attach_player(player, msg.conn, msg.tx, &token);
                let text = protocol::frame(&Event::PlayerJoined {
                    player_id: player,
                    nickname: msg.nickname.as_str(),
                    player_count: act.game.player_count(),
                });
                act.broadcast(&text, Audience::Hosts);
                act.roster_changed(ctx);
                Ok(player)
            }),
        )
    }
}

impl Handler<Resume> for Room {
    type Result = Result<Uuid, ResumeFailure>;

    fn handle(&mut self, msg: Resume, ctx: &mut Context<Self>) -> Self::Result {
        self.last_activity = tokio::time::Instant::now();
        if self.game.phase() == Phase::Finished {
            return Err(ResumeFailure::GameFinished);
        }
        let player = self
            .game
            .player_by_token(&tokens::hash_token(&msg.player_token))
            .ok_or(ResumeFailure::InvalidToken)?;
        self.attach_player(player, msg.conn, msg.tx, &msg.player_token);
        self.check_all_answered(ctx);
        Ok(player)
    }
}

impl Handler<HostJoin> for Room {
    type Result = Result<(), InvalidHostToken>;

    fn handle(&mut self, msg: HostJoin, _: &mut Context<Self>) -> Self::Result {
        self.last_activity = tokio::time::Instant::now();
        if !tokens::token_matches(&msg.host_token, &self.host_token_hash) {
            return Err(InvalidHostToken);
        }
        self.add_conn(msg.conn, msg.tx, None);
        let text = protocol::frame(&self.host_welcome(now_ms()));
        self.send_text(msg.conn, text);
        Ok(())
    }
}

impl Handler<SubmitAnswer> for Room {
    type Result = ();

    fn handle(&mut self, msg: SubmitAnswer, _: &mut Context<Self>) {
        self.last_activity = tokio::time::Instant::now();
        let player = self.conns.get(&msg.conn).and_then(|c| c.player);
        match self
            .game
            .submit_answer(player, msg.question, msg.choice, msg.received_at)
        {
            Err(reason) => {
                METRICS.rejected(reason);
                let text = protocol::frame(&Event::AnswerRejected {
                    question: msg.question,
                    reason: reason.code(),
                });
                self.send_text(msg.conn, text);
            }
            Ok(a) => {
                let settle = self.settle.clone();
                let row = NewAnswer {
                    id: a.id,
                    room_id: self.id,
                    question: a.question,
                    player_id: a.player_id,
                    choice: a.choice,
                    received_at: a.received_at,
                    response_ms: a.response_ms,
                    correct: a.correct,
                    points: a.points,
                };
                self.store.writer.answer(row, settle);
            }
        }
    }
}

impl Handler<Leave> for Room {
    type Result = ();

    fn handle(&mut self, msg: Leave, ctx: &mut Context<Self>) {
        match self.conns.get(&msg.conn).and_then(|c| c.player) {
            Some(player) => self.remove_player(player, PlayerStatus::Left, ctx),
            None => {
                self.send(msg.conn, Outbound::Close(1000, "left"));
                self.remove_conn(msg.conn);
            }
        }
    }
}

impl Handler<Disconnected> for Room {
    type Result = ();

    fn handle(&mut self, msg: Disconnected, ctx: &mut Context<Self>) {
        self.forget_conn(msg.conn);
        self.check_all_answered(ctx);
    }
}

impl Handler<Control> for Room {
    type Result = ResponseFuture<Result<RoomView, ControlError>>;

    fn handle(&mut self, msg: Control, ctx: &mut Context<Self>) -> Self::Result {
        if !tokens::token_matches(&msg.host_token, &self.host_token_hash) {
            return Box::pin(async { Err(ControlError::Unauthorized) });
        }
        self.last_activity = tokio::time::Instant::now();
        match self.control(msg.action, ctx) {
            Ok(result) => Box::pin(async move { result }),
            Err(later) => Box::pin(async move { later.await.unwrap_or(Err(ControlError::Gone)) }),
        }
    }
}

impl Handler<GetView> for Room {
    type Result = MessageResult<GetView>;

    fn handle(&mut self, _: GetView, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.view())
    }
}

impl Handler<GetLeaderboard> for Room {
    type Result = MessageResult<GetLeaderboard>;

    fn handle(&mut self, _: GetLeaderboard, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.game.leaderboard())
    }
}

impl Handler<VerifyHost> for Room {
    type Result = bool;

    fn handle(&mut self, msg: VerifyHost, _: &mut Context<Self>) -> bool {
        tokens::token_matches(&msg.host_token, &self.host_token_hash)
    }
}

impl Handler<Settled> for Room {
    type Result = ();

    fn handle(&mut self, msg: Settled, ctx: &mut Context<Self>) {
        self.answer_settled(msg.0, ctx);
    }
}

impl Handler<SocketDropped> for Room {
    type Result = ();

    fn handle(&mut self, msg: SocketDropped, _: &mut Context<Self>) {
        self.dropped(msg.conn, msg.error);
    }
}
