//! Unit tests of the phase machine and answer judging, with an injected clock: every instant is
//! a plain `Millis` value, nothing sleeps and nothing reads the real clock.
//!
//! The rules under test are those of PROTOCOL.md ("Timing and answer rules" and the numbered
//! "Precise rules"); each test name says which rule it checks.

use super::*;
use crate::domain::quiz::{Question, RoomSettings};
use crate::domain::scoring::points_for_correct;

// ----- builders ----------------------------------------------------------------------------

/// An arbitrary instant, far from zero so that no subtraction hides behind a clamp.
const T0: Millis = 1_700_000_000_000;
/// The time limit of the default questions.
const LIMIT: Millis = 10_000;
/// The correct choice of the default questions (of four).
const RIGHT: i64 = 1;
const WRONG: i64 = 2;

fn question(choices: usize, correct: usize, time_limit_ms: u32, points: u32) -> Question {
    Question {
        prompt: format!("Pick {correct}"),
        choices: (0..choices).map(|i| format!("choice {i}")).collect(),
        correct,
        time_limit_ms,
        points,
    }
}

fn quiz_of(questions: Vec<Question>, max_players: u32) -> Quiz {
    Quiz {
        title: "Test quiz".into(),
        questions,
        settings: RoomSettings {
            max_players,
            auto_advance_ms: None,
            end_when_all_answered: true,
        },
    }
}

/// `n` questions of four choices, choice 1 correct, 10 s, 1000 points.
fn game(n: usize) -> Game {
    Game::new(quiz_of(
        (0..n)
            .map(|_| question(4, RIGHT as usize, LIMIT as u32, 1000))
            .collect(),
        100,
    ))
}

fn nick(name: &str) -> Nickname {
    Nickname::parse(name).expect("valid nickname")
}

fn token(name: &str) -> String {
    format!("token-hash-of-{name}")
}

/// Adds a connected player.
fn join(g: &mut Game, name: &str) -> Uuid {
    let id = Uuid::new_v4();
    g.add_player(id, nick(name), token(name)).expect("join");
    g.set_connected(id, true);
    id
}

/// A game of `n` questions with question 0 open since `T0`.
fn started(n: usize) -> Game {
    let mut g = game(n);
    assert_eq!(g.start(T0), Ok(0));
    g
}

fn round(g: &Game) -> &Round {
    g.round().expect("a current round")
}

fn current(g: &Game) -> i64 {
    round(g).index as i64
}

/// Submits an answer to the current question.
fn submit(g: &mut Game, player: Uuid, choice: i64, at: Millis) -> Result<Answer, Rejection> {
    let q = current(g);
    g.submit_answer(Some(player), q, choice, at)
}

/// Submits an answer to the current question and makes it durable (as after its row commits).
fn accept(g: &mut Game, player: Uuid, choice: i64, at: Millis) -> Answer {
    let a = submit(g, player, choice, at).expect("accepted");
    assert!(g.confirm_answer(player, a.question, a.id));
    g.answer_of(player, a.question).expect("recorded")
}

/// The accepted answers to a question, durable or not.
fn answers_to(g: &Game, question: usize) -> Vec<Answer> {
    g.players()
        .filter_map(|p| g.answer_of(p.id, question))
        .collect()
}

fn score(g: &Game, player: Uuid) -> i64 {
    g.player(player).expect("player").score
}

/// Rule 6, written out: `(points * (2T - r) + T) / (2T)` with `r` clamped to `0..=T`.
fn rule_6(points: i64, response_ms: i64, limit: i64) -> u32 {
    let r = response_ms.clamp(0, limit);
    u32::try_from((points * (2 * limit - r) + limit) / (2 * limit)).expect("fits")
}

/// The phases a game can be put in for the transition tables.
#[derive(Debug, Clone, Copy, PartialEq)]
enum At {
    Lobby,
    Question,
    Paused,
    Closed,
    Reveal,
    /// Reveal of the last question.
    LastReveal,
    Finished,
}

const ALL: [At; 7] = [
    At::Lobby,
    At::Question,
    At::Paused,
    At::Closed,
    At::Reveal,
    At::LastReveal,
    At::Finished,
];

/// A two-question game brought to `at`, with one connected player.
fn game_at(at: At) -> Game {
    let mut g = game(2);
    join(&mut g, "ann");
    let t = T0;
    match at {
        At::Lobby => {}
        At::Finished => g.end(t).expect("end"),
        _ => {
            g.start(t).expect("start");
            match at {
                At::Paused => {
                    g.pause(t + 1_000).expect("pause");
                }
                At::Closed => {
                    g.close(CloseReason::Locked, t + 1_000).expect("close");
                }
                At::Reveal => {
                    g.close(CloseReason::Locked, t + 1_000).expect("close");
                    g.reveal(t + 1_000).expect("reveal");
                }
                At::LastReveal => {
                    g.close(CloseReason::Locked, t + 1_000).expect("close");
                    g.reveal(t + 1_000).expect("reveal");
                    g.next(t + 2_000).expect("next");
                    g.close(CloseReason::Locked, t + 3_000).expect("close");
                    g.reveal(t + 3_000).expect("reveal");
                }
                _ => {}
            }
        }
    }
    g
}

fn refused(action: &'static str, status: &'static str) -> InvalidState {
    InvalidState { action, status }
}

// ----- phase transitions -------------------------------------------------------------------

#[test]
fn a_new_game_is_in_the_lobby_without_a_current_question() {
    let g = game(2);
    assert_eq!(g.phase(), Phase::Lobby);
    assert_eq!(g.status(), Status::Lobby);
    assert!(
        g.round().is_none(),
        "rule 13: current_question is null in the lobby"
    );
    assert_eq!(g.started_at, None);
    assert_eq!(g.finished_at, None);
    assert_eq!(g.question_count(), 2);
}

#[test]
fn start_opens_question_0_with_its_server_side_deadline() {
    let mut g = game(2);
    assert_eq!(g.start(T0), Ok(0));
    assert_eq!(g.phase(), Phase::Question);
    assert_eq!(g.status(), Status::Question);
    assert_eq!(g.started_at, Some(T0));
    let r = round(&g);
    assert_eq!(r.index, 0);
    assert_eq!(r.started_at, T0);
    assert_eq!(r.deadline_at, T0 + LIMIT);
    assert_eq!(
        (r.paused_at, r.paused_ms, r.closed, r.revealed_at),
        (None, 0, None, None)
    );
}

#[test]
fn start_uses_the_time_limit_of_question_0() {
    let mut g = Game::new(quiz_of(
        vec![question(2, 0, 750, 10), question(2, 0, 600_000, 10)],
        5,
    ));
    g.start(T0).expect("start");
    assert_eq!(round(&g).deadline_at, T0 + 750);
}

#[test]
fn pause_moves_question_to_paused_and_resume_back_to_question() {
    let mut g = started(1);
    assert_eq!(g.pause(T0 + 2_000), Ok(LIMIT - 2_000));
    assert_eq!((g.phase(), g.status()), (Phase::Paused, Status::Paused));
    assert_eq!(round(&g).paused_at, Some(T0 + 2_000));
    assert_eq!(g.resume(T0 + 5_000), Ok(T0 + LIMIT + 3_000));
    assert_eq!((g.phase(), g.status()), (Phase::Question, Status::Question));
    assert_eq!(round(&g).paused_at, None);
}

#[test]
fn close_from_question_for_every_reason_locks_answers_and_shows_as_reveal() {
    for reason in [
        CloseReason::Deadline,
        CloseReason::Locked,
        CloseReason::AllAnswered,
    ] {
        let mut g = started(2);
        assert_eq!(g.close(reason, T0 + 4_000), Ok(0), "{reason:?}");
        assert_eq!(g.phase(), Phase::Closed);
        assert_eq!(
            g.status(),
            Status::Reveal,
            "the wire shows a closed question as reveal"
        );
        assert_eq!(round(&g).closed, Some((reason, T0 + 4_000)));
        assert_eq!(round(&g).revealed_at, None);
    }
}

#[test]
fn close_from_paused_for_every_reason_ends_the_pause() {
    for reason in [
        CloseReason::Deadline,
        CloseReason::Locked,
        CloseReason::AllAnswered,
    ] {
        let mut g = started(2);
        g.pause(T0 + 1_000).expect("pause");
        assert_eq!(g.close(reason, T0 + 4_000), Ok(0), "{reason:?}");
        assert_eq!(g.phase(), Phase::Closed);
        let r = round(&g);
        assert_eq!(r.paused_at, None, "a closed question is not paused");
        assert_eq!(
            r.paused_ms, 3_000,
            "the pause up to the close counts as paused time"
        );
        assert_eq!(r.closed, Some((reason, T0 + 4_000)));
    }
}

