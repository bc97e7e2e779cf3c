//! Settings read from the environment once at start; `.env.example` lists and explains each.

use std::net::SocketAddr;
use std::time::Duration;

use crate::priority::Wanted;

#[derive(Debug, Clone, thiserror::Error)]
#[error("{name}: {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub addr: SocketAddr,
    /// Admin routes answer 401 while this is unset.
    pub admin_token: Option<String>,
    pub tick: Duration,
    pub max_players_cap: u32,
    pub ws_max_frame_bytes: usize,
    pub ws_rate_per_s: f64,
    pub ws_rate_burst: f64,
    /// Frames queued for one socket before the client counts as too slow and is dropped.
    pub ws_send_queue: usize,
    pub ws_heartbeat: Duration,
    pub ws_client_timeout: Duration,
    /// How long an answer's write may be retried while the database is down before the answer
    /// is rejected as `unavailable`.
    pub answer_write_timeout: Duration,
    pub shutdown_timeout: Duration,
    pub max_body_bytes: usize,
    pub static_dir: String,
    pub log_format: LogFormat,
    /// How long a finished room stays in memory for late readers before only Postgres has it.
    pub finished_room_ttl: Duration,
    /// Database connections in the pool.
    pub db_pool_size: u32,
    /// A room nobody has used for this long is ended.
    pub room_idle_timeout: Duration,
    /// Whether the rooms' thread asks for real-time scheduling (see `priority`).
    pub rooms_thread_priority: Wanted,
}

impl Settings {
    pub fn from_env() -> Result<Settings, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `get`, so tests can pass their own values.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let database_url = get("DATABASE_URL")
            .filter(|v| !v.is_empty())
            .ok_or(ConfigError {
                name: "DATABASE_URL",
                problem: "is not set (e.g. postgres://postgres@127.0.0.1:5432/quizroom)".into(),
            })?;
        let log_format = one_of(
            &get,
            "LOG_FORMAT",
            &[("text", LogFormat::Text), ("json", LogFormat::Json)],
        )?;
        let rooms_thread_priority = one_of(
            &get,
            "ROOMS_THREAD_PRIORITY",
            &[("realtime", Wanted::Realtime), ("normal", Wanted::Normal)],
        )?;
        Ok(Settings {
            database_url,
            addr: parse_or(
                &get,
                "QUIZROOM_ADDR",
                "127.0.0.1:8080".parse().map_err(|_| ConfigError {
                    name: "QUIZROOM_ADDR",
                    problem: "bad default".into(),
                })?,
            )?,
            admin_token: get("ADMIN_TOKEN").filter(|v| !v.is_empty()),
            tick: Duration::from_millis(parse_in(&get, "TICK_MS", 1000, 50, 60_000)?),
            max_players_cap: parse_in(&get, "MAX_PLAYERS_CAP", 5000, 1, 1_000_000)? as u32,
            ws_max_frame_bytes: parse_in(&get, "WS_MAX_FRAME_BYTES", 4096, 256, 1 << 20)? as usize,
            ws_rate_per_s: parse_in(&get, "WS_RATE_PER_S", 20, 1, 100_000)? as f64,
            ws_rate_burst: parse_in(&get, "WS_RATE_BURST", 40, 1, 100_000)? as f64,
            ws_send_queue: parse_in(&get, "WS_SEND_QUEUE", 256, 8, 1 << 16)? as usize,
            ws_heartbeat: Duration::from_millis(parse_in(
                &get,
                "WS_HEARTBEAT_MS",
                5000,
                100,
                600_000,
            )?),
            ws_client_timeout: Duration::from_millis(parse_in(
                &get,
                "WS_CLIENT_TIMEOUT_MS",
                15_000,
                200,
                3_600_000,
            )?),
            answer_write_timeout: Duration::from_millis(parse_in(
                &get,
                "ANSWER_WRITE_TIMEOUT_MS",
                5000,
                100,
                600_000,
            )?),
            shutdown_timeout: Duration::from_millis(parse_in(
                &get,
                "SHUTDOWN_TIMEOUT_MS",
                10_000,
                100,
                600_000,
            )?),
            max_body_bytes: parse_in(&get, "MAX_BODY_BYTES", 2 * 1024 * 1024, 1024, 64 << 20)?
                as usize,
            static_dir: get("QUIZROOM_STATIC_DIR")
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "static".into()),
            log_format,
            finished_room_ttl: Duration::from_millis(parse_in(
                &get,
                "FINISHED_ROOM_TTL_MS",
                600_000,
                0,
                86_400_000,
            )?),
            db_pool_size: parse_in(&get, "DB_POOL_SIZE", 10, 1, 500)? as u32,
            room_idle_timeout: Duration::from_millis(parse_in(
                &get,
                "ROOM_IDLE_TIMEOUT_MS",
                6 * 3_600_000,
                1000,
                30 * 86_400_000,
            )?),
            rooms_thread_priority,
        })
    }
}

