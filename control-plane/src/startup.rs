//! Wiring: connect and migrate the database, bind the listener, serve until cancelled.
//!
//! `build` does everything that can fail before traffic is accepted, so a misconfigured
//! instance fails at start-up rather than on its first request (unreadable `http.tls` files
//! included). Port 0 is allowed: tests bind an ephemeral port and read it back with
//! [`Application::local_addr`].

mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use coffer_cloud::ObjectStore;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::command_retention::CommandRetention;
use crate::config::Settings;
use crate::http::{self, AppState};
use crate::msp_key::MspSigner;
use crate::platform::{Platform, Sweeper};
use crate::provisioning::{self, Engine};
use crate::service::{ControlPlane, OperationEvents};
use crate::snapshot_scheduler::SnapshotScheduler;
use crate::store;
use tls::TlsListener;

pub struct Application {
    listener: TcpListener,
    /// Set when `http.tls` is configured: the listener then serves HTTPS only.
    tls: Option<tokio_rustls::TlsAcceptor>,
    local_addr: SocketAddr,
    pool: PgPool,
    cp: ControlPlane,
    events: OperationEvents,
    settings: Settings,
    /// The provisioning engine, when `provisioning.enabled`.
    engine: Option<Engine>,
    platform: Platform,
    /// The orphan sweeper, when `platform.sweeper.enabled`.
    sweeper: Option<Sweeper>,
}

impl Application {
    /// Connects, migrates and binds. With `provisioning.enabled`, also builds the AWS client
    /// from `provisioning.aws` for the engine.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        // The orphan sweeper lists resources, and the audit-log API reads objects, through the
        // same AWS client.
        let for_engine = settings.provisioning.enabled || settings.platform.sweeper.enabled;
        let for_objects = settings.provisioning.enabled || settings.audit_logs.enabled;
        let aws = if for_engine || for_objects {
            let aws = provisioning::cloud::aws(&settings.provisioning.aws).await;
            Some(Arc::new(aws.with_tls_only_bucket_policy(settings.provisioning.tls_only_buckets)))
        } else {
            None
        };
        let cloud = aws.clone().filter(|_| for_engine).map(|a| a as Arc<dyn coffer_cloud::Cloud>);
        let objects = aws.filter(|_| for_objects).map(|a| a as Arc<dyn ObjectStore>);
        let mut app = Self::build_with_cloud(settings, cloud).await?;
        app.cp = app.cp.with_audit_logs(app.settings.audit_logs.clone(), objects);
        Ok(app)
    }

    /// Like [`build`](Self::build) with the engine's cloud supplied by the caller (any
    /// `Cloud` implementation); `None` or `provisioning.enabled = false` runs no engine.
    pub async fn build_with_cloud(
        mut settings: Settings,
        cloud: Option<Arc<dyn coffer_cloud::Cloud>>,
    ) -> anyhow::Result<Application> {
        let msp = Arc::new(MspSigner::load(&settings.msp)?);
        settings.provisioning.msp_public_key = Some(msp.public_key_b64().to_owned());
        let tls = settings.http.tls.as_ref().map(tls::acceptor).transpose()?;
        settings.provisioning.load_control_plane_ca()?;
        let pool =
            store::connect(&settings.database).await.context("connecting to the database")?;
        store::migrate(&pool).await.context("running database migrations")?;
        let listener = TcpListener::bind(settings.http.listen_addr)
            .await
            .with_context(|| format!("binding {}", settings.http.listen_addr))?;
        let local_addr = listener.local_addr().context("reading the bound address")?;
        let events = OperationEvents::default();
        let cp = ControlPlane::new(pool.clone(), settings.auth.clone(), events.clone())
            .context("configuring the control plane")?
            .with_node_settings(settings.nodes.clone())
            .with_snapshot_settings(settings.snapshots.clone());
        let metrics = Arc::default();
        let platform = Platform::new(
            pool.clone(),
            &settings.platform,
            settings.auth.password_hash,
            Arc::clone(&metrics),
        )
        .context("configuring platform operators")?
        .with_msp_signer(msp);
        let sweeper = match &cloud {
            Some(cloud) if settings.platform.sweeper.enabled => Some(Sweeper::new(
                pool.clone(),
                Arc::clone(cloud),
                &settings.platform.sweeper,
                metrics,
            )),
            _ => None,
        };
        let engine = match cloud {
            Some(cloud) if settings.provisioning.enabled => {
                Some(Engine::new(pool.clone(), cloud, settings.provisioning.clone()))
            }
            _ => None,
        };
        Ok(Application {
            listener,
            tls,
            local_addr,
            pool,
            cp,
            events,
            settings,
            engine,
            platform,
            sweeper,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The orphan sweeper (when `platform.sweeper.enabled`), e.g. for a test to run
    /// [`Sweeper::sweep_once`] while the periodic task also runs.
    pub fn sweeper(&self) -> Option<Sweeper> {
        self.sweeper.clone()
    }

    /// Serves until `shutdown` is cancelled, then drains in-flight requests (long polls return
    /// early) and stops the notification listener.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let listener_task = self
            .events
            .listen(&self.pool, shutdown.child_token())
            .await
            .context("starting the operation notification listener")?;
        let node_listener_task = self
            .cp
            .node_events()
            .listen(&self.pool, shutdown.child_token())
            .await
            .context("starting the node command notification listener")?;
        let scheduler_task = self.settings.snapshots.schedule.enabled.then(|| {
            let scheduler =
                SnapshotScheduler::new(self.cp.clone(), &self.settings.snapshots.schedule);
            tokio::spawn(scheduler.run(shutdown.child_token()))
        });
        let retention = &self.settings.nodes.retention;
        let retention_task = retention.enabled.then(|| {
            let task = CommandRetention::new(self.cp.clone(), retention.clone());
            tokio::spawn(task.run(shutdown.child_token()))
        });
        let state = Arc::new(AppState {
            cp: self.cp,
            shutdown: shutdown.clone(),
            // Served over TLS here, the cookie can only ever travel over TLS.
            secure_cookies: self.settings.http.secure_cookies || self.tls.is_some(),
            allowed_origins: self
                .settings
                .http
                .allowed_origins
                .iter()
                .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
            platform: self.platform,
        });
        let app = http::router(state, self.settings.http.body_limit_bytes);
        let engine_task = self.engine.map(|e| tokio::spawn(e.run(shutdown.child_token())));
        let sweeper_task = self.sweeper.map(|s| tokio::spawn(s.run(shutdown.child_token())));
        let stopped = shutdown.clone().cancelled_owned();
        let https = self.tls.is_some();
        tracing::info!(addr = %self.local_addr, https, "control plane listening");
        match self.tls {
            Some(acceptor) => {
                let listener = TlsListener::new(self.listener, acceptor)
                    .context("starting the TLS listener")?;
                axum::serve(listener, app).with_graceful_shutdown(stopped).await
            }
            None => axum::serve(self.listener, app).with_graceful_shutdown(stopped).await,
        }
        .context("serving HTTP")?;
        shutdown.cancel();
        if let Some(task) = engine_task {
            let _ = task.await;
        }
        if let Some(task) = sweeper_task {
            let _ = task.await;
        }
        if let Some(task) = scheduler_task {
            let _ = task.await;
        }
        if let Some(task) = retention_task {
            let _ = task.await;
        }
        let _ = listener_task.await;
        let _ = node_listener_task.await;
        self.pool.close().await;
        tracing::info!("control plane stopped");
        Ok(())
    }
}
