//! Test harness: one fresh database and one running application per test, plus typed helpers
//! for the calls most tests need (sign up, log in, add a member of a given role, create a
//! service principal and exchange its secret, create a cluster).
//!
//! Every request goes through [`TestApp::send`], which returns a [`Resp`] holding the status,
//! headers and the body both as text and parsed JSON, so assertions can print the body on failure.

use coffer_control_plane::config::Settings;
use coffer_control_plane::startup::Application;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::logs;

/// A password that satisfies the policy; every helper-created user has it.
pub const PASSWORD: &str = "correct-horse-battery-staple";

pub struct TestApp {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub address: String,
    pub client: reqwest::Client,
    /// Direct access to this test's database, for checks the API cannot express.
    pub db: PgPool,
    /// This test's database name on the `COFFER_TEST_DATABASE_URL` server.
    pub db_name: String,
    shutdown: CancellationToken,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    /// Asks the application to stop and waits for `run_until_stopped` to return.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        match self.server.take() {
            Some(server) => server.await.expect("server task panicked"),
            None => Ok(()),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A signed-up, logged-in user.
#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub email: String,
    pub password: String,
    pub token: String,
    /// The org created by this user's signup (they own it).
    pub own_org: String,
}

/// A service principal as returned by its creation.
#[derive(Clone, Debug)]
pub struct Sp {
    pub id: String,
    pub client_id: String,
    pub client_secret: String,
}

/// A finished HTTP exchange.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    /// Parsed body, `Value::Null` when empty or not JSON.
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status and returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text);
        &self.body
    }

    /// Asserts the status and the error model `{"error":{code,message,request_id}}`, with the
    /// request id matching the `x-request-id` response header. Returns the message.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text);
        let err = &self.body["error"];
        assert_eq!(err["code"], code, "wrong error code; body: {}", self.text);
        let message = err["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "error without message: {}", self.text);
        let request_id = err["request_id"].as_str().unwrap_or_default();
        assert!(!request_id.is_empty(), "error without request_id: {}", self.text);
        assert_eq!(
            Some(request_id),
            self.header("x-request-id"),
            "error.request_id must echo the x-request-id header"
        );
        message.to_owned()
    }
}

/// Starts the application on a fresh database and a free port.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], with a chance to adjust the settings first.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    logs::init();
    let (url, db_name) = fresh_database().await;
    let mut settings = Settings::local(SecretString::from(url.clone()));
    configure(&mut settings);
    let app = Application::build(settings).await.expect("build the application");
    let address = format!("http://{}", app.local_addr());
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));

    let db = PgPoolOptions::new().max_connections(2).connect_lazy(&url).expect("test pool");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client");
    TestApp { address, client, db, db_name, shutdown, server: Some(server) }
}

/// The admin URL of the test PostgreSQL server (`COFFER_TEST_DATABASE_URL`), and the same URL
/// naming another database.
pub use coffer_test_support::pg::{admin_url, with_database};

/// Creates an empty database named `coffer_test_<uuid>` on the server named by
/// `COFFER_TEST_DATABASE_URL`; returns its URL and name.
pub async fn fresh_database() -> (String, String) {
    let db = coffer_test_support::pg::fresh_database(&admin_url()).await;
    (db.url, db.name)
}

/// A unique, valid email address.
pub fn unique_email() -> String {
    format!("user-{}@example.com", Uuid::new_v4().simple())
}

/// A unique, valid cluster name (DNS label, starts with a letter, <= 32 chars).
pub fn unique_name(prefix: &str) -> String {
    let id = Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..8])
}