#[test]
fn reveal_moves_closed_to_reveal_and_publishes_the_correct_choice() {
    let mut g = started(2);
    g.close(CloseReason::Locked, T0 + 1_000).expect("close");
    let outcome = g.reveal(T0 + 1_200).expect("reveal");
    assert_eq!(
        outcome,
        RevealOutcome {
            question: 0,
            correct: RIGHT as usize,
            distribution: vec![0; 4],
            answered: 0
        }
    );
    assert_eq!((g.phase(), g.status()), (Phase::Reveal, Status::Reveal));
    assert_eq!(round(&g).revealed_at, Some(T0 + 1_200));
}

#[test]
fn next_from_reveal_opens_the_following_question_with_a_fresh_timer() {
    let mut g = Game::new(quiz_of(
        vec![question(4, 1, 10_000, 1000), question(3, 2, 30_000, 500)],
        5,
    ));
    g.start(T0).expect("start");
    g.pause(T0 + 1_000).expect("pause");
    g.resume(T0 + 2_000).expect("resume");
    g.close(CloseReason::Deadline, T0 + 11_001).expect("close");
    g.reveal(T0 + 11_050).expect("reveal");
    let t = T0 + 20_000;
    assert_eq!(g.next(t), Ok(Advance::Opened(1)));
    assert_eq!(g.phase(), Phase::Question);
    assert_eq!(
        round(&g),
        &Round {
            index: 1,
            started_at: t,
            deadline_at: t + 30_000,
            paused_at: None,
            paused_ms: 0,
            closed: None,
            revealed_at: None,
        }
    );
    assert_eq!(g.started_at, Some(T0), "the game's start does not move");
}

#[test]
fn next_after_the_last_reveal_finishes_the_game() {
    let mut g = game_at(At::LastReveal);
    assert_eq!(g.next(T0 + 9_000), Ok(Advance::Finished));
    assert_eq!((g.phase(), g.status()), (Phase::Finished, Status::Finished));
    assert_eq!(g.finished_at, Some(T0 + 9_000));
    assert!(
        g.round().is_none(),
        "rule 13: current_question is null when finished"
    );
}

#[test]
fn a_one_question_game_finishes_on_the_first_next() {
    let mut g = started(1);
    g.close(CloseReason::Locked, T0 + 1).expect("close");
    g.reveal(T0 + 2).expect("reveal");
    assert_eq!(g.next(T0 + 3), Ok(Advance::Finished));
    assert_eq!(g.phase(), Phase::Finished);
}

#[test]
fn end_from_the_lobby_finishes_without_a_question() {
    let mut g = game(2);
    assert_eq!(g.end(T0), Ok(()));
    assert_eq!(g.phase(), Phase::Finished);
    assert_eq!(g.finished_at, Some(T0));
    assert_eq!(g.started_at, None);
    assert!(g.round().is_none());
}

#[test]
fn end_from_reveal_finishes_before_the_last_question() {
    let mut g = game_at(At::Reveal);
    assert_eq!(g.end(T0 + 5_000), Ok(()));
    assert_eq!(g.phase(), Phase::Finished);
    assert_eq!(g.finished_at, Some(T0 + 5_000));
    assert!(g.round().is_none());
}

#[test]
fn rule_5_end_during_question_or_paused_works_after_lock_and_reveal() {
    for paused in [false, true] {
        let mut g = started(3);
        if paused {
            g.pause(T0 + 100).expect("pause");
        }
        g.close(CloseReason::Locked, T0 + 200).expect("lock");
        g.reveal(T0 + 200).expect("reveal");
        assert_eq!(g.end(T0 + 300), Ok(()));
        assert_eq!(g.phase(), Phase::Finished);
    }
}

// ----- refused transitions -----------------------------------------------------------------

#[test]
fn start_twice_is_invalid_state() {
    let mut g = started(2);
    assert_eq!(g.start(T0 + 1), Err(refused("start", "question")));
    assert_eq!(
        round(&g).started_at,
        T0,
        "the refused start changed nothing"
    );
    assert_eq!(g.started_at, Some(T0));
}

#[test]
fn pause_in_the_lobby_is_invalid_state() {
    let mut g = game(1);
    assert_eq!(g.pause(T0), Err(refused("pause", "lobby")));
    assert_eq!(g.phase(), Phase::Lobby);
}

#[test]
fn pause_while_paused_is_invalid_state_and_keeps_the_first_pause() {
    let mut g = started(1);
    g.pause(T0 + 1_000).expect("pause");
    assert_eq!(g.pause(T0 + 2_000), Err(refused("pause", "paused")));
    assert_eq!(round(&g).paused_at, Some(T0 + 1_000));
}

#[test]
fn resume_while_not_paused_is_invalid_state() {
    for (at, status) in [
        (At::Lobby, "lobby"),
        (At::Question, "question"),
        (At::Closed, "reveal"),
    ] {
        let mut g = game_at(at);
        assert_eq!(
            g.resume(T0 + 7_000),
            Err(refused("resume", status)),
            "{at:?}"
        );
    }
}

#[test]
fn next_while_the_question_is_open_or_closed_is_invalid_state() {
    for (at, status) in [
        (At::Question, "question"),
        (At::Paused, "paused"),
        (At::Closed, "reveal"),
    ] {
        let mut g = game_at(at);
        assert_eq!(
            g.next(T0 + 7_000),
            Err(refused("go to the next question", status)),
            "{at:?}"
        );
        assert_eq!(current(&g), 0);
    }
}

#[test]
fn end_when_finished_is_invalid_state() {
    for at in [At::Finished, At::LastReveal] {
        let mut g = game_at(at);
        if at == At::LastReveal {
            g.next(T0 + 8_000).expect("finish");
        }
        let finished_at = g.finished_at;
        assert_eq!(g.end(T0 + 9_000), Err(refused("end", "finished")));
        assert_eq!(g.finished_at, finished_at, "the first end time stays");
    }
}

#[test]
fn close_in_reveal_is_invalid_state() {
    let mut g = game_at(At::Reveal);
    assert_eq!(
        g.close(CloseReason::Deadline, T0 + 9_000),
        Err(refused("close", "reveal"))
    );
    assert_eq!(
        g.close(CloseReason::Locked, T0 + 9_000),
        Err(refused("lock", "reveal"))
    );
    assert_eq!(round(&g).closed, Some((CloseReason::Locked, T0 + 1_000)));
}

#[test]
fn close_twice_keeps_the_first_reason() {
    let mut g = started(1);
    g.close(CloseReason::AllAnswered, T0 + 500).expect("close");
    assert_eq!(
        g.close(CloseReason::Deadline, T0 + LIMIT + 1),
        Err(refused("close", "reveal"))
    );
    assert_eq!(round(&g).closed, Some((CloseReason::AllAnswered, T0 + 500)));
}

#[test]
fn reveal_twice_does_not_add_the_points_again() {
    let mut g = started(1);
    let ann = join(&mut g, "ann");
    accept(&mut g, ann, RIGHT, T0);
    g.close(CloseReason::Locked, T0 + 1).expect("close");
    g.reveal(T0 + 2).expect("reveal");
    assert_eq!(g.reveal(T0 + 3), Err(refused("reveal", "reveal")));
    assert_eq!(score(&g, ann), 1000);
}

/// Every action in every phase: allowed where PROTOCOL.md's host table says, refused with
/// `invalid_state` (and no change at all) everywhere else.
#[test]
fn every_action_in_every_phase_is_allowed_or_refused_as_the_host_table_says() {
    type Act = fn(&mut Game, Millis) -> Result<(), InvalidState>;
    let actions: [(&str, Act, &[At]); 8] = [
        ("start", |g, t| g.start(t).map(drop), &[At::Lobby]),
        ("pause", |g, t| g.pause(t).map(drop), &[At::Question]),
        ("resume", |g, t| g.resume(t).map(drop), &[At::Paused]),
        (
            "lock",
            |g, t| g.close(CloseReason::Locked, t).map(drop),
            &[At::Question, At::Paused],
        ),
        (
            "close",
            |g, t| g.close(CloseReason::Deadline, t).map(drop),
            &[At::Question, At::Paused],
        ),
        ("reveal", |g, t| g.reveal(t).map(drop), &[At::Closed]),
        (
            "go to the next question",
            |g, t| g.next(t).map(drop),
            &[At::Reveal, At::LastReveal],
        ),
        (
            "end",
            |g, t| g.end(t),
            &[At::Lobby, At::Reveal, At::LastReveal],
        ),
    ];
    for (name, act, allowed) in actions {
        for at in ALL {
            let mut g = game_at(at);
            let (phase, status, round_before) = (g.phase(), g.status(), g.round().cloned());
            let got = act(&mut g, T0 + 50_000);
            if allowed.contains(&at) {
                assert_eq!(got, Ok(()), "{name} in {at:?}");
            } else {
                assert_eq!(got, Err(refused(name, status.as_str())), "{name} in {at:?}");
                assert_eq!(
                    g.phase(),
                    phase,
                    "a refused {name} in {at:?} changed the phase"
                );
                assert_eq!(
                    g.round().cloned(),
                    round_before,
                    "a refused {name} in {at:?} changed the round"
                );
            }
        }
    }
}

#[test]
fn invalid_state_message_names_the_action_and_the_status() {
    let mut g = game(1);
    let e = g.pause(T0).expect_err("refused");
    assert_eq!(e.to_string(), "cannot pause while the room is lobby");
}

