//! The command line: a small hand-written parser (`--flag value` or `--flag=value`) and the
//! help text that explains every flag.

use std::str::FromStr;

pub const HELP: &str = "\
quizload: plays real quizroom games over REST and WebSocket and measures the server.

R rooms x P players: creates the rooms, opens a host socket per room, joins every player,
starts all rooms at the same moment, lets every player answer every question, checks that
every acknowledged answer is in the results, and reports latencies, lateness and throughput.

USAGE:
    ulimit -n 20000    # first, in the same shell: one file descriptor per socket
    quizload --rooms R --players P [OPTIONS]

OPTIONS:
    --url URL                 the server, plain http [default: http://127.0.0.1:8080]
    --rooms R                 rooms played at the same time (required)
    --players P               players per room, one WebSocket each (required)
    --questions N             questions per game, 1-200 [default: 3]
    --time-limit-ms MS        time limit of every question, 500-600000 [default: 3000]
    --answer MODE             random: every player answers at a uniformly random moment
                              between the question's start and its deadline minus a guard
                              of max(50 ms, 5% of the time limit);
                              burst: every player of every room answers within
                              --burst-window-ms after one common instant
                              [default: random]
    --burst-window-ms MS      width of the burst [default: 200]
    --burst-offset-ms MS      start of the burst, after the question's start
                              [default: (time limit - window) / 2, the middle]
    --admin-token T           also check lost answers through the admin results route
                              (GET /api/admin/rooms/{id}/results)
    --server-pid PID          sample the server's RSS and CPU from /proc/PID every second
    --json                    print one JSON object on stdout instead of the table
    --connect-concurrency C   connects + joins in flight at once [default: 256]
    --seed S                  seed of the answer moments and choices [default: random; printed]
    -h, --help                this text

Progress goes to stderr once a second; results to stdout.
Exit status: 0 all good; 1 an answer was lost, a connection failed or dropped, or a room
did not finish; 2 bad arguments or environment (fd limit, server unreachable).

THE FLOOR (what the hardware gives, to compare quizroom with on the same day):
    quizload floor-server [--addr HOST:PORT]
        a bare tokio WebSocket server (4 KiB read buffer) that does nothing but send one
        small frame to every connected socket at shared deadlines [default: 127.0.0.1:8096]
    quizload floor --connections N [--url ws://HOST:PORT] [--rounds K] [--period-ms MS]
                   [--server-pid PID] [--connect-concurrency C] [--json]
        connects N sockets, has the floor server fire K deadlines MS apart [defaults: 10,
        3000], and reports lateness (receive time - deadline) and RSS per connection
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerMode {
    Random,
    Burst,
}

impl AnswerMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerMode::Random => "random",
            AnswerMode::Burst => "burst",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Args {
    /// Base URL without a trailing slash, `http://host:port`.
    pub url: String,
    pub rooms: usize,
    pub players: usize,
    pub questions: usize,
    pub time_limit_ms: u32,
    pub answer: AnswerMode,
    pub burst_window_ms: u32,
    pub burst_offset_ms: Option<u32>,
    pub admin_token: Option<String>,
    pub server_pid: Option<u32>,
    pub json: bool,
    pub connect_concurrency: usize,
    pub seed: Option<u64>,
}

impl Args {
    /// The WebSocket endpoint: `ws://host:port/ws`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.url.trim_start_matches("http://"))
    }

    /// When the burst starts, in ms after the question's start.
    pub fn burst_offset(&self) -> u32 {
        self.burst_offset_ms
            .unwrap_or(self.time_limit_ms.saturating_sub(self.burst_window_ms) / 2)
    }

    /// Sockets the tool holds at once: every player, one host per room, and about one pooled
    /// HTTP connection per room while the start and next requests go out together.
    pub fn sockets_needed(&self) -> usize {
        self.rooms * (self.players + 2)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Run(Args),
    Help,
    Floor(FloorArgs),
    FloorServer { addr: String },
}

/// `quizload floor`: the client side of the floor measurement (`floor.rs`).
#[derive(Debug, Clone, PartialEq)]
pub struct FloorArgs {
    /// `ws://host:port`
    pub url: String,
    pub connections: usize,
    pub rounds: u32,
    pub period_ms: u32,
    pub server_pid: Option<u32>,
    pub connect_concurrency: usize,
    pub json: bool,
}

/// `quizload floor ...` and `quizload floor-server ...`; `None` for the game run.
fn parse_floor(
    first: &str,
    it: &mut impl Iterator<Item = String>,
) -> Option<Result<Command, String>> {
    match first {
        "floor" => Some(parse_floor_client(it)),
        "floor-server" => Some(parse_floor_server(it)),
        _ => None,
    }
}

fn flag_and_inline(arg: String) -> (String, Option<String>) {
    match arg.split_once('=') {
        Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
        _ => (arg, None),
    }
}

fn parse_floor_server(it: &mut impl Iterator<Item = String>) -> Result<Command, String> {
    let mut addr = "127.0.0.1:8096".to_owned();
    while let Some(arg) = it.next() {
        let (flag, inline) = flag_and_inline(arg);
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--addr" => addr = value(&flag, inline, it)?,
            other => return Err(format!("floor-server: unknown argument {other:?}")),
        }
    }
    Ok(Command::FloorServer { addr })
}

fn parse_floor_client(it: &mut impl Iterator<Item = String>) -> Result<Command, String> {
    let mut a = FloorArgs {
        url: "ws://127.0.0.1:8096".to_owned(),
        connections: 0,
        rounds: 10,
        period_ms: 3000,
        server_pid: None,
        connect_concurrency: 100,
        json: false,
    };
    while let Some(arg) = it.next() {
        let (flag, inline) = flag_and_inline(arg);
        let flag = flag.as_str();
        match flag {
            "-h" | "--help" => return Ok(Command::Help),
            "--json" => a.json = true,
            "--url" => a.url = value(flag, inline, it)?.trim_end_matches('/').to_owned(),
            "--connections" => {
                a.connections = number(flag, &value(flag, inline, it)?, 1, 1_000_000)?
            }
            "--rounds" => a.rounds = number(flag, &value(flag, inline, it)?, 1, 1000)?,
            "--period-ms" => a.period_ms = number(flag, &value(flag, inline, it)?, 100, 600_000)?,
            "--server-pid" => {
                a.server_pid = Some(number(flag, &value(flag, inline, it)?, 1, u32::MAX)?)
            }
            "--connect-concurrency" => {
                a.connect_concurrency = number(flag, &value(flag, inline, it)?, 1, 100_000)?
            }
            other => return Err(format!("floor: unknown argument {other:?}")),
        }
    }
    if a.connections == 0 {
        return Err("floor: --connections is required".into());
    }
    if !a.url.starts_with("ws://") {
        return Err(format!(
            "floor: --url must be ws://host:port, not {:?}",
            a.url
        ));
    }
    Ok(Command::Floor(a))
}

pub fn parse(argv: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut it = argv.into_iter().peekable();
    if let Some(first) = it.peek().cloned()
        && let Some(floor) = parse_floor(&first, &mut it.by_ref().skip(1))
    {
        return floor;
    }
    let mut url = "http://127.0.0.1:8080".to_owned();
    let (mut rooms, mut players): (Option<usize>, Option<usize>) = (None, None);
    let mut questions = 3;
    let mut time_limit_ms = 3000;
    let mut answer = AnswerMode::Random;
    let mut burst_window_ms = 200;
    let mut burst_offset_ms = None;
    let mut admin_token = None;
    let mut server_pid = None;
    let mut json = false;
    let mut connect_concurrency = 256;
    let mut seed = None;

    while let Some(arg) = it.next() {
        let (flag, inline) = flag_and_inline(arg);
        let flag = flag.as_str();
        match flag {
            "-h" | "--help" => return Ok(Command::Help),
            "--json" => {
                if inline.is_some() {
                    return Err("--json takes no value".into());
                }
                json = true;
            }
            "--url" => url = value(flag, inline, &mut it)?,
            "--rooms" => rooms = Some(number(flag, &value(flag, inline, &mut it)?, 1, 100_000)?),
            "--players" => {
                players = Some(number(flag, &value(flag, inline, &mut it)?, 1, 1_000_000)?)
            }
            "--questions" => questions = number(flag, &value(flag, inline, &mut it)?, 1, 200)?,
            "--time-limit-ms" => {
                time_limit_ms = number(flag, &value(flag, inline, &mut it)?, 500, 600_000)?
            }
            "--answer" => {
                answer = match value(flag, inline, &mut it)?.as_str() {
                    "random" => AnswerMode::Random,
                    "burst" => AnswerMode::Burst,
                    other => {
                        return Err(format!("--answer must be random or burst, not {other:?}"));
                    }
                }
            }
            "--burst-window-ms" => {
                burst_window_ms = number(flag, &value(flag, inline, &mut it)?, 1, 600_000)?
            }
            "--burst-offset-ms" => {
                burst_offset_ms = Some(number(flag, &value(flag, inline, &mut it)?, 0, 600_000)?)
            }
            "--admin-token" => {
                admin_token = Some(value(flag, inline, &mut it)?).filter(|t| !t.is_empty())
            }
            "--server-pid" => {
                server_pid = Some(number(flag, &value(flag, inline, &mut it)?, 1, u32::MAX)?)
            }
            "--connect-concurrency" => {
                connect_concurrency = number(flag, &value(flag, inline, &mut it)?, 1, 100_000)?
            }
            "--seed" => seed = Some(number(flag, &value(flag, inline, &mut it)?, 0, u64::MAX)?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }

    let rooms = rooms.ok_or("--rooms is required")?;
    let players = players.ok_or("--players is required")?;
    let url = url.trim_end_matches('/').to_owned();
    let host = url
        .strip_prefix("http://")
        .ok_or("--url must start with http:// (no TLS)")?;
    if host.is_empty() || host.contains('/') {
        return Err(format!("--url must be http://host:port, not {url:?}"));
    }
    if rooms.saturating_mul(players) > 1_000_000 {
        return Err("rooms x players must be at most 1,000,000".into());
    }
    if answer == AnswerMode::Burst {
        if burst_window_ms >= time_limit_ms {
            return Err("--burst-window-ms must be shorter than --time-limit-ms".into());
        }
        if let Some(offset) = burst_offset_ms
            && offset + burst_window_ms >= time_limit_ms
        {
            return Err(
                "--burst-offset-ms + --burst-window-ms must end before the time limit".into(),
            );
        }
    }
    Ok(Command::Run(Args {
        url,
        rooms,
        players,
        questions,
        time_limit_ms,
        answer,
        burst_window_ms,
        burst_offset_ms,
        admin_token,
        server_pid,
        json,
        connect_concurrency,
        seed,
    }))
}

/// The flag's value: after `=`, or the next argument.
fn value(
    flag: &str,
    inline: Option<String>,
    rest: &mut impl Iterator<Item = String>,
) -> Result<String, String> {
    inline
        .or_else(|| rest.next())
        .ok_or_else(|| format!("{flag} needs a value"))
}

fn number<T: FromStr + PartialOrd + std::fmt::Display>(
    flag: &str,
    text: &str,
    min: T,
    max: T,
) -> Result<T, String> {
    let v: T = text
        .trim()
        .parse()
        .map_err(|_| format!("{flag}: {text:?} is not a number"))?;
    if v < min || v > max {
        return Err(format!("{flag} must be between {min} and {max}, not {v}"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Args, String> {
        match parse(args.iter().map(|s| s.to_string()))? {
            Command::Run(a) => Ok(a),
            other => Err(format!("not a game run: {other:?}")),
        }
    }

    #[test]
    fn defaults() {
        let a = run(&["--rooms", "2", "--players", "20"]).unwrap();
        assert_eq!(a.url, "http://127.0.0.1:8080");
        assert_eq!(a.ws_url(), "ws://127.0.0.1:8080/ws");
        assert_eq!(
            (a.rooms, a.players, a.questions, a.time_limit_ms),
            (2, 20, 3, 3000)
        );
        assert_eq!(a.answer, AnswerMode::Random);
        assert_eq!(
            (a.burst_window_ms, a.burst_offset_ms, a.burst_offset()),
            (200, None, 1400)
        );
        assert_eq!(
            (a.admin_token.as_deref(), a.server_pid, a.json, a.seed),
            (None, None, false, None)
        );
        assert_eq!(a.connect_concurrency, 256);
        assert_eq!(a.sockets_needed(), 44);
    }

    #[test]
    fn every_flag_in_both_forms() {
        let a = run(&[
            "--url=http://localhost:8095/",
            "--rooms=10",
            "--players",
            "10",
            "--questions",
            "5",
            "--time-limit-ms=2000",
            "--answer",
            "burst",
            "--burst-window-ms",
            "100",
            "--burst-offset-ms=500",
            "--admin-token",
            "s3cret=x",
            "--server-pid=1234",
            "--json",
            "--connect-concurrency",
            "64",
            "--seed=42",
        ])
        .unwrap();
        assert_eq!(a.url, "http://localhost:8095");
        assert_eq!(a.ws_url(), "ws://localhost:8095/ws");
        assert_eq!(
            (a.rooms, a.players, a.questions, a.time_limit_ms),
            (10, 10, 5, 2000)
        );
        assert_eq!(a.answer, AnswerMode::Burst);
        assert_eq!((a.burst_window_ms, a.burst_offset()), (100, 500));
        assert_eq!(a.admin_token.as_deref(), Some("s3cret=x"));
        assert_eq!(
            (a.server_pid, a.json, a.connect_concurrency, a.seed),
            (Some(1234), true, 64, Some(42))
        );
    }

    #[test]
    fn help_and_errors_are_read_in_order() {
        assert_eq!(
            parse(["--rooms", "x", "--help"].map(String::from)),
            Err("--rooms: \"x\" is not a number".into())
        );
        assert_eq!(parse(["--help"].map(String::from)), Ok(Command::Help));
        assert_eq!(
            parse(["--rooms", "1", "-h"].map(String::from)),
            Ok(Command::Help)
        );
    }

    #[test]
    fn errors_name_the_flag() {
        assert_eq!(run(&["--players", "1"]), Err("--rooms is required".into()));
        assert_eq!(run(&["--rooms", "1"]), Err("--players is required".into()));
        assert_eq!(
            run(&["--rooms", "1", "--players"]),
            Err("--players needs a value".into())
        );
        assert_eq!(
            run(&["--rooms", "0", "--players", "1"]),
            Err("--rooms must be between 1 and 100000, not 0".into())
        );
        assert_eq!(
            run(&["--rooms", "-3", "--players", "1"]),
            Err("--rooms: \"-3\" is not a number".into())
        );
        assert_eq!(
            run(&["--rooms", "1", "--players", "1", "--bogus"]),
            Err("unknown argument \"--bogus\"".into())
        );
        assert_eq!(
            run(&["--rooms", "1", "--players", "1", "extra"]),
            Err("unknown argument \"extra\"".into())
        );
        assert_eq!(
            run(&["--rooms", "1", "--players", "1", "--json=yes"]),
            Err("--json takes no value".into())
        );
        assert_eq!(
            run(&["--rooms", "1", "--players", "1", "--time-limit-ms", "100"]),
            Err("--time-limit-ms must be between 500 and 600000, not 100".into())
        );
        assert_eq!(
            run(&["--rooms", "1", "--players", "1", "--answer", "all"]),
            Err("--answer must be random or burst, not \"all\"".into())
        );
        assert!(run(&["--rooms", "1", "--players", "1", "--url", "https://x:1"]).is_err());
        assert!(run(&["--rooms", "1", "--players", "1", "--url", "http://x:1/api"]).is_err());
        assert!(run(&["--rooms", "1000", "--players", "2000"]).is_err());
    }

    #[test]
    fn burst_must_fit_in_the_time_limit() {
        let base = [
            "--rooms",
            "1",
            "--players",
            "1",
            "--answer",
            "burst",
            "--time-limit-ms",
            "1000",
        ];
        assert!(run(&base).is_ok());
        let mut long = base.to_vec();
        long.extend(["--burst-window-ms", "1000"]);
        assert!(run(&long).is_err());
        let mut late = base.to_vec();
        late.extend(["--burst-offset-ms", "900"]);
        assert!(run(&late).is_err());
        // A random run ignores the burst flags.
        assert!(
            run(&[
                "--rooms",
                "1",
                "--players",
                "1",
                "--time-limit-ms",
                "500",
                "--burst-window-ms",
                "900"
            ])
            .is_ok()
        );
    }

    #[test]
    fn floor_commands() {
        assert_eq!(
            parse(["floor-server"].map(String::from)),
            Ok(Command::FloorServer {
                addr: "127.0.0.1:8096".into()
            })
        );
        assert_eq!(
            parse(["floor-server", "--addr=0.0.0.0:9"].map(String::from)),
            Ok(Command::FloorServer {
                addr: "0.0.0.0:9".into()
            })
        );
        assert_eq!(
            parse(
                [
                    "floor",
                    "--connections",
                    "1000",
                    "--url",
                    "ws://127.0.0.1:9/",
                    "--rounds=5",
                    "--period-ms",
                    "2000",
                    "--server-pid",
                    "7",
                    "--json",
                ]
                .map(String::from)
            ),
            Ok(Command::Floor(FloorArgs {
                url: "ws://127.0.0.1:9".into(),
                connections: 1000,
                rounds: 5,
                period_ms: 2000,
                server_pid: Some(7),
                connect_concurrency: 100,
                json: true,
            }))
        );
        assert_eq!(
            parse(["floor"].map(String::from)),
            Err("floor: --connections is required".into())
        );
        assert_eq!(
            parse(["floor", "--connections", "1", "--url", "http://x:1"].map(String::from)),
            Err("floor: --url must be ws://host:port, not \"http://x:1\"".into())
        );
        assert_eq!(
            parse(["floor", "--rooms", "1"].map(String::from)),
            Err("floor: unknown argument \"--rooms\"".into())
        );
        // The game run still reads its first flag.
        assert!(matches!(
            parse(["--rooms", "1", "--players", "2"].map(String::from)),
            Ok(Command::Run(_))
        ));
    }
}
