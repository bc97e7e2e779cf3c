//! Property tests over the public parsing API: client frames (PROTOCOL.md rule 2), quizzes
//! (the REST limits and rule 8's `field` paths) and nicknames (rule 8). Nothing here may panic,
//! and every accepted value must satisfy the protocol's invariants.

use proptest::prelude::*;
use quizroom::domain::{Nickname, Quiz};
use quizroom::protocol::{ClientMessage, FrameError};
use serde_json::{Map, Number, Value, json};

const CASES: u32 = 384;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        ..ProptestConfig::default()
    }
}

// ----- JSON generators -----------------------------------------------------------------------

/// Keys the parsers look at, mixed with arbitrary ones so that objects sometimes carry the
/// right field names.
const KEYS: &[&str] = &[
    "type",
    "code",
    "nickname",
    "player_token",
    "host_token",
    "question",
    "choice",
    "client_time",
    "title",
    "questions",
    "prompt",
    "choices",
    "correct",
    "time_limit_ms",
    "points",
    "settings",
    "max_players",
    "auto_advance_ms",
    "end_when_all_answered",
];

const TYPES: &[&str] = &["join", "resume", "host", "answer", "ping", "leave"];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(KEYS).prop_map(str::to_owned),
        1 => ".{0,8}",
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        (-10i64..10).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (i64::MAX as u64..=u64::MAX).prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        (-10i32..10).prop_map(|i| json!(f64::from(i) + 0.5)),
    ]
}

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(TYPES).prop_map(str::to_owned),
        "[a-z_]{0,10}",
        "\\PC{0,12}",
        any::<String>(),
        "[ \t\n\u{3000}\u{a0}]{0,3}[a-zA-Z0-9]{0,5}[ \t\n\u{3000}\u{a0}]{0,3}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        string().prop_map(Value::String),
    ]
}

/// Arbitrary nested JSON: up to 4 levels, objects keyed mostly by names the parsers know.
fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

// ----- client frames (rule 2) ----------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Ok,
    InvalidJson,
    InvalidMessage,
    UnknownType,
}

fn verdict(r: &Result<ClientMessage, FrameError>) -> Verdict {
    match r {
        Ok(_) => Verdict::Ok,
        Err(FrameError::InvalidJson) => Verdict::InvalidJson,
        Err(FrameError::InvalidMessage(_)) => Verdict::InvalidMessage,
        Err(FrameError::UnknownType(_)) => Verdict::UnknownType,
    }
}

/// What rule 2 says a parsed JSON value is: not an object, no `type` or a `type` that is not a
/// string, or a field of the wrong type is invalid_message; a string `type` that names no
/// message is unknown_type. `question`/`choice` must be JSON integers (rule 21); `client_time`
/// is an optional number; `leave` has no fields.
fn expected(v: &Value) -> Verdict {
    let Some(obj) = v.as_object() else {
        return Verdict::InvalidMessage;
    };
    let Some(Value::String(kind)) = obj.get("type") else {
        return Verdict::InvalidMessage;
    };
    let is_string = |f: &str| matches!(obj.get(f), Some(Value::String(_)));
    let is_integer = |f: &str| obj.get(f).is_some_and(|v| v.is_i64() || v.is_u64());
    let ok = match kind.as_str() {
        "join" => is_string("code") && is_string("nickname"),
        "resume" => is_string("code") && is_string("player_token"),
        "host" => is_string("code") && is_string("host_token"),
        "answer" => is_integer("question") && is_integer("choice"),
        "ping" => matches!(
            obj.get("client_time"),
            None | Some(Value::Null | Value::Number(_))
        ),
        "leave" => true,
        _ => return Verdict::UnknownType,
    };
    if ok {
        Verdict::Ok
    } else {
        Verdict::InvalidMessage
    }
}