/// A minimal valid cluster creation body.
pub fn cluster_body(name: &str) -> Value {
    json!({"name": name, "tier": "dev", "size": "small", "region": "us-east-1"})
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Sends `method path` with an optional bearer token and JSON body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Resp {
        let mut req = self.client.request(method, self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        Self::finish(req).await
    }

    /// Sends a prepared request and collects the response.
    pub async fn finish(req: reqwest::RequestBuilder) -> Resp {
        let resp = req.send().await.expect("request failed");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("read body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp { status, headers, text, body }
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.send(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.send(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.send(Method::PATCH, path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.send(Method::DELETE, path, Some(token), None).await
    }

    pub async fn signup(&self, email: &str, password: &str, org_name: &str) -> Resp {
        let body = json!({"email": email, "password": password, "org_name": org_name});
        self.send(Method::POST, "/v1/signup", None, Some(&body)).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Resp {
        let body = json!({"email": email, "password": password});
        self.send(Method::POST, "/v1/login", None, Some(&body)).await
    }

    /// Logs in and returns the bearer token.
    pub async fn login_token(&self, email: &str, password: &str) -> String {
        let resp = self.login(email, password).await;
        str_field(resp.expect(200), "access_token")
    }

    /// Signs up a new user with their own org, then logs them in.
    pub async fn new_user(&self) -> User {
        let email = unique_email();
        let resp = self.signup(&email, PASSWORD, &unique_name("org")).await;
        let body = resp.expect(201);
        let id = str_field(&body["user"], "id");
        let own_org = str_field(&body["org"], "id");
        let token = self.login_token(&email, PASSWORD).await;
        User { id, email, password: PASSWORD.to_owned(), token, own_org }
    }

    /// Adds `user` to `org` with `role` (as `admin_token`), expecting an active member.
    pub async fn add_existing(
        &self,
        org: &str,
        admin_token: &str,
        user: &User,
        role: &str,
    ) -> Value {
        let body = json!({"email": user.email, "role": role});
        let resp = self.post(&format!("/v1/orgs/{org}/members"), admin_token, &body).await;
        let member = resp.expect(201).clone();
        assert_eq!(member["status"], "active", "existing user must be active: {member}");
        member
    }

    /// A new logged-in user who is a member of `org` with `role`.
    pub async fn add_member(&self, org: &str, admin_token: &str, role: &str) -> User {
        let user = self.new_user().await;
        self.add_existing(org, admin_token, &user, role).await;
        user
    }

    /// Creates a service principal and returns its credentials.
    pub async fn create_sp(&self, org: &str, token: &str, role: &str) -> Sp {
        let body = json!({"name": unique_name("sp"), "role": role});
        let resp = self.post(&format!("/v1/orgs/{org}/service-principals"), token, &body).await;
        let body = resp.expect(201);
        let sp = &body["service_principal"];
        Sp {
            id: str_field(sp, "id"),
            client_id: str_field(sp, "client_id"),
            client_secret: str_field(body, "client_secret"),
        }
    }

    /// `POST /oauth/token` with a form body.
    pub async fn oauth_token(&self, form: &[(&str, &str)]) -> Resp {
        Self::finish(self.client.post(self.url("/oauth/token")).form(form)).await
    }

    /// Exchanges a service principal's credentials for a bearer token.
    pub async fn sp_token(&self, sp: &Sp) -> String {
        let resp = self
            .oauth_token(&[
                ("grant_type", "client_credentials"),
                ("client_id", &sp.client_id),
                ("client_secret", &sp.client_secret),
            ])
            .await;
        str_field(resp.expect(200), "access_token")
    }

    /// Creates a cluster; returns `(cluster, operation)`.
    pub async fn create_cluster(&self, org: &str, token: &str, name: &str) -> (Value, Value) {
        let resp = self.post(&format!("/v1/orgs/{org}/clusters"), token, &cluster_body(name)).await;
        let body = resp.expect(202);
        (body["cluster"].clone(), body["operation"].clone())
    }
}

/// A string field of a JSON object, panicking with the object on absence.
#[track_caller]
pub fn str_field(value: &Value, field: &str) -> String {
    match value[field].as_str() {
        Some(s) => s.to_owned(),
        None => panic!("missing string field {field:?} in {value}"),
    }
}

/// Moves every unexpired credential's expiry into the past, whatever table holds it (any
/// public table with an `expires_at` column), as if an hour had passed. Returns rows changed.
pub async fn expire_all_tokens(app: &TestApp) -> u64 {
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT table_name::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND column_name = 'expires_at'",
    )
    .fetch_all(&app.db)
    .await
    .expect("list tables");
    let mut changed = 0;
    for (table,) in tables {
        let sql = format!(
            r#"UPDATE "{table}" SET expires_at = now() - interval '1 hour' WHERE expires_at > now()"#
        );
        changed += sqlx::query(&sql).execute(&app.db).await.expect("expire rows").rows_affected();
    }
    changed
}

/// Ends an operation the way the (future) provisioning engine will: by updating its row, from
/// outside the API. Wakes long-polls through the database's change notification.
pub async fn finish_operation(db: impl sqlx::PgExecutor<'_>, op_id: &str, state: &str) {
    let id: Uuid = op_id.parse().expect("operation id is a uuid");
    let changed = sqlx::query(
        "UPDATE operations SET state = $2, finished_at = now(), updated_at = now(), \
         error_code = CASE WHEN $2 = 'failed' THEN 'test_failure' END, \
         error_message = CASE WHEN $2 = 'failed' THEN 'failed by the test' END \
         WHERE id = $1",
    )
    .bind(id)
    .bind(state)
    .execute(db)
    .await
    .expect("finish operation")
    .rows_affected();
    assert_eq!(changed, 1, "operation {op_id} not found");
}

/// Opens a transaction holding an exclusive lock on `table`: any request that reads the table
/// blocks until the transaction ends. Lets a test hold a request at a known point.
pub async fn lock_table(app: &TestApp, table: &str) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = app.db.begin().await.expect("begin");
    sqlx::query(&format!(r#"LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE"#))
        .execute(&mut *tx)
        .await
        .expect("lock table");
    tx
}

/// Polls `pg_locks` until another session of this database waits for a lock on `table`.
pub async fn until_blocked_on(app: &TestApp, table: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (waiting,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
             WHERE c.relname = $1 AND NOT l.granted \
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .bind(table)
        .fetch_one(&app.db)
        .await
        .expect("query pg_locks");
        if waiting > 0 {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "no request ever waited for {table}");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// Percent-encodes a page token for a query string (tokens may be base64 with `+/=`).
pub fn percent_encode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
