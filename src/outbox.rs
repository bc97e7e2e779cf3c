//! The handle to one socket that the delivery task (`src/delivery.rs`) writes through; it never
//! blocks. Text frames go straight into the socket's actix-ws queue (32 frames) without waking
//! the session task: that hop per frame per player is most of what a broadcast costs. When that
//! queue is full (a burst, a host screen taking a thousand joins), frames overflow into a second
//! bounded queue (`WS_SEND_QUEUE`) that the session task drains, and until it is empty every
//! frame takes that path, so order is kept. When both are full the client does not keep up and
//! is dropped.
//! Closes always go through the session task, which owns the socket's end.
//!
//! The overflow queue is a `futures-channel` one: it allocates per queued frame, not a block of
//! slots up front, and almost every socket never uses it (a tokio channel cost 1.5 KiB per
//! player, a tenth of the memory budget).

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytestring::ByteString;
use futures_channel::mpsc;
use futures_util::Sink;

use crate::protocol::Outbound;

enum Direct {
    Full(ByteString),
    Closed,
}

/// Why a frame could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The socket's queue is full: the client is too slow.
    Full,
    /// The socket is gone.
    Closed,
}

pub struct ConnTx {
    session: actix_ws::Session,
    /// To the session task: overflowing frames, and closes.
    queue: mpsc::Sender<Outbound>,
    /// Frames in `queue` the session task has not yet handed to the socket.
    backlog: Arc<AtomicUsize>,
}

impl ConnTx {
    pub fn new(
        session: actix_ws::Session,
        queue: mpsc::Sender<Outbound>,
        backlog: Arc<AtomicUsize>,
    ) -> Self {
        ConnTx {
            session,
            queue,
            backlog,
        }
    }

    fn enqueue(&mut self, out: Outbound) -> Result<(), SendError> {
        self.queue.try_send(out).map_err(|e| {
            if e.is_full() {
                SendError::Full
            } else {
                SendError::Closed
            }
        })
    }

    /// Queues a frame or a close without waiting.
    pub fn try_send(&mut self, out: Outbound) -> Result<(), SendError> {
        match out {
            Outbound::Text(text) => {
                if self.backlog.load(Ordering::Acquire) == 0 {
                    match self.try_direct(text) {
                        Ok(()) => return Ok(()),
                        Err(Direct::Closed) => return Err(SendError::Closed),
                        Err(Direct::Full(text)) => return self.overflow(text),
                    }
                }
                self.overflow(text)
            }
            Outbound::Close(..) => self.enqueue(out),
        }
    }

    fn overflow(&mut self, text: ByteString) -> Result<(), SendError> {
        self.backlog.fetch_add(1, Ordering::AcqRel);
        let sent = self.enqueue(Outbound::Text(text));
        if sent.is_err() {
            self.backlog.fetch_sub(1, Ordering::AcqRel);
        }
        sent
    }

    /// Into the socket's own queue, if it has room.
    fn try_direct(&mut self, text: ByteString) -> Result<(), Direct> {
        // Only a permit is asked for here; the no-op waker is never woken for anything the room
        // waits on (a full queue is an answer, not something to wait for). `unconstrained`:
        // tokio's cooperative budget (128 operations per task poll) would otherwise make the
        // 129th socket of a broadcast look full.
        let mut cx = Context::from_waker(Waker::noop());
        let ready = {
            let session = &mut self.session;
            let mut permit = pin!(tokio::task::unconstrained(poll_fn(|cx| {
                Pin::new(&mut *session).poll_ready(cx)
            })));
            permit.as_mut().poll(&mut cx)
        };
        match ready {
            Poll::Ready(Ok(())) => Pin::new(&mut self.session)
                .start_send(actix_ws::Message::Text(text))
                .map_err(|_| Direct::Closed),
            Poll::Ready(Err(_)) => Err(Direct::Closed),
            Poll::Pending => Err(Direct::Full(text)),
        }
    }
}