/// The parsed message carries the frame's values.
fn check_fields(v: &Value, msg: &ClientMessage) -> Result<(), TestCaseError> {
    let s = |f: &str| v[f].as_str().map(str::to_owned);
    let int = |f: &str| v[f].as_i64().or_else(|| v[f].as_u64().map(|_| i64::MAX));
    match msg {
        ClientMessage::Join { code, nickname } => {
            prop_assert_eq!(v["type"].as_str(), Some("join"));
            prop_assert_eq!(Some(code.clone()), s("code"));
            prop_assert_eq!(Some(nickname.clone()), s("nickname"));
        }
        ClientMessage::Resume { code, player_token } => {
            prop_assert_eq!(v["type"].as_str(), Some("resume"));
            prop_assert_eq!(Some(code.clone()), s("code"));
            prop_assert_eq!(Some(player_token.clone()), s("player_token"));
        }
        ClientMessage::Host { code, host_token } => {
            prop_assert_eq!(v["type"].as_str(), Some("host"));
            prop_assert_eq!(Some(code.clone()), s("code"));
            prop_assert_eq!(Some(host_token.clone()), s("host_token"));
        }
        ClientMessage::Answer { question, choice } => {
            prop_assert_eq!(v["type"].as_str(), Some("answer"));
            prop_assert_eq!(Some(*question), int("question"));
            prop_assert_eq!(Some(*choice), int("choice"));
        }
        ClientMessage::Ping { client_time } => {
            prop_assert_eq!(v["type"].as_str(), Some("ping"));
            prop_assert_eq!(client_time, &v["client_time"]);
        }
        ClientMessage::Leave => prop_assert_eq!(v["type"].as_str(), Some("leave")),
    }
    Ok(())
}

fn check_frame(v: &Value, text: &str) -> Result<(), TestCaseError> {
    let got = ClientMessage::parse(text);
    prop_assert_eq!(verdict(&got), expected(v), "frame {}: {:?}", text, got);
    if let Ok(msg) = &got {
        // Fields are compared with the frame as JSON reads it back: serde_json's float parsing
        // may differ from the generated f64 in the last bit.
        let read_back: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        check_fields(&read_back, msg)?;
    }
    if let Err(FrameError::UnknownType(t)) = &got {
        prop_assert!(t.chars().count() <= 40, "the echoed type is truncated");
        prop_assert!(
            v["type"]
                .as_str()
                .is_some_and(|full| full.starts_with(t.as_str()))
        );
    }
    Ok(())
}