// ----- deadlines and the frozen timer ------------------------------------------------------

#[test]
fn deadline_is_started_at_plus_time_limit() {
    let g = started(1);
    let r = round(&g);
    assert_eq!(r.deadline_at, r.started_at + LIMIT);
}

#[test]
fn remaining_ms_counts_down_and_never_goes_below_zero() {
    let g = started(1);
    let r = round(&g);
    assert_eq!(r.remaining_ms(T0), LIMIT);
    assert_eq!(r.remaining_ms(T0 + 2_500), LIMIT - 2_500);
    assert_eq!(r.remaining_ms(T0 + LIMIT), 0);
    assert_eq!(r.remaining_ms(T0 + LIMIT + 5_000), 0);
}

#[test]
fn pause_freezes_remaining_ms() {
    let mut g = started(1);
    assert_eq!(
        g.pause(T0 + 3_000),
        Ok(7_000),
        "pause returns the time left"
    );
    for later in [T0 + 3_000, T0 + 3_001, T0 + 60_000, T0 + 10_000_000] {
        assert_eq!(round(&g).remaining_ms(later), 7_000, "frozen at {later}");
    }
}

#[test]
fn resume_moves_the_deadline_by_the_length_of_the_pause() {
    let mut g = started(1);
    g.pause(T0 + 3_000).expect("pause");
    assert_eq!(g.resume(T0 + 7_000), Ok(T0 + LIMIT + 4_000));
    let r = round(&g);
    assert_eq!(r.deadline_at, T0 + LIMIT + 4_000);
    assert_eq!(r.paused_ms, 4_000);
    assert_eq!(
        r.remaining_ms(T0 + 7_000),
        7_000,
        "resume restarts with the time that was left"
    );
}

#[test]
fn a_zero_length_pause_changes_nothing() {
    let mut g = started(1);
    g.pause(T0 + 3_000).expect("pause");
    assert_eq!(g.resume(T0 + 3_000), Ok(T0 + LIMIT));
    assert_eq!(round(&g).paused_ms, 0);
}

#[test]
fn several_pauses_add_up_in_the_deadline() {
    let mut g = started(1);
    let pauses = [
        (1_000, 2_000),
        (5_000, 8_000),
        (8_500, 8_501),
        (9_000, 29_000),
    ];
    let mut total = 0;
    for (from, to) in pauses {
        g.pause(T0 + from + total).expect("pause");
        g.resume(T0 + to + total).expect("resume");
        total += to - from;
        let r = round(&g);
        assert_eq!(r.paused_ms, total);
        assert_eq!(
            r.deadline_at,
            r.started_at + LIMIT + r.paused_ms,
            "deadline_at = started_at + limit + paused"
        );
    }
    assert_eq!(total, 1_000 + 3_000 + 1 + 20_000);
    assert_eq!(round(&g).deadline_at, T0 + LIMIT + total);
}

#[test]
fn deadline_passed_is_strict() {
    let g = started(1);
    assert!(!g.deadline_passed(T0));
    assert!(!g.deadline_passed(T0 + LIMIT - 1));
    assert!(
        !g.deadline_passed(T0 + LIMIT),
        "rule 3: time_up only once the clock has passed deadline_at"
    );
    assert!(g.deadline_passed(T0 + LIMIT + 1));
}

#[test]
fn deadline_passed_follows_the_moved_deadline_after_resume() {
    let mut g = started(1);
    g.pause(T0 + 1_000).expect("pause");
    g.resume(T0 + 6_000).expect("resume");
    assert!(!g.deadline_passed(T0 + LIMIT + 1));
    assert!(!g.deadline_passed(T0 + LIMIT + 5_000));
    assert!(g.deadline_passed(T0 + LIMIT + 5_001));
}

#[test]
fn deadline_never_passes_while_paused_or_outside_a_question() {
    let far = T0 + 1_000_000;
    for at in [At::Lobby, At::Paused, At::Closed, At::Reveal, At::Finished] {
        assert!(!game_at(at).deadline_passed(far), "{at:?}");
    }
}

/// `deadline_at = started_at + time_limit_ms + paused time` must hold even if the host pauses
/// after the deadline passed but before the room got to close the question: the question must
/// not come back to life on resume.
#[test]
fn deadline_formula_holds_when_paused_after_the_deadline_passed() {
    let mut g = started(1);
    let ann = join(&mut g, "ann");
    let pause_at = T0 + LIMIT + 500; // the time-up is late: the room has not closed yet
    g.pause(pause_at).expect("pause");
    let resume_at = pause_at + 2_000;
    g.resume(resume_at).expect("resume");
    let r = round(&g).clone();
    assert_eq!(r.paused_ms, 2_000);
    assert_eq!(
        r.deadline_at,
        r.started_at + LIMIT + r.paused_ms,
        "deadline_at = started_at + limit + paused"
    );
    assert!(
        g.deadline_passed(resume_at),
        "the deadline had passed before the pause"
    );
    assert_eq!(
        submit(&mut g, ann, RIGHT, resume_at),
        Err(Rejection::TooLate)
    );
}

// ----- the order of rejection reasons (rule 1) ---------------------------------------------

#[test]
fn rule_1_not_joined_without_a_player_beats_everything() {
    // In the lobby, wrong question, bad choice, long after any deadline.
    let mut g = game(2);
    assert_eq!(
        g.submit_answer(None, 7, 99, T0 + 1_000_000),
        Err(Rejection::NotJoined)
    );
    let mut g = started(2);
    assert_eq!(
        g.submit_answer(None, 0, RIGHT, T0),
        Err(Rejection::NotJoined)
    );
    assert_eq!(
        g.submit_answer(Some(Uuid::new_v4()), 0, RIGHT, T0),
        Err(Rejection::NotJoined),
        "unknown player"
    );
    let mut g = game_at(At::Finished);
    assert_eq!(
        g.submit_answer(None, 0, RIGHT, T0),
        Err(Rejection::NotJoined)
    );
}

#[test]
fn rule_1_kicked_and_left_players_are_not_joined() {
    for how in [PlayerStatus::Kicked, PlayerStatus::Left] {
        let mut g = started(1);
        let ann = join(&mut g, "ann");
        assert!(g.remove_player(ann, how));
        assert_eq!(
            submit(&mut g, ann, RIGHT, T0 + 1),
            Err(Rejection::NotJoined),
            "{how:?}"
        );
        assert_eq!(
            g.submit_answer(Some(ann), 5, -1, T0 + LIMIT * 9),
            Err(Rejection::NotJoined)
        );
    }
}

#[test]
fn rule_1_not_open_in_the_lobby_beats_wrong_question_and_invalid_choice() {
    let mut g = game(2);
    let ann = join(&mut g, "ann");
    assert_eq!(
        g.submit_answer(Some(ann), 0, RIGHT, T0),
        Err(Rejection::NotOpen)
    );
    assert_eq!(
        g.submit_answer(Some(ann), 9, -4, T0),
        Err(Rejection::NotOpen)
    );
}

#[test]
fn rule_1_not_open_when_finished_beats_wrong_question_and_too_late() {
    let mut g = game_at(At::LastReveal);
    let ann = join(&mut g, "bob");
    g.next(T0 + 9_000).expect("finish");
    assert_eq!(
        g.submit_answer(Some(ann), 1, RIGHT, T0 + 9_001),
        Err(Rejection::NotOpen)
    );
    assert_eq!(
        g.submit_answer(Some(ann), 42, 42, T0 + 99_999),
        Err(Rejection::NotOpen)
    );
}

#[test]
fn rule_1_wrong_question_beats_too_late_invalid_choice_and_already_answered() {
    let mut g = started(2);
    let ann = join(&mut g, "ann");
    accept(&mut g, ann, RIGHT, T0 + 1);
    for q in [1, -1, i64::MAX, i64::MIN] {
        assert_eq!(
            g.submit_answer(Some(ann), q, 99, T0 + LIMIT + 1),
            Err(Rejection::WrongQuestion),
            "q={q}"
        );
    }
}

#[test]
fn rule_1_wrong_question_beats_paused_not_open() {
    let mut g = started(2);
    let ann = join(&mut g, "ann");
    g.pause(T0 + 10).expect("pause");
    assert_eq!(
        g.submit_answer(Some(ann), 1, RIGHT, T0 + 20),
        Err(Rejection::WrongQuestion)
    );
    assert_eq!(
        g.submit_answer(Some(ann), 0, RIGHT, T0 + 20),
        Err(Rejection::NotOpen)
    );
}

#[test]
fn rule_1_wrong_question_in_closed_and_reveal_beats_too_late() {
    for at in [At::Closed, At::Reveal] {
        let mut g = game_at(at);
        let bob = join(&mut g, "bob");
        assert_eq!(
            g.submit_answer(Some(bob), 1, RIGHT, T0 + 1),
            Err(Rejection::WrongQuestion),
            "{at:?}"
        );
        assert_eq!(
            g.submit_answer(Some(bob), 0, RIGHT, T0 + 1),
            Err(Rejection::TooLate),
            "{at:?}"
        );
    }
}

