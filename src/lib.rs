//! quizroom: a backend for live multiplayer quiz games. Hosts create rooms over REST, players
//! answer over WebSocket, a server-side timer per question decides what is in time, and
//! Postgres keeps every answer with its server timestamps.
//!
//! Modules, from the rules outwards: `domain` (pure game rules), `rooms` (one actor per room),
//! `ws` (socket sessions), `http` (REST), `store` (all SQL), `protocol` (the wire format).

pub mod config;
pub mod delivery;
pub mod domain;
pub mod http;
pub mod metrics;
pub mod outbox;
pub mod priority;
pub mod protocol;
pub mod results;
pub mod rooms;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod tokens;
pub mod ws;