/// A value shaped like a client message: a `type` (known or not, sometimes not a string) and
/// each known field either right, wrong, or missing. Hits every branch of the parser often.
fn message_like() -> impl Strategy<Value = Value> {
    let kind = prop_oneof![
        4 => proptest::sample::select(TYPES).prop_map(Value::from),
        1 => string().prop_map(Value::from),
        1 => leaf(),
    ];
    let string_field = prop_oneof![
        3 => string().prop_map(Value::from),
        1 => json_value(),
    ];
    let int_field = prop_oneof![
        3 => prop_oneof![any::<i64>().prop_map(Value::from), any::<u64>().prop_map(Value::from)],
        1 => number(),
        1 => json_value(),
    ];
    // Strings first, then numbers (`client_time` is a number).
    let fields = [
        "code",
        "nickname",
        "player_token",
        "host_token",
        "client_time",
        "question",
        "choice",
    ];
    (
        proptest::option::weighted(0.9, kind),
        proptest::collection::vec(proptest::option::weighted(0.8, string_field), 4),
        proptest::collection::vec(proptest::option::weighted(0.8, int_field), 3),
        proptest::collection::btree_map("[a-z]{1,6}", leaf(), 0..3),
    )
        .prop_map(move |(kind, strings, ints, extra)| {
            let mut obj: Map<String, Value> = extra.into_iter().collect();
            if let Some(kind) = kind {
                obj.insert("type".into(), kind);
            }
            let values = strings.into_iter().chain(ints);
            for (name, value) in fields.iter().zip(values) {
                if let Some(value) = value {
                    obj.insert((*name).into(), value);
                }
            }
            Value::Object(obj)
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn frame_parse_never_panics_on_arbitrary_text(text in any::<String>()) {
        let got = ClientMessage::parse(&text);
        match serde_json::from_str::<Value>(&text) {
            Err(_) => prop_assert_eq!(verdict(&got), Verdict::InvalidJson),
            Ok(v) => prop_assert_eq!(verdict(&got), expected(&v)),
        }
    }

    #[test]
    fn frame_parse_never_panics_on_json_like_text(
        text in r#"[{}\[\]":,0-9a-z _.eE+\-\\]{0,60}"#,
    ) {
        let got = ClientMessage::parse(&text);
        match serde_json::from_str::<Value>(&text) {
            Err(_) => prop_assert_eq!(verdict(&got), Verdict::InvalidJson),
            Ok(v) => prop_assert_eq!(verdict(&got), expected(&v)),
        }
    }

    #[test]
    fn frame_verdict_follows_rule_2_for_arbitrary_json(v in json_value()) {
        let text = serde_json::to_string(&v).expect("serializable");
        check_frame(&v, &text)?;
        let pretty = serde_json::to_string_pretty(&v).expect("serializable");
        check_frame(&v, &format!(" \n{pretty}\t "))?;
    }

    #[test]
    fn frame_verdict_follows_rule_2_for_message_like_objects(v in message_like()) {
        check_frame(&v, &serde_json::to_string(&v).expect("serializable"))?;
    }

    #[test]
    fn non_object_json_is_invalid_message(
        v in prop_oneof![leaf(), proptest::collection::vec(json_value(), 0..5).prop_map(Value::Array)],
    ) {
        let got = ClientMessage::parse(&serde_json::to_string(&v).expect("serializable"));
        prop_assert!(matches!(got, Err(FrameError::InvalidMessage(_))), "{:?}", got);
    }

    #[test]
    fn an_unknown_string_type_is_unknown_type_whatever_the_other_fields(
        kind in string().prop_filter("unknown", |t| !TYPES.contains(&t.as_str())),
        mut v in message_like(),
    ) {
        v["type"] = Value::String(kind);
        let got = ClientMessage::parse(&serde_json::to_string(&v).expect("serializable"));
        prop_assert!(matches!(got, Err(FrameError::UnknownType(_))), "{:?}", got);
    }

    #[test]
    fn a_type_that_is_not_a_string_is_invalid_message(kind in json_value().prop_filter("not a string", |t| !t.is_string())) {
        let v = json!({"type": kind, "code": "123456", "nickname": "ann"});
        let got = ClientMessage::parse(&serde_json::to_string(&v).expect("serializable"));
        prop_assert!(matches!(got, Err(FrameError::InvalidMessage(_))), "{:?}", got);
    }

    #[test]
    fn answer_integers_of_any_size_parse_and_non_integers_do_not(
        q in any::<i64>(),
        c in any::<u64>(),
        f in any::<f64>().prop_filter("finite", |f| f.is_finite()),
    ) {
        let ok = ClientMessage::parse(&json!({"type": "answer", "question": q, "choice": c}).to_string());
        let c_i64 = i64::try_from(c).unwrap_or(i64::MAX);
        prop_assert_eq!(ok, Ok(ClientMessage::Answer { question: q, choice: c_i64 }));
        let float = ClientMessage::parse(&json!({"type": "answer", "question": q, "choice": f}).to_string());
        prop_assert!(matches!(float, Err(FrameError::InvalidMessage(_))), "{:?}", float);
    }

    #[test]
    fn deeply_nested_frames_never_panic(depth in 0usize..3000, object in any::<bool>()) {
        let (open, close) = if object { (r#"{"type":"ping","client_time":"#, "}") } else { ("[", "]") };
        let text = format!("{}0{}", open.repeat(depth), close.repeat(depth));
        let got = ClientMessage::parse(&text);
        prop_assert!(
            matches!(got, Ok(_) | Err(FrameError::InvalidJson | FrameError::InvalidMessage(_))),
            "{:?}",
            got
        );
    }
}

// ----- quizzes -------------------------------------------------------------------------------

/// A path segment of a `QuizError::field`.
#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// Parses `questions[2].choices[1]` into segments; `""` is the root.
fn segments(path: &str) -> Option<Vec<Seg>> {
    let mut out = Vec::new();
    if path.is_empty() {
        return Some(out);
    }
    for part in path.split('.') {
        let (name, mut rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
        if name.is_empty() {
            return None;
        }
        out.push(Seg::Key(name.to_owned()));
        while !rest.is_empty() {
            let (n, after) = rest.split_once(']')?;
            out.push(Seg::Index(n.parse().ok()?));
            rest = after.strip_prefix('[').unwrap_or(after);
            if !after.is_empty() && !after.starts_with('[') {
                return None;
            }
        }
    }
    Some(out)
}

fn resolve<'a>(root: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    path.iter().try_fold(root, |v, seg| match seg {
        Seg::Key(k) => v.as_object()?.get(k),
        Seg::Index(i) => v.as_array()?.get(*i),
    })
}

/// Rule 8: `field` names a value in the input, or a missing key of a value that exists.
fn check_field_path(input: &Value, field: &str) -> Result<(), TestCaseError> {
    let segs = segments(field);
    prop_assert!(segs.is_some(), "field {:?} is not a path", field);
    let segs = segs.unwrap_or_default();
    let here = resolve(input, &segs);
    let parent = segs
        .split_last()
        .and_then(|(_, parent)| resolve(input, parent));
    prop_assert!(
        here.is_some() || parent.is_some(),
        "field {:?} is not in {}",
        field,
        input
    );
    Ok(())
}

fn is_trimmed_within(s: &str, max: usize) -> bool {
    s.trim() == s && (1..=max).contains(&s.chars().count())
}

fn check_quiz_invariants(input: &Value, cap: u32, q: &Quiz) -> Result<(), TestCaseError> {
    prop_assert!(is_trimmed_within(&q.title, 120), "title {:?}", q.title);
    prop_assert_eq!(
        Some(q.title.as_str()),
        input["title"].as_str().map(str::trim)
    );
    prop_assert!((1..=200).contains(&q.questions.len()));
    prop_assert_eq!(
        Some(q.questions.len()),
        input["questions"].as_array().map(Vec::len)
    );
    for (i, question) in q.questions.iter().enumerate() {
        let raw = &input["questions"][i];
        prop_assert!(
            is_trimmed_within(&question.prompt, 500),
            "prompt {:?}",
            question.prompt
        );
        prop_assert!((2..=6).contains(&question.choices.len()));
        for c in &question.choices {
            prop_assert!(is_trimmed_within(c, 120), "choice {:?}", c);
        }
        prop_assert!(question.correct < question.choices.len());
        prop_assert_eq!(raw["correct"].as_u64(), Some(question.correct as u64));
        prop_assert!((500..=600_000).contains(&question.time_limit_ms));
        prop_assert!(question.points <= 10_000);
        if raw["time_limit_ms"].is_null() {
            prop_assert_eq!(question.time_limit_ms, 20_000);
        }
        if raw["points"].is_null() {
            prop_assert_eq!(question.points, 1_000);
        }
    }
    let s = &q.settings;
    prop_assert!(
        (1..=cap).contains(&s.max_players),
        "max_players {} cap {}",
        s.max_players,
        cap
    );
    if input["settings"]["max_players"].is_null() {
        prop_assert_eq!(s.max_players, cap.min(1000));
    }
    prop_assert!(
        s.auto_advance_ms
            .is_none_or(|a| (500..=600_000).contains(&a))
    );
    Ok(())
}

/// Text that is usually fine (padded), sometimes blank, around its length limit or no string.
fn text_around(max: usize) -> impl Strategy<Value = Value> {
    prop_oneof![
        40 => "[ \u{3000}]{0,2}[a-zA-Zé🦀][a-zA-Zé🦀 ]{0,10}[ \t]{0,2}".prop_map(Value::from),
        1 => "[ \t\n]{0,3}".prop_map(Value::from),
        2 => (max - 1..=max + 1).prop_map(|n| Value::from("ü".repeat(n))),
        1 => leaf(),
    ]
}

/// An integer usually within `lo..=hi`, sometimes just outside it, absent, or no integer.
fn int_around(lo: i64, hi: i64) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        40 => (lo..=hi).prop_map(|n| Some(Value::from(n))),
        1 => (lo - 2..=lo).prop_map(|n| Some(Value::from(n))),
        1 => (hi..=hi + 2).prop_map(|n| Some(Value::from(n))),
        2 => Just(None),
        1 => Just(Some(Value::Null)),
        1 => leaf().prop_map(Some),
    ]
}

