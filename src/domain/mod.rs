//! The game's rules as plain data and functions: quiz validation, nicknames, the phase machine,
//! judging answers, scoring and ranking. No I/O, no clock: callers pass `now`.

pub mod game;
pub mod nickname;
pub mod quiz;
pub mod scoring;
pub mod text;

pub use game::{
    Advance, Answer, CloseReason, Game, InvalidState, JoinError, Millis, Phase, Player,
    PlayerStatus, Rejection, RestoredState, RevealOutcome, Round, Status,
};
pub use nickname::{Nickname, NicknameError};
pub use quiz::{Question, Quiz, QuizError, RoomSettings};
pub use scoring::{Ranked, Standing, points_for_correct, rank};
