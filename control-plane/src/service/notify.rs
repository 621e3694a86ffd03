//! Fan-out of Postgres notifications (operation changes here, node-channel events in
//! `node_channel::events`) to in-process waiters.
//!
//! One `LISTEN` connection per process and channel feeds a broadcast channel; every waiter
//! subscribes and filters (an operation `wait` for its operation id, node-channel waiters for
//! their node or command: see `node_channel::events`). Database triggers emit the
//! notifications, so changes made by any replica or by the provisioning engine wake waiters
//! everywhere.

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Channel name used by the `notify_operation_changed` trigger.
pub const CHANNEL: &str = "coffer_operation_changed";

/// Sent after the listener reconnects: notifications may have been lost, so every waiter
/// re-reads its operation.
pub const WAKE_ALL: Uuid = Uuid::nil();

/// What one notification channel carries: its name, how a payload parses, and the event that
/// tells every waiter to re-read (sent when notifications may have been lost).
pub trait Notification: Clone + Send + 'static {
    const CHANNEL: &'static str;
    const WAKE_ALL: Self;
    fn parse(payload: &str) -> Option<Self>;
}

/// Operation changes: the payload is the operation id.
impl Notification for Uuid {
    const CHANNEL: &'static str = CHANNEL;
    const WAKE_ALL: Self = WAKE_ALL;
    fn parse(payload: &str) -> Option<Self> {
        Uuid::parse_str(payload).ok()
    }
}

/// The in-process side of one channel: waiters subscribe and filter for what they await.
#[derive(Clone)]
pub struct Notifications<E> {
    tx: broadcast::Sender<E>,
}

pub type OperationEvents = Notifications<Uuid>;

impl<E: Clone> Default for Notifications<E> {
    fn default() -> Self {
        // Waiters that fall further behind than this re-read (Lagged), so the size only
        // trades memory for spurious re-reads.
        let (tx, _) = broadcast::channel(1024);
        Self { tx }
    }
}

impl<E: Notification> Notifications<E> {
    pub fn subscribe(&self) -> broadcast::Receiver<E> {
        self.tx.subscribe()
    }

    /// Starts listening; returns once `LISTEN` is active so no later change is missed.
    pub async fn listen(
        &self,
        pool: &PgPool,
        shutdown: CancellationToken,
    ) -> Result<tokio::task::JoinHandle<()>, sqlx::Error> {
        pump(pool, E::CHANNEL, self.tx.clone(), E::parse, E::WAKE_ALL, shutdown).await
    }
}

/// Feeds one Postgres notification channel into a broadcast channel: each payload `parse`
/// accepts is sent on; after a lost connection (which `try_recv` re-establishes) or an error,
/// `wake_all` is sent, since notifications may have been missed. Returns once `LISTEN` is
/// active, so no later change is missed; the task ends with `shutdown`.
async fn pump<E: Clone + Send + 'static>(
    pool: &PgPool,
    channel: &'static str,
    tx: broadcast::Sender<E>,
    parse: fn(&str) -> Option<E>,
    wake_all: E,
    shutdown: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(channel).await?;
    Ok(tokio::spawn(async move {
        loop {
            let next = tokio::select! {
                () = shutdown.cancelled() => return,
                n = listener.try_recv() => n,
            };
            match next {
                Ok(Some(n)) => {
                    if let Some(event) = parse(n.payload()) {
                        // No receivers is fine: nobody is waiting.
                        let _ = tx.send(event);
                    }
                }
                // Connection lost; the next try_recv reconnects and re-LISTENs.
                Ok(None) => {
                    let _ = tx.send(wake_all.clone());
                }
                Err(e) => {
                    tracing::warn!(error = %e, channel, "notification listener error; retrying");
                    let _ = tx.send(wake_all.clone());
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                    }
                }
            }
        }
    }))
}