/// A required field: rarely missing.
fn present(v: impl Strategy<Value = Value>) -> impl Strategy<Value = Option<Value>> {
    proptest::option::weighted(0.98, v)
}

fn object(fields: Vec<(&'static str, Option<Value>)>) -> Value {
    Value::Object(
        fields
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_owned(), v?)))
            .collect(),
    )
}

fn quiz_question() -> impl Strategy<Value = Value> {
    let choices = prop_oneof![
        40 => proptest::collection::vec(text_around(120), 2..=6).prop_map(Value::Array),
        1 => proptest::collection::vec(text_around(120), 0..=1).prop_map(Value::Array),
        1 => proptest::collection::vec(text_around(120), 7..=8).prop_map(Value::Array),
        1 => json_value(),
    ];
    (
        present(text_around(500)),
        present(choices),
        int_around(0, 1),
        int_around(500, 600_000),
        int_around(0, 10_000),
    )
        .prop_map(|(prompt, choices, correct, time_limit_ms, points)| {
            object(vec![
                ("prompt", prompt),
                ("choices", choices),
                ("correct", correct),
                ("time_limit_ms", time_limit_ms),
                ("points", points),
            ])
        })
}

/// A value shaped like a quiz, close enough to valid that a fair share is accepted.
fn quiz_like() -> impl Strategy<Value = Value> {
    let questions = prop_oneof![
        40 => proptest::collection::vec(quiz_question(), 1..4).prop_map(Value::Array),
        1 => Just(json!([])),
        1 => json_value(),
    ];
    let settings = prop_oneof![
        20 => (int_around(1, 1000), int_around(500, 600_000), proptest::option::of(leaf()))
            .prop_map(|(m, a, e)| {
                let e = e.map(|e| if e.is_string() { Value::Bool(true) } else { e });
                object(vec![("max_players", m), ("auto_advance_ms", a), ("end_when_all_answered", e)])
            }),
        2 => Just(Value::Null),
        1 => json_value(),
    ];
    (
        present(text_around(120)),
        present(questions),
        proptest::option::of(settings),
    )
        .prop_map(|(t, q, s)| object(vec![("title", t), ("questions", q), ("settings", s)]))
}

