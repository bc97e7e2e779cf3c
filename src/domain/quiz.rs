//! A quiz as a host submits it, validated into types that cannot hold a bad value.
//!
//! Parsing works on a `serde_json::Value` rather than a derived struct so that every error can
//! name the exact path of the bad value (`questions[2].choices[1]`, PROTOCOL.md rule 8), wrong
//! JSON types included.

use serde_json::{Map, Value};

use super::text::{code_points, trimmed};

pub const MAX_TITLE_CHARS: usize = 120;
pub const MAX_QUESTIONS: usize = 200;
pub const MAX_PROMPT_CHARS: usize = 500;
pub const MIN_CHOICES: usize = 2;
pub const MAX_CHOICES: usize = 6;
pub const MAX_CHOICE_CHARS: usize = 120;
pub const TIME_LIMIT_MS: (i64, i64) = (500, 600_000);
pub const DEFAULT_TIME_LIMIT_MS: u32 = 20_000;
pub const POINTS: (i64, i64) = (0, 10_000);
pub const DEFAULT_POINTS: u32 = 1000;
pub const AUTO_ADVANCE_MS: (i64, i64) = (500, 600_000);
pub const DEFAULT_MAX_PLAYERS: u32 = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quiz {
    pub title: String,
    pub questions: Vec<Question>,
    pub settings: RoomSettings,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub prompt: String,
    pub choices: Vec<String>,
    /// Index into `choices`; secret until the question's time-up.
    pub correct: usize,
    pub time_limit_ms: u32,
    pub points: u32,
}

/// Also what a host's `welcome` shows as `settings` (the same three fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RoomSettings {
    pub max_players: u32,
    pub auto_advance_ms: Option<u32>,
    pub end_when_all_answered: bool,
}

/// Why a quiz was refused: the path of the first bad value and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct QuizError {
    pub field: String,
    pub message: String,
}

fn bad(field: impl Into<String>, message: impl Into<String>) -> QuizError {
    QuizError {
        field: field.into(),
        message: message.into(),
    }
}