#[test]
fn rule_1_paused_not_open_beats_too_late_invalid_choice_and_already_answered() {
    let mut g = started(1);
    let ann = join(&mut g, "ann");
    accept(&mut g, ann, RIGHT, T0 + 1);
    g.pause(T0 + 100).expect("pause");
    assert_eq!(
        submit(&mut g, ann, 99, T0 + LIMIT * 5),
        Err(Rejection::NotOpen)
    );
    let bob = join(&mut g, "bob");
    assert_eq!(
        submit(&mut g, bob, RIGHT, T0 + 200),
        Err(Rejection::NotOpen),
        "no answers while paused"
    );
}

#[test]
fn rule_1_too_late_after_the_deadline_beats_invalid_choice_and_already_answered() {
    let mut g = started(1);
    let ann = join(&mut g, "ann");
    accept(&mut g, ann, RIGHT, T0 + 1);
    assert_eq!(
        submit(&mut g, ann, 99, T0 + LIMIT + 1),
        Err(Rejection::TooLate)
    );
    assert_eq!(
        submit(&mut g, ann, RIGHT, T0 + LIMIT + 1),
        Err(Rejection::TooLate)
    );
}

#[test]
fn rule_1_too_late_when_locked_or_closed_by_all_answered_even_before_the_deadline() {
    for reason in [CloseReason::Locked, CloseReason::AllAnswered] {
        let mut g = started(1);
        let ann = join(&mut g, "ann");
        let bob = join(&mut g, "bob");
        accept(&mut g, bob, RIGHT, T0 + 1);
        g.close(reason, T0 + 1_000).expect("close");
        assert_eq!(
            submit(&mut g, ann, RIGHT, T0 + 999),
            Err(Rejection::TooLate),
            "{reason:?}"
        );
        assert_eq!(
            submit(&mut g, ann, 99, T0 + 999),
            Err(Rejection::TooLate),
            "{reason:?} vs invalid_choice"
        );
        assert_eq!(
            submit(&mut g, bob, RIGHT, T0 + 999),
            Err(Rejection::TooLate),
            "{reason:?} vs already_answered"
        );
    }
}

#[test]
fn rule_1_too_late_when_revealed_even_for_a_deadline_close() {
    let mut g = started(2);
    let ann = join(&mut g, "ann");
    g.close(CloseReason::Deadline, T0 + LIMIT + 1)
        .expect("close");
    g.reveal(T0 + LIMIT + 2).expect("reveal");
    assert_eq!(
        submit(&mut g, ann, RIGHT, T0 + LIMIT),
        Err(Rejection::TooLate)
    );
    assert_eq!(submit(&mut g, ann, 99, T0), Err(Rejection::TooLate));
}

#[test]
fn rule_1_invalid_choice_beats_already_answered() {
    let mut g = started(1);
    let ann = join(&mut g, "ann");
    accept(&mut g, ann, RIGHT, T0 + 1);
    for bad in [-1, 4, 5, i64::MAX, i64::MIN] {
        assert_eq!(
            submit(&mut g, ann, bad, T0 + 2),
            Err(Rejection::InvalidChoice),
            "choice {bad}"
        );
    }
    assert_eq!(
        submit(&mut g, ann, 3, T0 + 2),
        Err(Rejection::AlreadyAnswered)
    );
}

#[test]
fn rule_1_invalid_choice_follows_the_number_of_choices_of_the_open_question() {
    let mut g = Game::new(quiz_of(
        vec![question(2, 0, 1_000, 10), question(6, 5, 1_000, 10)],
        5,
    ));
    let ann = join(&mut g, "ann");
    g.start(T0).expect("start");
    assert_eq!(submit(&mut g, ann, 2, T0), Err(Rejection::InvalidChoice));
    g.close(CloseReason::Locked, T0 + 1).expect("close");
    g.reveal(T0 + 1).expect("reveal");
    g.next(T0 + 2).expect("next");
    assert_eq!(
        submit(&mut g, ann, 6, T0 + 2),
        Err(Rejection::InvalidChoice)
    );
    assert!(submit(&mut g, ann, 5, T0 + 2).is_ok());
}

#[test]
fn rule_1_already_answered_even_with_another_choice_and_while_pending() {
    let mut g = started(1);
    let ann = join(&mut g, "ann");
    let first = submit(&mut g, ann, WRONG, T0 + 1).expect("accepted");
    assert_eq!(
        submit(&mut g, ann, RIGHT, T0 + 2),
        Err(Rejection::AlreadyAnswered),
        "a pending answer counts"
    );
    assert!(g.confirm_answer(ann, 0, first.id));
    assert_eq!(
        submit(&mut g, ann, RIGHT, T0 + 3),
        Err(Rejection::AlreadyAnswered)
    );
    assert_eq!(
        g.answer_of(ann, 0).map(|a| a.choice),
        Some(WRONG as usize),
        "the first answer stays"
    );
}

#[test]
fn an_answer_stamped_exactly_at_the_deadline_is_accepted() {
    let mut g = started(1);
    let ann = join(&mut g, "ann");
    let bob = join(&mut g, "bob");
    assert!(submit(&mut g, ann, RIGHT, T0 + LIMIT).is_ok());
    assert_eq!(
        submit(&mut g, bob, RIGHT, T0 + LIMIT + 1),
        Err(Rejection::TooLate)
    );
}

#[test]
fn an_answer_stamped_exactly_at_a_moved_deadline_is_accepted() {
    let mut g = started(1);
    let ann = join(&mut g, "ann");
    let bob = join(&mut g, "bob");
    g.pause(T0 + 1_000).expect("pause");
    g.resume(T0 + 4_000).expect("resume");
    assert!(submit(&mut g, ann, RIGHT, T0 + LIMIT + 3_000).is_ok());
    assert_eq!(
        submit(&mut g, bob, RIGHT, T0 + LIMIT + 3_001),
        Err(Rejection::TooLate)
    );
}

#[test]
fn rule_3_an_answer_stamped_by_the_deadline_counts_while_closing_on_the_deadline() {
    let mut g = started(1);
    let ann = join(&mut g, "ann");
    let bob = join(&mut g, "bob");
    let cat = join(&mut g, "cat");
    g.close(CloseReason::Deadline, T0 + LIMIT + 1)
        .expect("time up");
    let a = submit(&mut g, ann, RIGHT, T0 + LIMIT).expect("stamped at the deadline");
    assert_eq!(a.response_ms, LIMIT);
    assert!(submit(&mut g, bob, WRONG, T0 + 5).is_ok());
    assert_eq!(
        submit(&mut g, cat, RIGHT, T0 + LIMIT + 1),
        Err(Rejection::TooLate)
    );
}

#[test]
fn rule_3_closed_by_deadline_still_checks_invalid_choice_and_already_answered() {
    let mut g = started(1);
    let ann = join(&mut g, "ann");
    accept(&mut g, ann, RIGHT, T0 + 1);
    g.close(CloseReason::Deadline, T0 + LIMIT + 1)
        .expect("time up");
    let bob = join(&mut g, "bob");
    assert_eq!(
        submit(&mut g, bob, 4, T0 + 10),
        Err(Rejection::InvalidChoice)
    );
    assert_eq!(
        submit(&mut g, ann, RIGHT, T0 + 10),
        Err(Rejection::AlreadyAnswered)
    );
}

#[test]
fn rule_3_an_answer_stamped_by_the_deadline_is_too_late_once_locked() {
    let mut g = started(1);
    let ann = join(&mut g, "ann");
    g.close(CloseReason::Locked, T0 + 5_000).expect("lock");
    assert_eq!(
        submit(&mut g, ann, RIGHT, T0 + 4_999),
        Err(Rejection::TooLate)
    );
}

#[test]
fn a_rejected_answer_does_not_use_up_the_players_answer() {
    let mut g = started(2);
    let ann = join(&mut g, "ann");
    assert_eq!(
        submit(&mut g, ann, 17, T0 + 1),
        Err(Rejection::InvalidChoice)
    );
    assert_eq!(
        g.submit_answer(Some(ann), 1, RIGHT, T0 + 2),
        Err(Rejection::WrongQuestion)
    );
    g.pause(T0 + 3).expect("pause");
    assert_eq!(submit(&mut g, ann, RIGHT, T0 + 4), Err(Rejection::NotOpen));
    g.resume(T0 + 5).expect("resume");
    assert!(g.answer_of(ann, 0).is_none());
    assert_eq!(accept(&mut g, ann, RIGHT, T0 + 6).choice, RIGHT as usize);
}

#[test]
fn a_discarded_answer_lets_the_player_answer_again() {
    let mut g = started(1);
    let ann = join(&mut g, "ann");
    let failed = submit(&mut g, ann, WRONG, T0 + 1).expect("accepted");
    g.discard_answer(ann, 0, failed.id);
    assert!(g.answer_of(ann, 0).is_none());
    assert_eq!(g.pending_count(0), 0);
    let retry = submit(&mut g, ann, RIGHT, T0 + 2).expect("may answer again");
    assert_ne!(retry.id, failed.id);
    assert!(
        !g.confirm_answer(ann, 0, failed.id),
        "the failed write cannot confirm the retry"
    );
    assert!(g.confirm_answer(ann, 0, retry.id));
    assert_eq!(
        g.answer_of(ann, 0).map(|a| (a.choice, a.durable)),
        Some((RIGHT as usize, true))
    );
}