/// A quiz that must be accepted, with `n` questions.
fn valid_quiz(max_questions: usize) -> impl Strategy<Value = Value> {
    let question =
        (2usize..=6, 0usize..6, 500u32..=600_000, 0u32..=10_000).prop_map(|(n, correct, t, p)| {
            json!({
                "prompt": " Which one? ",
                "choices": (0..n).map(|i| format!("choice {i}")).collect::<Vec<_>>(),
                "correct": correct % n,
                "time_limit_ms": t,
                "points": p,
            })
        });
    (
        proptest::collection::vec(question, 1..=max_questions),
        1u32..=1000,
    )
        .prop_map(
            |(qs, m)| json!({"title": "Valid", "questions": qs, "settings": {"max_players": m}}),
        )
}

/// Breaks exactly one value of a valid quiz and says which path the error must name.
fn corrupt(quiz: &mut Value, which: usize, pick: usize, cap: u32) -> String {
    let n = quiz["questions"].as_array().map_or(0, Vec::len);
    let i = pick % n;
    let choices = quiz["questions"][i]["choices"]
        .as_array()
        .map_or(0, Vec::len);
    let j = pick % choices;
    let q = format!("questions[{i}]");
    let (path, value) = match which % 16 {
        0 => ("title".to_owned(), json!(" \t ")),
        1 => ("title".to_owned(), json!("x".repeat(121))),
        2 => ("title".to_owned(), json!(12)),
        3 => (format!("{q}.prompt"), json!("p".repeat(501))),
        4 => (format!("{q}.choices"), json!(["only one"])),
        5 => (
            format!("{q}.choices"),
            json!(["a", "b", "c", "d", "e", "f", "g"]),
        ),
        6 => (format!("{q}.choices[{j}]"), json!("\u{3000}")),
        7 => (format!("{q}.choices[{j}]"), json!(["nested"])),
        8 => (format!("{q}.correct"), json!(choices)),
        9 => (format!("{q}.correct"), json!(-1)),
        10 => (format!("{q}.correct"), json!(0.5)),
        11 => (format!("{q}.time_limit_ms"), json!(499)),
        12 => (format!("{q}.points"), json!(10_001)),
        13 => ("settings.max_players".to_owned(), json!(u64::from(cap) + 1)),
        14 => ("settings.auto_advance_ms".to_owned(), json!(600_001)),
        _ => ("settings.end_when_all_answered".to_owned(), json!("yes")),
    };
    let segs = segments(&path).unwrap_or_default();
    let mut slot = &mut *quiz;
    for seg in &segs {
        slot = match seg {
            Seg::Key(k) => &mut slot[k.as_str()],
            Seg::Index(i) => &mut slot[*i],
        };
    }
    *slot = value;
    path
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn quiz_parse_never_panics_on_arbitrary_json(v in json_value(), cap in 1u32..=5000) {
        match Quiz::parse(&v, cap) {
            Ok(q) => check_quiz_invariants(&v, cap, &q)?,
            Err(e) => check_field_path(&v, &e.field)?,
        }
    }

    #[test]
    fn quiz_parse_accepts_only_quizzes_within_the_limits(v in quiz_like(), cap in 1u32..=5000) {
        match Quiz::parse(&v, cap) {
            Ok(q) => check_quiz_invariants(&v, cap, &q)?,
            Err(e) => {
                check_field_path(&v, &e.field)?;
                prop_assert!(!e.message.is_empty());
            }
        }
    }

    #[test]
    fn quiz_parse_accepts_every_valid_quiz(v in valid_quiz(5), cap in 1000u32..=5000) {
        let q = Quiz::parse(&v, cap);
        prop_assert!(q.is_ok(), "{:?}", q);
        if let Ok(q) = q {
            check_quiz_invariants(&v, cap, &q)?;
        }
    }

    #[test]
    fn quiz_error_names_the_one_broken_value(
        mut v in valid_quiz(4),
        which in 0usize..16,
        pick in any::<usize>(),
        cap in 1000u32..=5000,
    ) {
        let path = corrupt(&mut v, which, pick, cap);
        let got = Quiz::parse(&v, cap);
        prop_assert_eq!(got.map_err(|e| e.field), Err(path), "{}", v);
    }

    #[test]
    fn quiz_question_count_is_1_to_200(n in prop_oneof![0usize..3, 198usize..203]) {
        let one = json!({"prompt": "p", "choices": ["a", "b"], "correct": 0});
        let v = json!({"title": "t", "questions": vec![one; n]});
        let got = Quiz::parse(&v, 5000);
        if (1..=200).contains(&n) {
            prop_assert_eq!(got.map(|q| q.questions.len()), Ok(n));
        } else {
            prop_assert_eq!(got.map_err(|e| e.field), Err("questions".to_owned()));
        }
    }
}