fn parse_or<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match get(name).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| ConfigError {
            name,
            problem: format!("cannot parse {v:?}"),
        }),
    }
}

/// One of a few named values; unset or empty is the first.
fn one_of<T: Copy>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    choices: &[(&str, T)],
) -> Result<T, ConfigError> {
    let Some(value) = get(name).filter(|v| !v.is_empty()) else {
        return Ok(choices[0].1);
    };
    choices
        .iter()
        .find(|(word, _)| *word == value)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let words: Vec<&str> = choices.iter().map(|(word, _)| *word).collect();
            ConfigError {
                name,
                problem: format!("must be {}, not {value:?}", words.join(" or ")),
            }
        })
}

fn parse_in(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    let v = parse_or(get, name, default)?;
    if (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(ConfigError {
            name,
            problem: format!("must be between {min} and {max}, not {v}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_follow_the_protocol() {
        let s = settings(&[("DATABASE_URL", "postgres://x/y")]).expect("valid");
        assert_eq!(s.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(s.tick, Duration::from_millis(1000));
        assert_eq!(s.max_players_cap, 5000);
        assert_eq!(s.ws_max_frame_bytes, 4096);
        assert_eq!((s.ws_rate_per_s, s.ws_rate_burst), (20.0, 40.0));
        assert_eq!(s.admin_token, None);
        assert_eq!(s.log_format, LogFormat::Text);
        assert_eq!(s.rooms_thread_priority, Wanted::Realtime);
    }

    #[test]
    fn bad_values_name_the_variable() {
        assert_eq!(
            settings(&[]).map_err(|e| e.name).err(),
            Some("DATABASE_URL")
        );
        let e = settings(&[("DATABASE_URL", "x"), ("TICK_MS", "abc")]).err();
        assert_eq!(e.map(|e| e.name), Some("TICK_MS"));
        let e = settings(&[("DATABASE_URL", "x"), ("LOG_FORMAT", "xml")]).err();
        assert_eq!(e.map(|e| e.name), Some("LOG_FORMAT"));
        let e = settings(&[("DATABASE_URL", "x"), ("MAX_PLAYERS_CAP", "0")]).err();
        assert_eq!(e.map(|e| e.name), Some("MAX_PLAYERS_CAP"));
        let e = settings(&[("DATABASE_URL", "x"), ("ROOMS_THREAD_PRIORITY", "high")]).err();
        assert_eq!(
            e.map(|e| e.to_string()).as_deref(),
            Some(r#"ROOMS_THREAD_PRIORITY: must be realtime or normal, not "high""#)
        );
        let s = settings(&[("DATABASE_URL", "x"), ("ROOMS_THREAD_PRIORITY", "normal")]);
        assert_eq!(
            s.map(|s| s.rooms_thread_priority).ok(),
            Some(Wanted::Normal)
        );
    }
}