#[test]
fn discard_leaves_a_durable_answer_or_another_answer_alone() {
    let mut g = started(1);
    let ann = join(&mut g, "ann");
    let a = accept(&mut g, ann, RIGHT, T0 + 1);
    g.discard_answer(ann, 0, a.id);
    assert!(
        g.answer_of(ann, 0).is_some(),
        "an acknowledged answer is never taken back"
    );
    let bob = join(&mut g, "bob");
    let b = submit(&mut g, bob, RIGHT, T0 + 2).expect("accepted");
    g.discard_answer(bob, 0, Uuid::new_v4());
    g.discard_answer(bob, 1, b.id);
    assert_eq!(
        g.answer_of(bob, 0).map(|x| x.id),
        Some(b.id),
        "a stale discard keeps the answer"
    );
}

#[test]
fn confirm_answer_needs_the_matching_id() {
    let mut g = started(1);
    let ann = join(&mut g, "ann");
    let a = submit(&mut g, ann, RIGHT, T0 + 1).expect("accepted");
    assert!(!g.confirm_answer(ann, 0, Uuid::new_v4()));
    assert!(!g.confirm_answer(ann, 5, a.id));
    assert!(!g.confirm_answer(Uuid::new_v4(), 0, a.id));
    assert_eq!((g.durable_count(0), g.pending_count(0)), (0, 1));
    assert!(g.confirm_answer(ann, 0, a.id));
    assert_eq!((g.durable_count(0), g.pending_count(0)), (1, 0));
}

#[test]
fn an_accepted_answer_records_what_was_judged() {
    let mut g = started(1);
    let ann = join(&mut g, "ann");
    let a = submit(&mut g, ann, RIGHT, T0 + 2_000).expect("accepted");
    assert_eq!(
        (
            a.player_id,
            a.question,
            a.choice,
            a.received_at,
            a.response_ms,
            a.correct,
            a.durable
        ),
        (ann, 0, RIGHT as usize, T0 + 2_000, 2_000, true, false)
    );
    assert_eq!(g.answer_of(ann, 0), Some(a));
}

#[test]
fn rejection_codes_are_the_protocol_reasons() {
    let codes: Vec<_> = [
        Rejection::NotJoined,
        Rejection::NotOpen,
        Rejection::WrongQuestion,
        Rejection::TooLate,
        Rejection::InvalidChoice,
        Rejection::AlreadyAnswered,
        Rejection::Unavailable,
    ]
    .into_iter()
    .map(Rejection::code)
    .collect();
    assert_eq!(
        codes,
        [
            "not_joined",
            "not_open",
            "wrong_question",
            "too_late",
            "invalid_choice",
            "already_answered",
            "unavailable"
        ]
    );
}

// ----- response time and points (rule 6) ---------------------------------------------------

#[test]
fn response_ms_is_the_time_since_the_question_started() {
    let mut g = started(1);
    let ann = join(&mut g, "ann");
    let bob = join(&mut g, "bob");
    assert_eq!(submit(&mut g, ann, RIGHT, T0).map(|a| a.response_ms), Ok(0));
    assert_eq!(
        submit(&mut g, bob, RIGHT, T0 + 4_321).map(|a| a.response_ms),
        Ok(4_321)
    );
}

#[test]
fn response_ms_is_never_negative() {
    let mut g = started(1);
    let ann = join(&mut g, "ann");
    let a = submit(&mut g, ann, RIGHT, T0 - 50).expect("stamped before the start, still in time");
    assert_eq!((a.response_ms, a.points), (0, 1000));
}

#[test]
fn response_ms_subtracts_the_time_spent_paused() {
    let mut g = started(1);
    let ann = join(&mut g, "ann");
    g.pause(T0 + 1_000).expect("pause");
    g.resume(T0 + 5_000).expect("resume");
    g.pause(T0 + 6_000).expect("pause");
    g.resume(T0 + 16_000).expect("resume");
    let a = submit(&mut g, ann, RIGHT, T0 + 17_500).expect("in time");
    assert_eq!(a.response_ms, 17_500 - 4_000 - 10_000);
}

#[test]
fn response_ms_subtracts_paused_time_for_an_answer_judged_while_closing() {
    let mut g = started(1);
    let ann = join(&mut g, "ann");
    g.pause(T0 + 1_000).expect("pause");
    g.resume(T0 + 3_000).expect("resume");
    g.close(CloseReason::Deadline, T0 + LIMIT + 2_001)
        .expect("time up");
    let a = submit(&mut g, ann, RIGHT, T0 + LIMIT + 2_000).expect("stamped at the moved deadline");
    assert_eq!(a.response_ms, LIMIT);
    assert_eq!(a.points, 500, "half the points at the limit");
}

#[test]
fn points_follow_the_rule_6_formula() {
    let limit = 20_000;
    let mut g = Game::new(quiz_of(vec![question(4, 3, limit as u32, 800)], 100));
    g.start(T0).expect("start");
    for (i, r) in [0, 1, 333, 5_000, 9_999, 10_000, 15_001, 19_999, 20_000]
        .into_iter()
        .enumerate()
    {
        let p = join(&mut g, &format!("p{i}"));
        let a = submit(&mut g, p, 3, T0 + r).expect("in time");
        assert_eq!(a.points, rule_6(800, r, limit), "response {r}");
        assert_eq!(a.points, points_for_correct(800, r, limit as u32));
        assert!(a.correct);
    }
}

#[test]
fn points_round_half_up_in_exact_integers() {
    // 5 * (1 - (500/1000)/2) = 3.75 -> 4; 10 * (1 - (100/1000)/2) = 9.5 -> 10; 1 point at T: 0.5 -> 1
    let cases = [
        (5, 500, 1_000, 4),
        (10, 100, 1_000, 10),
        (1, 1_000, 1_000, 1),
        (3, 500, 500, 2),
    ];
    for (points, r, limit, want) in cases {
        let mut g = Game::new(quiz_of(vec![question(2, 0, limit, points)], 5));
        let ann = join(&mut g, "ann");
        g.start(T0).expect("start");
        assert_eq!(
            submit(&mut g, ann, 0, T0 + i64::from(r)).map(|a| a.points),
            Ok(want),
            "{points}@{r}/{limit}"
        );
    }
}

#[test]
fn a_wrong_answer_scores_zero() {
    let mut g = started(1);
    let ann = join(&mut g, "ann");
    let a = accept(&mut g, ann, WRONG, T0);
    assert_eq!((a.correct, a.points), (false, 0));
    g.close(CloseReason::Locked, T0 + 1).expect("close");
    g.reveal(T0 + 1).expect("reveal");
    assert_eq!(score(&g, ann), 0);
}

#[test]
fn a_zero_point_question_scores_zero_even_when_right() {
    let mut g = Game::new(quiz_of(vec![question(2, 0, 1_000, 0)], 5));
    let ann = join(&mut g, "ann");
    g.start(T0).expect("start");
    assert_eq!(
        submit(&mut g, ann, 0, T0).map(|a| (a.correct, a.points)),
        Ok((true, 0))
    );
}

// ----- scores, distribution (rule 4) -------------------------------------------------------

#[test]
fn rule_4_scores_change_only_at_reveal() {
    let mut g = started(2);
    let ann = join(&mut g, "ann");
    let bob = join(&mut g, "bob");
    accept(&mut g, ann, RIGHT, T0 + 2_000);
    accept(&mut g, bob, WRONG, T0 + 1_000);
    assert_eq!(
        (score(&g, ann), score(&g, bob)),
        (0, 0),
        "open question: no visible points"
    );
    assert!(
        g.leaderboard().iter().all(|r| r.score == 0 && r.rank == 1),
        "the leaderboard reveals nothing"
    );
    g.close(CloseReason::AllAnswered, T0 + 2_001)
        .expect("close");
    assert_eq!(
        (score(&g, ann), score(&g, bob)),
        (0, 0),
        "closed but not revealed: no points yet"
    );
    g.reveal(T0 + 2_002).expect("reveal");
    assert_eq!(score(&g, ann), i64::from(rule_6(1000, 2_000, LIMIT)));
    assert_eq!(score(&g, bob), 0);
}

#[test]
fn scores_add_up_over_questions() {
    let mut g = started(3);
    let ann = join(&mut g, "ann");
    let mut expected = 0;
    for (q, r) in [(0, 0), (1, 5_000), (2, LIMIT)] {
        let t = T0 + q * 100_000;
        if q > 0 {
            assert_eq!(g.next(t), Ok(Advance::Opened(q as usize)));
        }
        accept(&mut g, ann, RIGHT, t + r);
        g.close(CloseReason::AllAnswered, t + r).expect("close");
        g.reveal(t + r).expect("reveal");
        expected += i64::from(rule_6(1000, r, LIMIT));
        assert_eq!(score(&g, ann), expected, "after question {q}");
    }
    assert_eq!(expected, 1000 + 750 + 500);
}

