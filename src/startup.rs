//! Building and running the application: connect and migrate, restore rooms, bind the listener
//! (port 0 works, for tests), serve, and shut down gracefully.

use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{App, HttpServer, web};
use tokio::sync::watch;
use tracing_actix_web::TracingLogger;

use crate::config::Settings;
use crate::delivery::Delivery;
use crate::http::{self, AppState};
use crate::priority::{self, Deadlines, Outcome, Wanted};
use crate::rooms::{self, Registry, RoomDeps};
use crate::store::{Store, StoreError};

/// Pending connections the kernel may hold for the server (it caps this at `somaxconn`).
const LISTEN_BACKLOG: u32 = 4096;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot reach or prepare the database: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
}

pub struct Application {
    server: Server,
    port: u16,
    stopper: Stopper,
    rooms_thread: Outcome,
}

/// Stops the application gracefully: no new connections, sockets closed with 1012, the answer
/// writer flushed, then the server stopped, all within the shutdown timeout.
#[derive(Clone)]
pub struct Stopper {
    handle: ServerHandle,
    shutdown: Arc<watch::Sender<bool>>,
    store: Store,
    timeout: Duration,
}

impl Stopper {
    pub async fn stop(&self) {
        tracing::info!("shutting down: closing sockets and flushing writes");
        self.handle.pause().await;
        let _ = self.shutdown.send(true);
        let drain = async {
            // Let the sessions send their close frames before the workers stop.
            tokio::time::sleep(Duration::from_millis(100)).await;
            self.store.writer.flush().await;
        };
        if tokio::time::timeout(self.timeout, drain).await.is_err() {
            tracing::warn!("the writer did not flush within the shutdown timeout");
        }
        self.handle.stop(true).await;
    }
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        let store = Store::connect(
            &settings.database_url,
            settings.db_pool_size,
            settings.answer_write_timeout,
        )
        .await?;
        let settings = Arc::new(settings);
        let rooms_thread = actix::Arbiter::new().handle();
        let (rooms_thread_scheduling, deadlines) =
            schedule_rooms_thread(&rooms_thread, settings.rooms_thread_priority).await;
        let deps = RoomDeps {
            store: store.clone(),
            registry: Registry::default(),
            settings: settings.clone(),
            arbiter: rooms_thread.clone(),
            delivery: Delivery::start(&rooms_thread),
            deadlines,
        };
        let restored = rooms::recover(&deps).await?;
        if restored > 0 {
            tracing::info!(restored, "rooms restored after a restart");
        }
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let state = web::Data::new(AppState {
            deps,
            shutdown: shutdown_rx,
        });
        let static_dir = settings.static_dir.clone();
        let server = HttpServer::new(move || {
            let static_dir = static_dir.clone();
            App::new()
                .wrap(TracingLogger::default())
                .app_data(state.clone())
                .configure(move |cfg| http::routes(cfg, &static_dir))
        })
        // A hall full of phones joins at once: the default backlog of 128 made the kernel
        // drop connection attempts (each then waits a second to retry).
        .backlog(LISTEN_BACKLOG)
        // Frames are small and go out one after another (time_up, then reveal, leaderboard):
        // with Nagle a frame waits for the previous one's ACK. actix-http leaves it on.
        .tcp_nodelay(true)
        .bind(settings.addr)?
        .disable_signals()
        .shutdown_timeout(settings.shutdown_timeout.as_secs().max(1));
        let port = server.addrs().first().map_or(0, |a| a.port());
        let server = server.run();
        let stopper = Stopper {
            handle: server.handle(),
            shutdown: Arc::new(shutdown_tx),
            store,
            timeout: settings.shutdown_timeout,
        };
        Ok(Application {
            server,
            port,
            stopper,
            rooms_thread: rooms_thread_scheduling,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// How the rooms' thread is scheduled (`ROOMS_THREAD_PRIORITY`).
    pub fn rooms_thread(&self) -> &Outcome {
        &self.rooms_thread
    }

    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// Serves until the server is stopped.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    /// Serves until SIGTERM or SIGINT, then shuts down gracefully.
    pub async fn run_until_signal(self) -> std::io::Result<()> {
        let stopper = self.stopper.clone();
        actix_web::rt::spawn(async move {
            wait_for_signal().await;
            stopper.stop().await;
        });
        self.server.await
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Gives the rooms' thread the scheduling the settings ask for, and says what it got: where
/// real-time is allowed, a governor on that thread makes it real-time around the deadlines the
/// rooms register in the returned list.
async fn schedule_rooms_thread(
    thread: &actix::ArbiterHandle,
    wanted: Wanted,
) -> (Outcome, Deadlines) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    thread.spawn_fn(move || {
        let _ = tx.send(priority::probe_current_thread(wanted));
    });
    let outcome = rx.await.unwrap_or(Outcome {
        tid: None,
        realtime: false,
        refused: Some("the rooms' thread did not answer".into()),
    });
    let deadlines = match &outcome.refused {
        None if outcome.realtime => {
            let deadlines = Deadlines::watched();
            thread.spawn(priority::govern(deadlines.clone()));
            tracing::info!("the rooms' thread turns real-time (SCHED_FIFO 1) around deadlines");
            deadlines
        }
        None => {
            tracing::info!("the rooms' thread runs at normal priority, as configured");
            Deadlines::default()
        }
        Some(why) => {
            tracing::warn!(
                reason = %why,
                "the rooms' thread runs at normal priority: with the CPUs saturated, time-ups \
                 may be stamped late"
            );
            Deadlines::default()
        }
    };
    (outcome, deadlines)
}