impl Quiz {
    /// Validates a submitted quiz. `max_players_cap` is the server's `MAX_PLAYERS_CAP`.
    pub fn parse(body: &Value, max_players_cap: u32) -> Result<Quiz, QuizError> {
        let Some(obj) = body.as_object() else {
            return Err(bad("", "the quiz must be a JSON object"));
        };
        let title = text_field(obj.get("title"), "title", MAX_TITLE_CHARS)?;
        let questions = match obj.get("questions") {
            Some(Value::Array(items)) => items,
            Some(_) => return Err(bad("questions", "must be an array of questions")),
            None => return Err(bad("questions", "is required")),
        };
        if questions.is_empty() || questions.len() > MAX_QUESTIONS {
            return Err(bad(
                "questions",
                format!("must hold 1 to {MAX_QUESTIONS} questions"),
            ));
        }
        let questions = questions
            .iter()
            .enumerate()
            .map(|(i, q)| parse_question(q, &format!("questions[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let settings = parse_settings(obj.get("settings"), max_players_cap)?;
        Ok(Quiz {
            title,
            questions,
            settings,
        })
    }
}

fn parse_question(value: &Value, path: &str) -> Result<Question, QuizError> {
    let Some(obj) = value.as_object() else {
        return Err(bad(path, "must be an object"));
    };
    let prompt = text_field(
        obj.get("prompt"),
        &format!("{path}.prompt"),
        MAX_PROMPT_CHARS,
    )?;
    let choices_path = format!("{path}.choices");
    let choices = match obj.get("choices") {
        Some(Value::Array(items)) => items,
        Some(_) => return Err(bad(choices_path, "must be an array of strings")),
        None => return Err(bad(choices_path, "is required")),
    };
    if choices.len() < MIN_CHOICES || choices.len() > MAX_CHOICES {
        return Err(bad(
            choices_path,
            format!("must hold {MIN_CHOICES} to {MAX_CHOICES} choices"),
        ));
    }
    let choices = choices
        .iter()
        .enumerate()
        .map(|(i, c)| text_field(Some(c), &format!("{choices_path}[{i}]"), MAX_CHOICE_CHARS))
        .collect::<Result<Vec<_>, _>>()?;
    let correct_path = format!("{path}.correct");
    let correct = match obj.get("correct") {
        None | Some(Value::Null) => return Err(bad(correct_path, "is required")),
        Some(v) => int_in(v, &correct_path, 0, choices.len() as i64 - 1)? as usize,
    };
    let time_limit_ms = optional_int(
        obj.get("time_limit_ms"),
        &format!("{path}.time_limit_ms"),
        TIME_LIMIT_MS,
    )?
    .map_or(DEFAULT_TIME_LIMIT_MS, |v| v as u32);
    let points = optional_int(obj.get("points"), &format!("{path}.points"), POINTS)?
        .map_or(DEFAULT_POINTS, |v| v as u32);
    Ok(Question {
        prompt,
        choices,
        correct,
        time_limit_ms,
        points,
    })
}

fn parse_settings(value: Option<&Value>, max_players_cap: u32) -> Result<RoomSettings, QuizError> {
    let default_max = DEFAULT_MAX_PLAYERS.min(max_players_cap);
    let obj = match value {
        None | Some(Value::Null) => &Map::new(),
        Some(Value::Object(obj)) => obj,
        Some(_) => return Err(bad("settings", "must be an object")),
    };
    let max_players = optional_int(
        obj.get("max_players"),
        "settings.max_players",
        (1, i64::from(max_players_cap)),
    )?
    .map_or(default_max, |v| v as u32);
    let auto_advance_ms = optional_int(
        obj.get("auto_advance_ms"),
        "settings.auto_advance_ms",
        AUTO_ADVANCE_MS,
    )?
    .map(|v| v as u32);
    let end_when_all_answered = match obj.get("end_when_all_answered") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(bad(
                "settings.end_when_all_answered",
                "must be true or false",
            ));
        }
    };
    Ok(RoomSettings {
        max_players,
        auto_advance_ms,
        end_when_all_answered,
    })
}

/// A required string, trimmed, 1..=max code points.
fn text_field(value: Option<&Value>, path: &str, max: usize) -> Result<String, QuizError> {
    match value {
        Some(Value::String(s)) => {
            let t = trimmed(s);
            if t.is_empty() {
                Err(bad(path, "must not be empty"))
            } else if t.contains('\0') {
                // Postgres text cannot hold NUL, and no quiz needs one.
                Err(bad(path, "must not contain NUL characters"))
            } else if code_points(t) > max {
                Err(bad(path, format!("must be at most {max} characters")))
            } else {
                Ok(t.to_owned())
            }
        }
        None | Some(Value::Null) => Err(bad(path, "is required")),
        Some(_) => Err(bad(path, "must be a string")),
    }
}

/// An optional integer: absent or null is `None`; otherwise it must lie in `range`.
fn optional_int(
    value: Option<&Value>,
    path: &str,
    range: (i64, i64),
) -> Result<Option<i64>, QuizError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => int_in(v, path, range.0, range.1).map(Some),
    }
}