// ----- nicknames (rule 8) --------------------------------------------------------------------

fn forbidden(c: char) -> bool {
    c.is_control()
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

fn nickname_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{0,30}",
        // padded names around the length limit, sometimes with a forbidden character
        (
            "[ \t\n\u{a0}\u{3000}\u{85}]{0,3}",
            "[a-zA-Zéß🦀日本 ]{0,26}",
            proptest::option::of(proptest::sample::select(vec![
                '\u{0}', '\u{7}', '\u{1b}', '\u{7f}', '\u{85}', '\u{9f}', '\u{202a}', '\u{202e}',
                '\u{2066}', '\u{2069}', '\u{200f}', '\u{200d}',
            ])),
            "[ \t\n\u{a0}\u{3000}]{0,3}",
        )
            .prop_map(|(pre, body, bad, post)| {
                let mut s = pre;
                let half = body.chars().count() / 2;
                s.extend(body.chars().take(half));
                s.extend(bad);
                s.extend(body.chars().skip(half));
                s + &post
            }),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn nickname_parse_accepts_exactly_the_rule_8_names(raw in nickname_text()) {
        let trimmed = raw.trim();
        let should_accept = !trimmed.is_empty()
            && trimmed.chars().count() <= 24
            && !trimmed.chars().any(forbidden);
        match Nickname::parse(&raw) {
            Ok(n) => {
                let s = n.as_str();
                prop_assert!(should_accept, "accepted {:?}", raw);
                prop_assert_eq!(s, trimmed);
                prop_assert!(is_trimmed_within(s, 24), "{:?}", s);
                prop_assert!(!s.chars().any(forbidden), "{:?}", s);
                prop_assert_eq!(n.key(), s.to_lowercase());
                let again = Nickname::parse(s).map(|m| m.as_str().to_owned());
                prop_assert_eq!(again, Ok(s.to_owned()), "a valid nickname parses to itself");
            }
            Err(e) => prop_assert!(!should_accept, "refused {:?}: {}", raw, e),
        }
    }

    #[test]
    fn nickname_keys_ignore_case(raw in "[a-zA-ZéÉöÖ]{1,24}") {
        let lower = Nickname::parse(&raw.to_lowercase()).map(|n| n.key());
        let upper = Nickname::parse(&raw.to_uppercase()).map(|n| n.key());
        prop_assert_eq!(lower, upper);
    }
}