#[test]
fn reveal_counts_only_durable_answers_in_scores_distribution_and_answered() {
    let mut g = started(1);
    let ann = join(&mut g, "ann");
    let bob = join(&mut g, "bob");
    let cat = join(&mut g, "cat");
    let dan = join(&mut g, "dan");
    accept(&mut g, ann, RIGHT, T0 + 1);
    accept(&mut g, bob, 3, T0 + 2);
    let pending = submit(&mut g, cat, RIGHT, T0 + 3).expect("accepted, not yet stored");
    let failed = submit(&mut g, dan, RIGHT, T0 + 4).expect("accepted, then failed to store");
    g.discard_answer(dan, 0, failed.id);
    assert!(!pending.durable);
    assert_eq!((g.durable_count(0), g.pending_count(0)), (2, 1));
    g.close(CloseReason::Locked, T0 + 5).expect("close");
    let outcome = g.reveal(T0 + 6).expect("reveal");
    assert_eq!(outcome.distribution, vec![0, 1, 0, 1]);
    assert_eq!(outcome.answered, 2);
    assert_eq!(outcome.distribution.iter().sum::<u32>(), outcome.answered);
    assert!(score(&g, ann) > 0);
    assert_eq!((score(&g, bob), score(&g, cat), score(&g, dan)), (0, 0, 0));
}

#[test]
fn the_distribution_has_one_slot_per_choice() {
    let mut g = Game::new(quiz_of(vec![question(6, 5, 1_000, 100)], 10));
    let ids: Vec<_> = (0..6).map(|i| join(&mut g, &format!("p{i}"))).collect();
    g.start(T0).expect("start");
    for (i, p) in ids.iter().enumerate() {
        accept(&mut g, *p, (i % 3) as i64 * 2 + 1, T0 + 1); // choices 1, 3, 5
    }
    g.close(CloseReason::AllAnswered, T0 + 1).expect("close");
    let o = g.reveal(T0 + 1).expect("reveal");
    assert_eq!(
        o,
        RevealOutcome {
            question: 0,
            correct: 5,
            distribution: vec![0, 2, 0, 2, 0, 2],
            answered: 6
        }
    );
}

#[test]
fn rule_9_a_removed_players_accepted_answer_stays_counted() {
    let mut g = started(1);
    let ann = join(&mut g, "ann");
    let bob = join(&mut g, "bob");
    accept(&mut g, ann, RIGHT, T0 + 1);
    accept(&mut g, bob, RIGHT, T0 + 1);
    assert!(g.remove_player(ann, PlayerStatus::Kicked));
    g.close(CloseReason::Locked, T0 + 2).expect("close");
    let o = g.reveal(T0 + 2).expect("reveal");
    assert_eq!(o.answered, 2);
    assert_eq!(o.distribution[RIGHT as usize], 2);
    assert_eq!(score(&g, ann), score(&g, bob), "kept in the results");
    assert_eq!(
        g.leaderboard().len(),
        1,
        "but gone from the live leaderboard"
    );
}

#[test]
fn a_player_joining_mid_game_starts_at_zero_and_may_answer_the_open_question() {
    let mut g = started(2);
    let ann = join(&mut g, "ann");
    accept(&mut g, ann, RIGHT, T0);
    g.close(CloseReason::Locked, T0 + 1).expect("close");
    g.reveal(T0 + 1).expect("reveal");
    g.next(T0 + 2).expect("next");
    let bob = join(&mut g, "bob");
    assert_eq!(score(&g, bob), 0);
    assert!(submit(&mut g, bob, RIGHT, T0 + 3).is_ok());
}

// ----- players -----------------------------------------------------------------------------

#[test]
fn rule_8_nicknames_are_unique_ignoring_case() {
    let mut g = game(1);
    join(&mut g, "Alice");
    for taken in ["alice", "ALICE", "  aLiCe  "] {
        assert_eq!(
            g.add_player(Uuid::new_v4(), nick(taken), token(taken)),
            Err(JoinError::NicknameTaken),
            "{taken}"
        );
    }
    join(&mut g, "Élodie");
    assert_eq!(
        g.add_player(Uuid::new_v4(), nick("élodie"), token("x")),
        Err(JoinError::NicknameTaken)
    );
    assert_eq!(g.player_count(), 2, "a refused join adds nobody");
    assert!(
        g.add_player(Uuid::new_v4(), nick("Alice2"), token("a2"))
            .is_ok()
    );
}

#[test]
fn room_full_at_max_players() {
    let mut g = Game::new(quiz_of(vec![question(2, 0, 1_000, 10)], 2));
    join(&mut g, "a");
    join(&mut g, "b");
    assert_eq!(
        g.add_player(Uuid::new_v4(), nick("c"), token("c")),
        Err(JoinError::RoomFull)
    );
    assert_eq!(g.player_count(), 2);
}

#[test]
fn disconnected_players_still_take_a_seat_but_removed_ones_free_it() {
    let mut g = Game::new(quiz_of(vec![question(2, 0, 1_000, 10)], 2));
    let a = join(&mut g, "a");
    let b = join(&mut g, "b");
    g.set_connected(a, false);
    assert_eq!(
        g.add_player(Uuid::new_v4(), nick("c"), token("c")),
        Err(JoinError::RoomFull)
    );
    assert!(g.remove_player(b, PlayerStatus::Left));
    assert!(g.add_player(Uuid::new_v4(), nick("c"), token("c")).is_ok());
}

#[test]
fn game_finished_refuses_joins_first() {
    let mut g = Game::new(quiz_of(vec![question(2, 0, 1_000, 10)], 1));
    join(&mut g, "ann");
    g.end(T0).expect("end");
    // The room is also full and the nickname taken: game_finished wins.
    assert_eq!(
        g.add_player(Uuid::new_v4(), nick("ann"), token("x")),
        Err(JoinError::GameFinished)
    );
    let mut g = game_at(At::LastReveal);
    g.next(T0 + 9_000).expect("finish");
    assert_eq!(
        g.add_player(Uuid::new_v4(), nick("zed"), token("zed")),
        Err(JoinError::GameFinished)
    );
}

#[test]
fn joining_is_allowed_in_every_phase_but_finished() {
    for at in ALL {
        let mut g = game_at(at);
        let got = g.add_player(Uuid::new_v4(), nick("late"), token("late"));
        let want = if at == At::Finished {
            Err(JoinError::GameFinished)
        } else {
            Ok(())
        };
        assert_eq!(got, want, "{at:?}");
    }
}

#[test]
fn a_new_player_is_active_with_zero_points_and_findable_by_token() {
    let mut g = game(1);
    let id = Uuid::new_v4();
    g.add_player(id, nick("  Zoë "), token("zoe"))
        .expect("join");
    let p = g.player(id).expect("player");
    assert_eq!(
        (p.nickname.as_str(), p.status, p.score),
        ("Zoë", PlayerStatus::Active, 0)
    );
    assert!(!p.connected, "connected only once a socket is attached");
    assert_eq!(g.player_by_token(&token("zoe")), Some(id));
    assert_eq!(g.player_by_token("nope"), None);
}

#[test]
fn rule_9_remove_player_frees_the_nickname_and_kills_the_token() {
    for how in [PlayerStatus::Left, PlayerStatus::Kicked] {
        let mut g = started(1);
        let ann = join(&mut g, "Ann");
        assert!(g.remove_player(ann, how));
        assert_eq!(
            g.player_by_token(&token("Ann")),
            None,
            "{how:?}: resume must fail"
        );
        let p = g.player(ann).expect("kept for the results");
        assert_eq!((p.status, p.connected), (how, false));
        let again = Uuid::new_v4();
        assert_eq!(
            g.add_player(again, nick("ANN"), token("new")),
            Ok(()),
            "{how:?}: nickname is free"
        );
        assert_eq!(g.player_by_token(&token("new")), Some(again));
    }
}

#[test]
fn remove_player_twice_or_unknown_returns_false() {
    let mut g = game(1);
    let ann = join(&mut g, "ann");
    assert!(g.remove_player(ann, PlayerStatus::Kicked));
    assert!(!g.remove_player(ann, PlayerStatus::Kicked));
    assert!(!g.remove_player(ann, PlayerStatus::Left));
    assert_eq!(
        g.player(ann).map(|p| p.status),
        Some(PlayerStatus::Kicked),
        "the first removal's kind stays"
    );
    assert!(!g.remove_player(Uuid::new_v4(), PlayerStatus::Left));
}

#[test]
fn a_removed_player_cannot_be_reconnected() {
    let mut g = game(1);
    let ann = join(&mut g, "ann");
    g.remove_player(ann, PlayerStatus::Left);
    g.set_connected(ann, true);
    assert_eq!(g.player(ann).map(|p| p.connected), Some(false));
}

