//! Shared set-up: operators made through the library (the admin command has its own tests),
//! operator login, the full orphan listing, and AWS settings pointing at moto.

use std::collections::BTreeSet;

use coffer_control_plane::config::{PasswordHashSettings, Settings};
use coffer_control_plane::platform::{Platform, PlatformSettings};
use coffer_control_plane::provisioning::AwsConnectSettings;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};

use super::moto;
use crate::helpers::{str_field, unique_email, Resp, TestApp, PASSWORD};

/// An operator account and its email.
pub struct OperatorAccount {
    pub email: String,
}

/// Creates an operator directly in the app's database.
pub async fn create_operator(app: &TestApp) -> OperatorAccount {
    let cheap = PasswordHashSettings { memory_kib: 1024, iterations: 1, parallelism: 1 };
    let platform =
        Platform::new(app.db.clone(), &PlatformSettings::default(), cheap, Default::default())
            .expect("platform");
    let email = unique_email();
    platform.create_operator(&email, SecretString::from(PASSWORD)).await.expect("create operator");
    OperatorAccount { email }
}

pub async fn operator_login(app: &TestApp, email: &str, password: &str) -> Resp {
    let body = json!({"email": email, "password": password});
    app.send(Method::POST, "/v1/platform/login", None, Some(&body)).await
}

/// A new operator, logged in: their bearer token.
pub async fn operator_token(app: &TestApp) -> String {
    let op = create_operator(app).await;
    str_field(operator_login(app, &op.email, PASSWORD).await.expect(200), "access_token")
}

/// Every current finding, following pages.
pub async fn all_orphans(app: &TestApp, token: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut page_token = String::new();
    loop {
        let path = format!("/v1/platform/orphans?page_size=100&page_token={page_token}");
        let body = app.get(&path, token).await.expect(200).clone();
        out.extend(body["orphans"].as_array().cloned().unwrap_or_default());
        match body["next_page_token"].as_str() {
            Some(t) => page_token = t.to_owned(),
            None => return out,
        }
    }
}

/// `(kind, resource_id, reason)` of the findings whose cluster tag is one of `clusters`: the
/// moto server may be shared with other tests, whose resources are orphans to this database.
pub fn findings_for(orphans: &[Value], clusters: &[String]) -> BTreeSet<(String, String, String)> {
    orphans
        .iter()
        .filter(|o| o["cluster_id"].as_str().is_some_and(|c| clusters.iter().any(|x| x == c)))
        .map(|o| (str_field(o, "kind"), str_field(o, "resource_id"), str_field(o, "reason")))
        .collect()
}

/// `[provisioning.aws]` for moto, as an operator would configure it.
pub async fn moto_aws() -> AwsConnectSettings {
    AwsConnectSettings {
        home_region: "us-east-1".into(),
        endpoint_url: Some(moto::url().await),
        access_key_id: Some("test".into()),
        secret_access_key: Some(SecretString::from("test")),
        session_token: None,
        control_plane_principal_arn: "arn:aws:iam::123456789012:role/coffer-control-plane".into(),
        s3_force_path_style: true,
    }
}

/// Settings with the periodic sweeper on, for `region` only, against moto.
pub fn sweeping(settings: &mut Settings, aws: AwsConnectSettings, region: &str) {
    settings.provisioning.aws = aws;
    settings.platform.sweeper.enabled = true;
    settings.platform.sweeper.interval_secs = 3600;
    settings.platform.sweeper.regions = vec![region.to_owned()];
}
