//! Delivery of the rooms' frames to their sockets: one task on the rooms' thread that owns
//! every socket's [`ConnTx`]. A room decides what to say, serializes it and queues it here;
//! handing each frame to its socket (and waking that socket's HTTP worker) is most of what a
//! broadcast costs, and it now runs after the rooms that were ready at the same moment.
//!
//! So when a thousand rooms reach their deadlines together, each one stamps and locks when its
//! timer fires, instead of after the rooms before it have sent everything (stamp first, then
//! fan out). Between chunks of frames the task yields, which lets the thread look at its timers
//! again: a deadline never waits for a whole backlog of frames.
//!
//! Jobs run in the order they were queued, so every socket gets a room's frames in the order the
//! room sent them, and `time_up` reaches every player of a room before its `reveal`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix::ArbiterHandle;
use bytestring::ByteString;
use tokio::sync::mpsc;

use crate::outbox::{ConnTx, SendError};
use crate::protocol::Outbound;
use crate::rooms::ConnId;

/// How many frames the task hands over before it lets the thread's timers and rooms run.
const FRAMES_PER_TURN: usize = 64;

/// Tells a room that one of its sockets could not take a frame and has been let go.
pub type Undeliverable = Arc<dyn Fn(ConnId, SendError) + Send + Sync>;

enum Job {
    Attach {
        conn: ConnId,
        tx: ConnTx,
        undeliverable: Undeliverable,
    },
    Detach(ConnId),
    One(ConnId, Outbound),
    /// One frame, serialized once, for many sockets.
    Same(Vec<ConnId>, ByteString),
    /// A frame of its own for each socket.
    Each(Vec<(ConnId, ByteString)>),
}

/// The rooms' handle to the delivery task. Cheap to clone; queuing never blocks.
#[derive(Clone)]
pub struct Delivery {
    jobs: mpsc::UnboundedSender<Job>,
    /// How many sockets the task writes to, kept by the task.
    sockets: Arc<AtomicUsize>,
}

struct Outlet {
    tx: ConnTx,
    undeliverable: Undeliverable,
}

impl Delivery {
    /// Starts the delivery task on the rooms' thread. It ends once every handle is dropped.
    pub fn start(rooms_thread: &ArbiterHandle) -> Delivery {
        let (jobs, rx) = mpsc::unbounded_channel();
        let sockets = Arc::new(AtomicUsize::new(0));
        rooms_thread.spawn(run(rx, sockets.clone()));
        Delivery { jobs, sockets }
    }

    /// How many sockets of all rooms the task writes to: a broadcast to all of them is the
    /// most work one moment can bring.
    pub fn sockets(&self) -> usize {
        self.sockets.load(Ordering::Relaxed)
    }

    fn queue(&self, job: Job) {
        // Only fails once the task is gone, which happens when the server stops.
        let _ = self.jobs.send(job);
    }

    /// From now on `conn`'s frames go to `tx`; a failure is reported through `undeliverable`.
    pub fn attach(&self, conn: ConnId, tx: ConnTx, undeliverable: Undeliverable) {
        self.queue(Job::Attach {
            conn,
            tx,
            undeliverable,
        });
    }

    /// Lets go of a socket once every frame queued before has been handed over; its session
    /// task then sees its queue end.
    pub fn detach(&self, conn: ConnId) {
        self.queue(Job::Detach(conn));
    }

    pub fn send(&self, conn: ConnId, out: Outbound) {
        self.queue(Job::One(conn, out));
    }

    pub fn send_same(&self, conns: Vec<ConnId>, text: ByteString) {
        if !conns.is_empty() {
            self.queue(Job::Same(conns, text));
        }
    }

    pub fn send_each(&self, frames: Vec<(ConnId, ByteString)>) {
        if !frames.is_empty() {
            self.queue(Job::Each(frames));
        }
    }
}

struct Outlets {
    by_conn: HashMap<ConnId, Outlet>,
    /// `by_conn.len()`, for the rooms (`Delivery::sockets`).
    count: Arc<AtomicUsize>,
    /// Frames handed over since the task last yielded.
    this_turn: usize,
}

async fn run(mut jobs: mpsc::UnboundedReceiver<Job>, count: Arc<AtomicUsize>) {
    let mut outlets = Outlets {
        by_conn: HashMap::new(),
        count,
        this_turn: 0,
    };
    while let Some(job) = jobs.recv().await {
        match job {
            Job::Attach {
                conn,
                tx,
                undeliverable,
            } => outlets.insert(conn, Outlet { tx, undeliverable }),
            Job::Detach(conn) => {
                outlets.remove(conn);
            }
            Job::One(conn, out) => outlets.deliver(conn, out).await,
            Job::Same(conns, text) => {
                for conn in conns {
                    outlets.deliver(conn, Outbound::Text(text.clone())).await;
                }
            }
            Job::Each(frames) => {
                for (conn, text) in frames {
                    outlets.deliver(conn, Outbound::Text(text)).await;
                }
            }
        }
    }
}

impl Outlets {
    fn insert(&mut self, conn: ConnId, outlet: Outlet) {
        self.by_conn.insert(conn, outlet);
        self.count.store(self.by_conn.len(), Ordering::Relaxed);
    }

    fn remove(&mut self, conn: ConnId) -> Option<Outlet> {
        let outlet = self.by_conn.remove(&conn);
        self.count.store(self.by_conn.len(), Ordering::Relaxed);
        outlet
    }

    /// Hands one frame to a socket. A socket that cannot take it is let go at once, so that it
    /// never receives a later frame after missing one; its room is told.
    async fn deliver(&mut self, conn: ConnId, out: Outbound) {
        let Some(outlet) = self.by_conn.get_mut(&conn) else {
            return;
        };
        if let Err(e) = outlet.tx.try_send(out)
            && let Some(outlet) = self.remove(conn)
        {
            (outlet.undeliverable)(conn, e);
        }
        self.this_turn += 1;
        if self.this_turn >= FRAMES_PER_TURN {
            self.this_turn = 0;
            // Back of the queue: timers that are due fire, and rooms that are ready run, before
            // the next chunk.
            tokio::task::yield_now().await;
        }
    }
}