#[test]
fn rule_19_player_count_counts_disconnected_players_but_not_removed_ones() {
    let mut g = game(1);
    let ids: Vec<_> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|n| join(&mut g, n))
        .collect();
    g.set_connected(ids[0], false);
    g.set_connected(ids[1], false);
    assert_eq!(g.player_count(), 5);
    g.remove_player(ids[2], PlayerStatus::Left);
    g.remove_player(ids[3], PlayerStatus::Kicked);
    assert_eq!(g.player_count(), 3);
    assert_eq!(g.active_players().count(), 3);
    assert_eq!(
        g.players().count(),
        5,
        "every player who ever joined is kept"
    );
}

#[test]
fn forget_player_undoes_a_join_that_could_not_be_stored() {
    let mut g = game(1);
    let id = Uuid::new_v4();
    g.add_player(id, nick("ann"), token("ann")).expect("join");
    g.forget_player(id);
    assert!(g.player(id).is_none());
    assert_eq!(g.player_count(), 0);
    assert_eq!(g.player_by_token(&token("ann")), None);
    assert!(
        g.add_player(Uuid::new_v4(), nick("Ann"), token("ann"))
            .is_ok()
    );
}

// ----- all answered (rule 10) --------------------------------------------------------------

#[test]
fn rule_10_all_answered_when_every_connected_player_answered() {
    let mut g = started(1);
    let ann = join(&mut g, "ann");
    let bob = join(&mut g, "bob");
    assert!(!g.all_connected_answered());
    accept(&mut g, ann, RIGHT, T0 + 1);
    assert!(!g.all_connected_answered(), "bob has not answered");
    accept(&mut g, bob, WRONG, T0 + 2);
    assert!(g.all_connected_answered());
}

#[test]
fn rule_10_disconnected_and_removed_players_do_not_block() {
    let mut g = started(1);
    let ann = join(&mut g, "ann");
    let bob = join(&mut g, "bob");
    let cat = join(&mut g, "cat");
    accept(&mut g, ann, RIGHT, T0 + 1);
    g.set_connected(bob, false);
    assert!(
        !g.all_connected_answered(),
        "cat is connected and has not answered"
    );
    g.remove_player(cat, PlayerStatus::Left);
    assert!(g.all_connected_answered());
    g.set_connected(bob, true);
    assert!(
        !g.all_connected_answered(),
        "bob is back (resume) and has not answered"
    );
}

#[test]
fn rule_10_needs_at_least_one_connected_player() {
    let mut g = started(1);
    assert!(!g.all_connected_answered(), "nobody in the room");
    let ann = join(&mut g, "ann");
    g.set_connected(ann, false);
    assert!(!g.all_connected_answered(), "nobody connected");
    let bob = join(&mut g, "bob");
    accept(&mut g, bob, RIGHT, T0 + 1);
    g.set_connected(bob, false);
    assert!(
        !g.all_connected_answered(),
        "the only one who answered is gone: still nobody connected"
    );
}

#[test]
fn rule_10_all_answered_only_while_a_question_is_open() {
    for at in [At::Lobby, At::Closed, At::Reveal, At::Finished] {
        let g = game_at(at);
        assert!(!g.all_connected_answered(), "{at:?}");
    }
}

#[test]
fn rule_10_all_answered_looks_at_the_open_question_only() {
    let mut g = started(2);
    let ann = join(&mut g, "ann");
    accept(&mut g, ann, RIGHT, T0 + 1);
    g.close(CloseReason::AllAnswered, T0 + 1).expect("close");
    g.reveal(T0 + 1).expect("reveal");
    g.next(T0 + 2).expect("next");
    assert!(
        !g.all_connected_answered(),
        "an answer to question 0 does not answer question 1"
    );
}

/// An answer that is accepted but not yet stored may still fail (`unavailable`, "the player may
/// answer again"); until it is durable the player has not answered, so it must not end the
/// question for everyone.
#[test]
fn rule_10_all_answered_counts_only_durable_answers() {
    let mut g = started(1);
    let ann = join(&mut g, "ann");
    let bob = join(&mut g, "bob");
    accept(&mut g, ann, RIGHT, T0 + 1);
    let pending = submit(&mut g, bob, RIGHT, T0 + 2).expect("accepted, write in flight");
    assert!(
        !g.all_connected_answered(),
        "bob's answer may still fail to store"
    );
    g.discard_answer(bob, 0, pending.id);
    assert!(!g.all_connected_answered());
    assert!(
        submit(&mut g, bob, RIGHT, T0 + 3).is_ok(),
        "bob may answer again"
    );
}

// ----- leaderboard -------------------------------------------------------------------------

fn set_score(g: &mut Game, id: Uuid, score: i64) {
    g.player_mut(id).expect("player").score = score;
}

#[test]
fn leaderboard_orders_by_score_then_nickname_with_shared_ranks() {
    let mut g = game(1);
    for (name, s) in [
        ("bob", 500),
        ("zed", 900),
        ("amy", 500),
        ("Cat", 500),
        ("dan", 0),
        ("eve", 900),
    ] {
        let id = join(&mut g, name);
        set_score(&mut g, id, s);
    }
    let got: Vec<_> = g
        .leaderboard()
        .into_iter()
        .map(|r| (r.rank, r.nickname, r.score))
        .collect();
    let want = [
        (1, "eve", 900),
        (1, "zed", 900),
        (3, "Cat", 500),
        (3, "amy", 500),
        (3, "bob", 500),
        (6, "dan", 0),
    ];
    assert_eq!(got, want.map(|(r, n, s)| (r, n.to_owned(), s)));
}

#[test]
fn leaderboard_lists_only_players_still_in_the_room_and_disconnected_ones() {
    let mut g = game(1);
    let ann = join(&mut g, "ann");
    let bob = join(&mut g, "bob");
    join(&mut g, "cat");
    set_score(&mut g, bob, 100);
    g.set_connected(ann, false);
    g.remove_player(bob, PlayerStatus::Kicked);
    let names: Vec<_> = g.leaderboard().into_iter().map(|r| r.nickname).collect();
    assert_eq!(names, ["ann", "cat"]);
}

#[test]
fn leaderboard_after_a_played_question_ranks_by_speed() {
    let mut g = started(1);
    let slow = join(&mut g, "slow");
    let fast = join(&mut g, "fast");
    let wrong = join(&mut g, "wrong");
    join(&mut g, "idle");
    accept(&mut g, slow, RIGHT, T0 + 8_000);
    accept(&mut g, fast, RIGHT, T0 + 1_000);
    accept(&mut g, wrong, WRONG, T0 + 500);
    g.close(CloseReason::Deadline, T0 + LIMIT + 1)
        .expect("close");
    g.reveal(T0 + LIMIT + 2).expect("reveal");
    let got: Vec<_> = g
        .leaderboard()
        .into_iter()
        .map(|r| (r.rank, r.nickname, r.score))
        .collect();
    let (f, s) = (
        i64::from(rule_6(1000, 1_000, LIMIT)),
        i64::from(rule_6(1000, 8_000, LIMIT)),
    );
    assert_eq!(
        got,
        vec![
            (1, "fast".into(), f),
            (2, "slow".into(), s),
            (3, "idle".into(), 0),
            (3, "wrong".into(), 0)
        ]
    );
}

// ----- restore -----------------------------------------------------------------------------

fn stored_player(name: &str, status: PlayerStatus, score: i64) -> Player {
    Player {
        id: Uuid::new_v4(),
        nickname: nick(name),
        token_hash: token(name),
        status,
        connected: true,
        score,
    }
}

fn stored_answer(player: Uuid, question: usize, choice: usize, points: u32) -> Answer {
    Answer {
        id: Uuid::new_v4(),
        player_id: player,
        question,
        choice,
        received_at: T0,
        response_ms: 1_000,
        correct: points > 0,
        points,
        durable: false,
    }
}

#[test]
fn restore_recomputes_scores_from_revealed_questions_only() {
    let ann = stored_player("ann", PlayerStatus::Active, 123_456);
    let bob = stored_player("bob", PlayerStatus::Active, 77);
    let gone = stored_player("gone", PlayerStatus::Left, 5);
    let (a, b, x) = (ann.id, bob.id, gone.id);
    let round = Round {
        index: 2,
        started_at: T0,
        deadline_at: T0 + LIMIT + 500,
        paused_at: None,
        paused_ms: 500,
        closed: Some((CloseReason::Deadline, T0 + LIMIT + 501)),
        revealed_at: None,
    };
    let g = Game::restore(
        game(3).quiz,
        RestoredState {
            phase: Phase::Closed,
            round: Some(round.clone()),
            players: vec![ann, bob, gone],
            answers: vec![
                stored_answer(a, 0, 1, 900),
                stored_answer(b, 0, 2, 0),
                stored_answer(x, 0, 1, 700),
                stored_answer(a, 1, 1, 600),
                stored_answer(b, 1, 1, 800),
                stored_answer(a, 2, 1, 999), // closed, not yet revealed
                stored_answer(b, 9, 1, 999), // no such question: ignored
            ],
            revealed_questions: vec![0, 1],
            started_at: Some(T0 - 60_000),
            finished_at: None,
        },
    );
    assert_eq!(
        score(&g, a),
        900 + 600,
        "stored scores are ignored; q2 is not revealed"
    );
    assert_eq!(score(&g, b), 800);
    assert_eq!(score(&g, x), 700, "a left player's answers stay counted");
    assert_eq!(g.phase(), Phase::Closed);
    assert_eq!(
        g.round(),
        Some(&round),
        "the original deadline comes back (rule 20)"
    );
    assert_eq!(g.started_at, Some(T0 - 60_000));
    assert!(
        g.players().all(|p| !p.connected),
        "everyone is disconnected until they resume"
    );
    assert!(
        answers_to(&g, 2).iter().all(|a| a.durable),
        "stored answers are durable"
    );
    assert_eq!(g.durable_count(2), 1);
}

