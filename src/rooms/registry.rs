//! The map from room code to the room's actor, shared by every HTTP worker and session.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use actix::Addr;
use uuid::Uuid;

use super::room::Room;

/// A room's id (codes are reused, ids never) and its actor.
type Entry = (Uuid, Addr<Room>);

/// Rooms in memory: live ones, and finished ones for a while after their end.
#[derive(Clone, Default)]
pub struct Registry {
    rooms: Arc<RwLock<HashMap<String, Entry>>>,
}

impl Registry {
    pub fn get(&self, code: &str) -> Option<Addr<Room>> {
        let rooms = self.rooms.read().unwrap_or_else(|e| e.into_inner());
        rooms.get(code).map(|(_, addr)| addr.clone())
    }

    pub fn contains(&self, code: &str) -> bool {
        self.rooms
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(code)
    }

    pub fn insert(&self, code: String, id: Uuid, addr: Addr<Room>) {
        self.rooms
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(code, (id, addr));
    }

    /// Removes the room with this id, and never a newer room that reuses its code.
    pub fn remove(&self, code: &str, id: Uuid) {
        let mut rooms = self.rooms.write().unwrap_or_else(|e| e.into_inner());
        if rooms.get(code).is_some_and(|(room_id, _)| *room_id == id) {
            rooms.remove(code);
        }
    }

    pub fn all(&self) -> Vec<Addr<Room>> {
        self.rooms
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(|(_, a)| a.clone())
            .collect()
    }

    pub fn len(&self) -> usize {
        self.rooms.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
