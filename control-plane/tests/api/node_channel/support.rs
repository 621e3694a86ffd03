//! Simulated nodes: register through the real endpoint with a join token inserted the way the
//! provisioning engine does, then poll, answer and heartbeat over HTTP like the agent.

use coffer_control_plane::config::{AuthSettings, PasswordHashSettings};
use coffer_control_plane::platform::{Platform, PlatformSettings};
use coffer_control_plane::service::{hash_token, ControlPlane, OperationEvents};
use coffer_node_api::commands::{CommandBatch, CommandBody, CommandResult, NodeCommand};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::helpers::{str_field, unique_email, Resp, TestApp, PASSWORD};

/// A registered node and its credential.
#[derive(Clone, Debug)]
pub struct Node {
    pub cluster_id: Uuid,
    pub credential: String,
}

/// Registers a node into slot `index` of `cluster_id` through `POST /v1/nodes/register`.
pub async fn register_node(app: &TestApp, cluster_id: &str, index: u32) -> Node {
    let cluster: Uuid = cluster_id.parse().expect("cluster id");
    let join_token = format!("jt-{}", Uuid::new_v4().simple());
    let instance = format!("i-{}", &Uuid::new_v4().simple().to_string()[..17]);
    sqlx::query(
        "INSERT INTO join_tokens (token_hash, cluster_id, operation_id, node_index, instance_id, \
         expires_at) VALUES ($1, $2, $3, $4, $5, now() + interval '1 hour')",
    )
    .bind(hash_token(&join_token).as_slice())
    .bind(cluster)
    .bind(Uuid::new_v4())
    .bind(i32::try_from(index).expect("index"))
    .bind(&instance)
    .execute(&app.db)
    .await
    .expect("insert join token");
    let body = json!({"join_token": join_token, "instance_id": instance, "node_index": index,
        "cluster_id": cluster_id});
    let resp = app.send(Method::POST, "/v1/nodes/register", None, Some(&body)).await;
    let credential = str_field(resp.expect(200), "node_credential");
    Node { cluster_id: cluster, credential }
}

/// A control plane on the test's database, for queueing commands the way other use-cases do.
/// Its notifications reach the application through the database trigger.
pub fn commander(app: &TestApp) -> ControlPlane {
    let auth = AuthSettings { password_hash: CHEAP_HASH, ..AuthSettings::default() };
    ControlPlane::new(app.db.clone(), auth, OperationEvents::default()).expect("control plane")
}

pub async fn poll(app: &TestApp, node: &Node, wait_secs: u64) -> Resp {
    app.get(&format!("/v1/nodes/commands?wait_secs={wait_secs}"), &node.credential).await
}

/// Polls once and returns the batch's commands (asserting 200).
pub async fn poll_commands(app: &TestApp, node: &Node, wait_secs: u64) -> Vec<NodeCommand> {
    let resp = poll(app, node, wait_secs).await;
    let batch: CommandBatch =
        serde_json::from_value(resp.expect(200).clone()).expect("command batch");
    batch.commands
}

pub async fn post_result(app: &TestApp, node: &Node, id: Uuid, result: &CommandResult) -> Resp {
    let body = serde_json::to_value(result).expect("result json");
    app.post(&format!("/v1/nodes/commands/{id}/result"), &node.credential, &body).await
}

pub fn heartbeat_body(address: &str, leader: bool) -> Value {
    json!({"api_address": address, "initialized": true, "sealed": false,
        "server_version": "0.1.0", "agent_version": "0.1.0", "leader": leader,
        "msp_bundle_version": 0})
}

/// A stand-in agent: long-polls as `node` and answers every command with `answer`, until
/// the returned token is cancelled. Reports each command it saw on the channel.
pub fn spawn_agent(
    address: String,
    node: Node,
    answer: impl Fn(&CommandBody) -> CommandResult + Send + 'static,
) -> (CancellationToken, tokio::sync::mpsc::UnboundedReceiver<NodeCommand>) {
    let stop = CancellationToken::new();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let client = reqwest::Client::new();
    let token = stop.clone();
    tokio::spawn(async move {
        loop {
            let req = client
                .get(format!("{address}/v1/nodes/commands?wait_secs=5"))
                .bearer_auth(&node.credential)
                .send();
            let resp = tokio::select! {
                () = token.cancelled() => return,
                r = req => r,
            };
            let Ok(resp) = resp else { return };
            let Ok(batch) = resp.json::<CommandBatch>().await else { return };
            for command in batch.commands {
                let result = answer(&command.body);
                let posted = client
                    .post(format!("{address}/v1/nodes/commands/{}/result", command.id))
                    .bearer_auth(&node.credential)
                    .json(&result)
                    .send()
                    .await;
                assert_eq!(posted.map(|r| r.status().as_u16()).ok(), Some(204), "post result");
                let _ = tx.send(command);
            }
        }
    });
    (stop, rx)
}

const CHEAP_HASH: PasswordHashSettings =
    PasswordHashSettings { memory_kib: 1024, iterations: 1, parallelism: 1 };

/// A new platform operator, logged in: their bearer token.
pub async fn operator_token(app: &TestApp) -> String {
    let platform =
        Platform::new(app.db.clone(), &PlatformSettings::default(), CHEAP_HASH, Default::default())
            .expect("platform");
    let email = unique_email();
    platform.create_operator(&email, SecretString::from(PASSWORD)).await.expect("operator");
    let body = json!({"email": email, "password": PASSWORD});
    let resp = app.send(Method::POST, "/v1/platform/login", None, Some(&body)).await;
    str_field(resp.expect(200), "access_token")
}