#[test]
fn restore_keeps_left_and_kicked_players_out_of_the_roster() {
    let ann = stored_player("ann", PlayerStatus::Active, 0);
    let left = stored_player("left", PlayerStatus::Left, 0);
    let kicked = stored_player("kicked", PlayerStatus::Kicked, 0);
    let (a, l, k) = (ann.id, left.id, kicked.id);
    let mut g = Game::restore(
        game(1).quiz,
        RestoredState {
            phase: Phase::Lobby,
            round: None,
            players: vec![ann, left, kicked],
            answers: vec![],
            revealed_questions: vec![],
            started_at: None,
            finished_at: None,
        },
    );
    assert_eq!(g.player_count(), 1);
    assert_eq!(g.player_by_token(&token("ann")), Some(a));
    assert_eq!(g.player_by_token(&token("left")), None);
    assert_eq!(g.player_by_token(&token("kicked")), None);
    assert_eq!(g.player(l).map(|p| p.status), Some(PlayerStatus::Left));
    assert_eq!(g.player(k).map(|p| p.status), Some(PlayerStatus::Kicked));
    assert_eq!(
        g.add_player(Uuid::new_v4(), nick("ANN"), token("x")),
        Err(JoinError::NicknameTaken)
    );
    assert!(
        g.add_player(Uuid::new_v4(), nick("Left"), token("y"))
            .is_ok()
    );
}

#[test]
fn restore_of_an_open_question_keeps_judging_by_the_original_deadline() {
    let ann = stored_player("ann", PlayerStatus::Active, 0);
    let bob = stored_player("bob", PlayerStatus::Active, 0);
    let (a, b) = (ann.id, bob.id);
    let mut g = Game::restore(
        game(2).quiz,
        RestoredState {
            phase: Phase::Question,
            round: Some(Round {
                index: 0,
                started_at: T0,
                deadline_at: T0 + LIMIT,
                paused_at: None,
                paused_ms: 0,
                closed: None,
                revealed_at: None,
            }),
            players: vec![ann, bob],
            answers: vec![stored_answer(a, 0, 1, 950)],
            revealed_questions: vec![],
            started_at: Some(T0),
            finished_at: None,
        },
    );
    assert_eq!(
        score(&g, a),
        0,
        "rule 4: the open question's points are not visible yet"
    );
    assert_eq!(
        submit(&mut g, a, RIGHT, T0 + 5),
        Err(Rejection::AlreadyAnswered)
    );
    assert_eq!(
        submit(&mut g, b, RIGHT, T0 + LIMIT + 1),
        Err(Rejection::TooLate)
    );
    assert!(submit(&mut g, b, RIGHT, T0 + LIMIT).is_ok());
    assert!(g.deadline_passed(T0 + LIMIT + 1));
}

// ----- names on the wire -------------------------------------------------------------------

#[test]
fn statuses_close_reasons_and_player_statuses_round_trip_through_their_names() {
    for s in [
        Status::Lobby,
        Status::Question,
        Status::Paused,
        Status::Reveal,
        Status::Finished,
    ] {
        assert_eq!(Status::parse(s.as_str()), Some(s));
    }
    for r in [
        CloseReason::Deadline,
        CloseReason::Locked,
        CloseReason::AllAnswered,
    ] {
        assert_eq!(CloseReason::parse(r.as_str()), Some(r));
    }
    for p in [
        PlayerStatus::Active,
        PlayerStatus::Left,
        PlayerStatus::Kicked,
    ] {
        assert_eq!(PlayerStatus::parse(p.as_str()), Some(p));
    }
    assert_eq!(Status::parse("closed"), None);
    assert_eq!(CloseReason::parse("Deadline"), None);
    assert_eq!(PlayerStatus::parse(""), None);
}

#[test]
fn rank_of_agrees_with_the_leaderboard_and_outcome_with_the_reveal() {
    let mut g = started(1);
    let amy = join(&mut g, "amy");
    let bob = join(&mut g, "bob");
    let cat = join(&mut g, "cat");
    let dan = join(&mut g, "dan");
    accept(&mut g, amy, RIGHT, T0 + 100);
    accept(&mut g, bob, RIGHT, T0 + 100);
    accept(&mut g, cat, 0, T0 + 200);
    g.close(CloseReason::Locked, T0 + 300).expect("close");
    let revealed = g.reveal(T0 + 310).expect("reveal");
    assert_eq!(
        revealed,
        g.outcome(0),
        "the snapshot's figures are the reveal's"
    );
    for r in g.leaderboard() {
        assert_eq!(g.rank_of(r.player_id), Some(r.rank), "{}", r.nickname);
    }
    assert_eq!(g.rank_of(amy), Some(1));
    assert_eq!(g.rank_of(dan), Some(3));
    assert!(g.remove_player(dan, PlayerStatus::Left));
    assert_eq!(g.rank_of(dan), None, "a player who left has no rank");
}

// ----- answers kept by seat ----------------------------------------------------------------

#[test]
fn a_kept_answer_is_40_bytes() {
    // The point of keeping answers by seat: at 2,000 players and 10 questions the map by
    // player took 1.8 KiB per player (docs/benchmarks.md). Growing this costs every answer.
    assert!(std::mem::size_of::<Option<Kept>>() <= 40);
}

#[test]
fn players_who_join_after_the_first_answers_answer_like_everyone() {
    let mut g = started(2);
    let ann = join(&mut g, "ann");
    accept(&mut g, ann, RIGHT, T0 + 100);
    // Joined once the question's answers were sized to a roster of one.
    let bob = join(&mut g, "bob");
    let cat = join(&mut g, "cat");
    let b = accept(&mut g, bob, WRONG, T0 + 200);
    assert_eq!(
        submit(&mut g, bob, RIGHT, T0 + 250),
        Err(Rejection::AlreadyAnswered)
    );
    assert_eq!(
        (b.player_id, b.question, b.choice),
        (bob, 0, WRONG as usize)
    );
    assert_eq!(g.answer_of(cat, 0), None);
    assert_eq!(g.durable_count(0), 2);
    let mut whose: Vec<Uuid> = answers_to(&g, 0).iter().map(|a| a.player_id).collect();
    whose.sort();
    let mut expected = vec![ann, bob];
    expected.sort();
    assert_eq!(whose, expected);
    g.close(CloseReason::Locked, T0 + 300).expect("close");
    let out = g.reveal(T0 + 310).expect("reveal");
    assert_eq!(
        (out.answered, out.distribution.clone()),
        (2, vec![0, 1, 1, 0])
    );
    assert!(score(&g, ann) > 0);
    assert_eq!(score(&g, bob), 0);
}

#[test]
fn a_forgotten_join_leaves_an_empty_seat_and_the_others_keep_theirs() {
    let mut g = started(1);
    let ann = join(&mut g, "ann");
    let ghost = Uuid::new_v4();
    g.add_player(ghost, nick("ghost"), token("ghost"))
        .expect("join");
    let bob = join(&mut g, "bob");
    accept(&mut g, ann, RIGHT, T0 + 100);
    g.forget_player(ghost);
    assert_eq!(
        g.submit_answer(Some(ghost), 0, RIGHT, T0 + 150),
        Err(Rejection::NotJoined)
    );
    let b = accept(&mut g, bob, RIGHT, T0 + 200);
    assert_eq!(g.answer_of(bob, 0), Some(b));
    assert_eq!(g.players().count(), 2);
    assert_eq!(g.durable_count(0), 2);
    assert!(g.all_connected_answered());
}

#[test]
fn a_discarded_answer_frees_the_seat_for_another_try() {
    let mut g = started(1);
    let ann = join(&mut g, "ann");
    let first = submit(&mut g, ann, WRONG, T0 + 100).expect("accepted");
    assert_eq!(g.pending_count(0), 1);
    g.discard_answer(ann, 0, first.id);
    assert_eq!((g.pending_count(0), g.answer_of(ann, 0)), (0, None));
    let second = accept(&mut g, ann, RIGHT, T0 + 200);
    assert_ne!(second.id, first.id);
    assert!(
        !g.confirm_answer(ann, 0, first.id),
        "the discarded one is gone"
    );
    assert_eq!(g.durable_count(0), 1);
}
