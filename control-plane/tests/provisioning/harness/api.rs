//! The public API as a customer and a node agent use it: sign up, create / patch / delete
//! clusters, follow operations, and register nodes with the join token from their user data.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{json, Value};
use uuid::Uuid;

use super::aws::Aws;
use super::poll;
use coffer_cloud::ClusterRef;

const PASSWORD: &str = "correct-horse-battery-staple";

/// A signed-in customer of one org, talking to one control-plane process.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub org: Uuid,
    token: String,
    client: reqwest::Client,
}

/// A cluster the API accepted, with the operation that creates it.
#[derive(Clone, Debug)]
pub struct Created {
    pub cref: ClusterRef,
    pub op: Uuid,
}

fn uuid_field(v: &Value, field: &str) -> Uuid {
    v[field]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no uuid {field} in {v}"))
}

/// A unique, valid cluster name.
pub fn unique_name(prefix: &str) -> String {
    let id = Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..8])
}

impl Api {
    /// Signs up a new user with their own org on the control plane at `base`.
    pub async fn sign_up(base: &str) -> Api {
        let client = reqwest::Client::new();
        let email = format!("engt-{}@example.com", Uuid::new_v4().simple());
        let signup = client
            .post(format!("{base}/v1/signup"))
            .json(&json!({"email": email, "password": PASSWORD, "org_name": unique_name("org")}))
            .send()
            .await
            .unwrap();
        assert_eq!(signup.status().as_u16(), 201, "signup: {}", signup.text().await.unwrap());
        let body: Value = signup.json().await.unwrap();
        let org = uuid_field(&body["org"], "id");
        let login = client
            .post(format!("{base}/v1/login"))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status().as_u16(), 200);
        let body: Value = login.json().await.unwrap();
        let token = body["access_token"].as_str().expect("access_token").to_owned();
        Api { base: base.to_owned(), org, token, client }
    }

    /// The same customer talking to another process (sessions live in the shared database).
    pub fn at(&self, base: &str) -> Api {
        Api { base: base.to_owned(), ..self.clone() }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut req =
            self.client.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    fn accepted(&self, what: &str, (status, body): (u16, Value)) -> Created {
        assert_eq!(status, 202, "{what}: {body}");
        let cluster = &body["cluster"];
        let cref = ClusterRef::new(
            uuid_field(cluster, "id"),
            self.org,
            cluster["region"].as_str().expect("region").to_owned(),
        );
        Created { cref, op: uuid_field(&body["operation"], "id") }
    }

    /// Creates a cluster from `spec` (name is generated).
    pub async fn create_cluster(&self, tier: &str, region: &str, allow: &[&str]) -> Created {
        let body = json!({
            "name": unique_name("c"), "tier": tier, "size": "small", "region": region,
            "public_endpoint": false, "ip_allow_list": allow,
        });
        let resp = self
            .call(reqwest::Method::POST, &format!("/v1/orgs/{}/clusters", self.org), Some(&body))
            .await;
        self.accepted("create cluster", resp)
    }

    pub async fn patch_cluster(&self, c: &ClusterRef, body: &Value) -> Created {
        let path = format!("/v1/orgs/{}/clusters/{}", self.org, c.cluster_id);
        let resp = self.call(reqwest::Method::PATCH, &path, Some(body)).await;
        self.accepted("patch cluster", resp)
    }

    pub async fn delete_cluster(&self, c: &ClusterRef) -> Created {
        let path = format!("/v1/orgs/{}/clusters/{}", self.org, c.cluster_id);
        let resp = self.call(reqwest::Method::DELETE, &path, None).await;
        self.accepted("delete cluster", resp)
    }

    pub async fn cluster(&self, c: &ClusterRef) -> Value {
        let path = format!("/v1/orgs/{}/clusters/{}", self.org, c.cluster_id);
        let (status, body) = self.call(reqwest::Method::GET, &path, None).await;
        assert_eq!(status, 200, "get cluster: {body}");
        body
    }

    pub async fn operation(&self, op: Uuid) -> Value {
        let path = format!("/v1/orgs/{}/operations/{op}", self.org);
        let (status, body) = self.call(reqwest::Method::GET, &path, None).await;
        assert_eq!(status, 200, "get operation: {body}");
        body
    }

    /// Polls the operation until it is `succeeded` or `failed`; returns it.
    pub async fn wait_terminal(&self, op: Uuid, within: Duration) -> Value {
        poll(&format!("operation {op} to finish"), within, || async move {
            let o = self.operation(op).await;
            match o["state"].as_str() {
                Some("succeeded" | "failed") => Ok(o),
                _ => Err(o.to_string()),
            }
        })
        .await
    }

    /// Waits for success, with the whole operation in the failure message otherwise.
    pub async fn wait_succeeded(&self, op: Uuid, within: Duration) -> Value {
        let o = self.wait_terminal(op, within).await;
        assert_eq!(o["state"], "succeeded", "operation failed: {o}");
        o
    }

    /// Waits until the operation is at `wait_for_nodes` and says so.
    pub async fn wait_for_node_wait(&self, op: Uuid, within: Duration) {
        poll("the operation to wait for its nodes", within, || async move {
            let o = self.operation(op).await;
            let waiting = o["steps"].as_array().into_iter().flatten().any(|s| {
                s["name"] == "wait_for_nodes" && s["state"] == "running" && s["error"].is_string()
            });
            if waiting {
                Ok(())
            } else {
                Err(o.to_string())
            }
        })
        .await;
    }

    /// `POST /v1/nodes/register` as the agent does (no bearer token): `(status, body)`;
    /// status 0 when the server could not be reached.
    pub async fn register_node(
        &self,
        token: &str,
        instance_id: &str,
        index: u32,
        cluster: Uuid,
    ) -> (u16, Value) {
        let body = json!({
            "join_token": token, "instance_id": instance_id, "node_index": index, "cluster_id": cluster,
        });
        // A process that is going down may not answer: status 0, retry like the agent does.
        let resp = match self
            .client
            .post(format!("{}/v1/nodes/register", self.base))
            .json(&body)
            .send()
            .await
        {
            Ok(resp) => resp,
            Err(e) => return (0, Value::String(e.to_string())),
        };
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Registers every live instance of the cluster with the join token from its user data,
    /// as each node's agent would on boot. Retries the "not yet known" answer (409) until the
    /// engine has recorded the instance. Returns how many nodes registered.
    pub async fn register_nodes(
        &self,
        aws: &Aws,
        c: &ClusterRef,
        nodes: usize,
        within: Duration,
    ) -> usize {
        let instances = poll("instances to launch", within, || async move {
            let found = aws.instances(c).await;
            if found.len() >= nodes {
                Ok(found)
            } else {
                Err(format!("{} of {nodes} instances", found.len()))
            }
        })
        .await;
        // More live instances than nodes is a duplicate launch: name them, not a token error.
        let described: Vec<String> = instances
            .iter()
            .map(|i| {
                format!(
                    "{} {:?} {:?}",
                    i.instance_id().unwrap_or_default(),
                    i.state().and_then(|s| s.name()),
                    i.launch_time()
                )
            })
            .collect();
        assert_eq!(
            instances.len(),
            nodes,
            "duplicate instances for cluster {}: {described:?}",
            c.id()
        );
        let mut registered = 0;
        for inst in instances {
            let id = inst.instance_id().expect("instance id").to_owned();
            let doc = aws.bootstrap(&id).await;
            let token =
                doc.join_token.as_ref().expect("join token in user data").expose().to_owned();
            let (token, id, index) = (token.as_str(), id.as_str(), doc.node_index);
            poll(&format!("node {id} to register"), within, || async move {
                match self.register_node(token, id, index, c.cluster_id).await {
                    (200, body) => {
                        assert!(body["node_credential"].is_string(), "no credential: {body}");
                        Ok(())
                    }
                    (0 | 409, body) => Err(body.to_string()),
                    (status, body) => panic!("registering {id}: {status} {body}"),
                }
            })
            .await;
            registered += 1;
        }
        registered
    }

    /// Registers the single node of each of many dev clusters as their instances appear,
    /// scanning the region in bulk (one describe per round instead of one per cluster).
    pub async fn register_all(&self, aws: &Aws, clusters: &[ClusterRef], within: Duration) {
        let wanted: HashSet<String> = clusters.iter().map(ClusterRef::id).collect();
        let mut done: HashSet<String> = HashSet::new();
        let deadline = tokio::time::Instant::now() + within;
        while done.len() < wanted.len() {
            for (cluster, instance) in aws.all_instances().await {
                if !wanted.contains(&cluster) || done.contains(&cluster) {
                    continue;
                }
                let doc = aws.bootstrap(&instance).await;
                let token =
                    doc.join_token.as_ref().expect("join token in user data").expose().to_owned();
                match self.register_node(&token, &instance, doc.node_index, doc.cluster_id).await {
                    (200, _) => {
                        done.insert(cluster);
                    }
                    (0 | 409, _) => {}
                    (status, body) => panic!("registering {instance}: {status} {body}"),
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {} nodes registered within {within:?}",
                done.len(),
                wanted.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