fn int_in(value: &Value, path: &str, min: i64, max: i64) -> Result<i64, QuizError> {
    match value.as_i64() {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        Some(_) => Err(bad(path, format!("must be between {min} and {max}"))),
        None if value.is_number() => Err(bad(
            path,
            format!("must be a whole number between {min} and {max}"),
        )),
        None => Err(bad(path, "must be a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn quiz() -> Value {
        json!({
            "title": "Capitals",
            "questions": [
                {"prompt": "Capital of France?", "choices": ["Lyon", "Paris", "Nice", "Lille"],
                 "correct": 1, "time_limit_ms": 20000, "points": 1000},
                {"prompt": "Capital of Peru?", "choices": ["Lima", "Cusco"], "correct": 0}
            ]
        })
    }

    fn field_of(body: Value) -> String {
        match Quiz::parse(&body, 5000) {
            Err(e) => e.field,
            Ok(q) => panic!("accepted: {q:?}"),
        }
    }

    #[test]
    fn a_valid_quiz_gets_defaults() {
        let q = Quiz::parse(&quiz(), 5000).expect("valid");
        assert_eq!(q.title, "Capitals");
        assert_eq!(q.questions[1].time_limit_ms, 20_000);
        assert_eq!(q.questions[1].points, 1000);
        assert_eq!(
            q.settings,
            RoomSettings {
                max_players: 1000,
                auto_advance_ms: None,
                end_when_all_answered: true
            }
        );
        let capped = Quiz::parse(&quiz(), 300).expect("valid");
        assert_eq!(capped.settings.max_players, 300);
    }

    #[test]
    fn strings_are_trimmed() {
        let mut body = quiz();
        body["title"] = json!("  Trimmed \u{3000}");
        body["questions"][0]["choices"][0] = json!(" Lyon ");
        let q = Quiz::parse(&body, 5000).expect("valid");
        assert_eq!(q.title, "Trimmed");
        assert_eq!(q.questions[0].choices[0], "Lyon");
    }

    #[test]
    fn errors_name_the_deepest_path() {
        type Mutation = fn(&mut Value);
        let cases: Vec<(Mutation, &str)> = vec![
            (|b| b["title"] = json!("   "), "title"),
            (|b| b["title"] = json!("x".repeat(121)), "title"),
            (|b| b["title"] = json!(7), "title"),
            (|b| b["questions"] = json!([]), "questions"),
            (
                |b| b["questions"][1]["prompt"] = json!(" "),
                "questions[1].prompt",
            ),
            (
                |b| b["questions"][1]["choices"] = json!(["one"]),
                "questions[1].choices",
            ),
            (
                |b| b["questions"][0]["choices"] = json!(["a", "b", "c", "d", "e", "f", "g"]),
                "questions[0].choices",
            ),
            (
                |b| b["questions"][0]["choices"][3] = json!("  "),
                "questions[0].choices[3]",
            ),
            (
                |b| b["questions"][0]["choices"][2] = json!(null),
                "questions[0].choices[2]",
            ),
            (
                |b| b["questions"][0]["correct"] = json!(4),
                "questions[0].correct",
            ),
            (
                |b| b["questions"][0]["correct"] = json!(-1),
                "questions[0].correct",
            ),
            (
                |b| b["questions"][0]["correct"] = json!(1.5),
                "questions[0].correct",
            ),
            (
                |b| b["questions"][0]["time_limit_ms"] = json!(499),
                "questions[0].time_limit_ms",
            ),
            (
                |b| b["questions"][0]["time_limit_ms"] = json!(600_001),
                "questions[0].time_limit_ms",
            ),
            (
                |b| b["questions"][1]["points"] = json!(10_001),
                "questions[1].points",
            ),
            (
                |b| b["settings"] = json!({"max_players": 0}),
                "settings.max_players",
            ),
            (
                |b| b["settings"] = json!({"max_players": 5001}),
                "settings.max_players",
            ),
            (
                |b| b["settings"] = json!({"auto_advance_ms": 100}),
                "settings.auto_advance_ms",
            ),
            (
                |b| b["settings"] = json!({"end_when_all_answered": "yes"}),
                "settings.end_when_all_answered",
            ),
        ];
        for (mutate, want) in cases {
            let mut body = quiz();
            mutate(&mut body);
            assert_eq!(field_of(body.clone()), want, "{body}");
        }
    }

    #[test]
    fn boundaries_are_inclusive() {
        let mut body = quiz();
        body["title"] = json!("🦀".repeat(120));
        body["questions"][0]["time_limit_ms"] = json!(500);
        body["questions"][1]["time_limit_ms"] = json!(600_000);
        body["questions"][0]["points"] = json!(0);
        body["questions"][1]["points"] = json!(10_000);
        body["settings"] = json!({"max_players": 5000, "auto_advance_ms": 500});
        assert!(Quiz::parse(&body, 5000).is_ok());
    }
}
