//! Rooms in memory: one actix actor per room, the registry from code to actor, creating rooms
//! and bringing unfinished ones back after a restart.

mod messages;
mod recovery;
mod registry;
mod room;

use std::sync::Arc;

use actix::{Actor, Addr, ArbiterHandle, AsyncContext};
use uuid::Uuid;

pub use messages::*;
pub use recovery::recover;
pub use registry::Registry;
pub use room::{Room, now_ms};

use crate::config::Settings;
use crate::delivery::Delivery;
use crate::domain::{Game, Quiz};
use crate::priority::Deadlines;
use crate::store::{NewRoom, Store, StoreError};
use crate::tokens;

/// A room just created, with the host token that is shown only this once.
pub struct CreatedRoom {
    pub room_id: Uuid,
    pub code: String,
    pub host_token: String,
}

/// Everything a room needs from the server around it.
#[derive(Clone)]
pub struct RoomDeps {
    pub store: Store,
    pub registry: Registry,
    pub settings: Arc<Settings>,
    /// The thread every room actor runs on. Rooms do little work per event (judge, queue
    /// frames), so one thread carries thousands; keeping them off the HTTP workers, which
    /// write every frame to its socket, keeps their timers on time when sockets are busy.
    pub arbiter: ArbiterHandle,
    /// Hands the rooms' frames to their sockets, off the rooms' thread.
    pub delivery: Delivery,
    /// Every deadline a room arms, so that the rooms' thread can be real-time around them.
    pub deadlines: Deadlines,
}

impl RoomDeps {
    /// Starts a room's actor on the rooms' thread.
    pub fn start(&self, id: Uuid, code: String, host_token_hash: String, game: Game) -> Addr<Room> {
        let deps = self.clone();
        Room::start_in_arbiter(&self.arbiter, move |ctx| {
            Room::new(id, code, host_token_hash, game, &deps, ctx.address())
        })
    }
}

/// Stores a new room under a fresh code and starts its actor.
pub async fn create_room(deps: &RoomDeps, quiz: Quiz) -> Result<CreatedRoom, StoreError> {
    let room_id = Uuid::new_v4();
    let host_token = tokens::new_token();
    let host_token_hash = tokens::hash_token(&host_token);
    let created_at = now_ms();
    let mut attempts = 0;
    let code = loop {
        attempts += 1;
        let code = tokens::new_room_code();
        if deps.registry.contains(&code) {
            continue;
        }
        let room = NewRoom {
            id: room_id,
            code: &code,
            host_token_hash: &host_token_hash,
            quiz: &quiz,
            created_at,
        };
        match deps.store.create_room(room).await {
            Ok(()) => break code,
            // The database knows a live room with that code that memory does not (yet):
            // draw again. A million codes make a long run of these impossible in practice.
            Err(StoreError::CodeTaken) if attempts < 50 => continue,
            Err(e) => return Err(e),
        }
    };
    let game = Game::new(quiz);
    let addr = deps.start(room_id, code.clone(), host_token_hash, game);
    deps.registry.insert(code.clone(), room_id, addr);
    tracing::info!(room_code = %code, %room_id, "room created");
    Ok(CreatedRoom {
        room_id,
        code,
        host_token,
    })
}
