//! WebSocket sessions (actix-ws): one task per socket that reads and stamps frames, enforces the
//! frame and rate limits and the heartbeat, and relays between the socket and its room.

mod rate;
mod session;

pub use session::ws_route;
