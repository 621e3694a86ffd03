//! Org membership: adding existing users and invitations, role changes, removal, the last-owner
//! guard and who may hand out `owner`.

use serde_json::{json, Value};

use crate::helpers::{
    percent_encode, spawn_app, str_field, unique_email, unique_name, TestApp, User, PASSWORD,
};

async fn members(app: &TestApp, org: &str, token: &str) -> Vec<Value> {
    let body =
        app.get(&format!("/v1/orgs/{org}/members?page_size=100"), token).await.expect(200).clone();
    body["members"].as_array().expect("members").clone()
}

/// The caller's role in `org` according to `GET /v1/orgs`, if they are a member.
async fn role_in(app: &TestApp, user: &User, org: &str) -> Option<String> {
    let body = app.get("/v1/orgs", &user.token).await.expect(200).clone();
    let orgs = body["orgs"].as_array().expect("orgs");
    orgs.iter().find(|o| o["id"] == org).map(|o| str_field(o, "role"))
}

#[tokio::test]
async fn adding_an_existing_user_makes_an_active_member() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let org = &owner.own_org;
    let user = app.new_user().await;
    assert_eq!(role_in(&app, &user, org).await, None);
    app.get(&format!("/v1/orgs/{org}"), &user.token).await.expect_error(404, "not_found");

    let member = app.add_existing(org, &owner.token, &user, "contributor").await;
    assert_eq!(member["user_id"], user.id.as_str());
    assert_eq!(member["email"], user.email.as_str());
    assert_eq!(member["role"], "contributor");
    assert!(member["created_at"].is_string(), "{member}");
    assert_eq!(role_in(&app, &user, org).await.as_deref(), Some("contributor"));
    app.get(&format!("/v1/orgs/{org}"), &user.token).await.expect(200);
    assert_eq!(members(&app, org, &owner.token).await.len(), 2);

    // Adding the same person twice is a conflict, whatever the role.
    let again = json!({"email": user.email, "role": "viewer"});
    app.post(&format!("/v1/orgs/{org}/members"), &owner.token, &again)
        .await
        .expect_error(409, "conflict");
    assert_eq!(role_in(&app, &user, org).await.as_deref(), Some("contributor"));
}

#[tokio::test]
async fn invitations_become_active_on_signup() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let org = &owner.own_org;
    let email = unique_email();
    let path = format!("/v1/orgs/{org}/members");
    let invited = app
        .post(&path, &owner.token, &json!({"email": email, "role": "admin"}))
        .await
        .expect(201)
        .clone();
    assert_eq!(invited["status"], "invited", "{invited}");
    assert_eq!(invited["email"], email.as_str());
    assert_eq!(invited["role"], "admin");
    let dup = app.post(&path, &owner.token, &json!({"email": email, "role": "viewer"})).await;
    dup.expect_error(409, "conflict");

    let listed = members(&app, org, &owner.token).await;
    let entry =
        listed.iter().find(|m| m["email"] == email.as_str()).expect("invited member listed");
    assert_eq!(entry["status"], "invited");

    let resp = app.signup(&email, PASSWORD, &unique_name("org")).await;
    let user_id = str_field(&resp.expect(201)["user"], "id");
    let token = app.login_token(&email, PASSWORD).await;
    let user = User {
        id: user_id.clone(),
        email: email.clone(),
        password: PASSWORD.into(),
        token,
        own_org: String::new(),
    };
    assert_eq!(role_in(&app, &user, org).await.as_deref(), Some("admin"));
    let listed = members(&app, org, &owner.token).await;
    let entry = listed.iter().find(|m| m["email"] == email.as_str()).expect("member listed");
    assert_eq!(entry["status"], "active", "{entry}");
    assert_eq!(entry["user_id"], user_id.as_str());
    // The invitation's role is in force: an admin may list service principals.
    app.get(&format!("/v1/orgs/{org}/service-principals"), &user.token).await.expect(200);
}

#[tokio::test]
async fn roles_change_and_members_are_removed() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let org = &owner.own_org;
    let user = app.add_member(org, &owner.token, "viewer").await;
    let path = format!("/v1/orgs/{org}/members/{}", user.id);
    let cluster_path = format!("/v1/orgs/{org}/clusters");

    app.post(&cluster_path, &user.token, &crate::helpers::cluster_body("not-yet"))
        .await
        .expect_error(403, "permission_denied");
    let changed =
        app.patch(&path, &owner.token, &json!({"role": "contributor"})).await.expect(200).clone();
    assert_eq!(changed["role"], "contributor");
    assert_eq!(changed["user_id"], user.id.as_str());
    // The new role takes effect on the member's existing token.
    app.post(&cluster_path, &user.token, &crate::helpers::cluster_body("now-allowed"))
        .await
        .expect(202);

    for body in [
        json!({"role": "superuser"}),
        json!({"role": 3}),
        json!({}),
        json!({"role": "viewer", "x": 1}),
    ] {
        app.patch(&path, &owner.token, &body).await.expect_error(400, "invalid_argument");
    }
    assert_eq!(role_in(&app, &user, org).await.as_deref(), Some("contributor"));

    app.delete(&path, &owner.token).await.expect(204);
    assert_eq!(role_in(&app, &user, org).await, None);
    app.get(&cluster_path, &user.token).await.expect_error(404, "not_found");
    assert!(members(&app, org, &owner.token)
        .await
        .iter()
        .all(|m| m["user_id"] != user.id.as_str()));
    app.delete(&path, &owner.token).await.expect_error(404, "not_found");
    app.patch(&path, &owner.token, &json!({"role": "viewer"})).await.expect_error(404, "not_found");
}

#[tokio::test]
async fn invalid_member_requests_are_rejected() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let path = format!("/v1/orgs/{}/members", owner.own_org);
    for body in [
        json!({"email": "not-an-email", "role": "viewer"}),
        json!({"email": unique_email(), "role": "superuser"}),
        json!({"email": unique_email()}),
        json!({"email": unique_email(), "role": "viewer", "status": "active"}),
    ] {
        app.post(&path, &owner.token, &body).await.expect_error(400, "invalid_argument");
    }
    assert_eq!(members(&app, &owner.own_org, &owner.token).await.len(), 1);
}

#[tokio::test]
async fn the_last_owner_cannot_leave_or_be_demoted() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let org = &owner.own_org;
    let me = format!("/v1/orgs/{org}/members/{}", owner.id);
    app.patch(&me, &owner.token, &json!({"role": "admin"})).await.expect_error(409, "conflict");
    app.delete(&me, &owner.token).await.expect_error(409, "conflict");
    assert_eq!(role_in(&app, &owner, org).await.as_deref(), Some("owner"));

    // With a second owner, the first may step down; then the second is the last one.
    let second = app.add_member(org, &owner.token, "owner").await;
    app.patch(&me, &owner.token, &json!({"role": "admin"})).await.expect(200);
    assert_eq!(role_in(&app, &owner, org).await.as_deref(), Some("admin"));
    let second_path = format!("/v1/orgs/{org}/members/{}", second.id);
    app.delete(&second_path, &second.token).await.expect_error(409, "conflict");
    app.patch(&second_path, &second.token, &json!({"role": "viewer"}))
        .await
        .expect_error(409, "conflict");
    assert_eq!(role_in(&app, &second, org).await.as_deref(), Some("owner"));
}

#[tokio::test]
async fn only_owners_grant_or_revoke_owner() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let org = &owner.own_org;
    let admin = app.add_member(org, &owner.token, "admin").await;
    let viewer = app.add_member(org, &owner.token, "viewer").await;
    let members_path = format!("/v1/orgs/{org}/members");
    let viewer_path = format!("{members_path}/{}", viewer.id);
    let owner_path = format!("{members_path}/{}", owner.id);

    let grant = json!({"role": "owner"});
    app.patch(&viewer_path, &admin.token, &grant).await.expect_error(403, "permission_denied");
    let invite = json!({"email": unique_email(), "role": "owner"});
    app.post(&members_path, &admin.token, &invite).await.expect_error(403, "permission_denied");
    app.patch(&owner_path, &admin.token, &json!({"role": "viewer"}))
        .await
        .expect_error(403, "permission_denied");
    app.delete(&owner_path, &admin.token).await.expect_error(403, "permission_denied");
    // An admin service principal is no stronger than an admin user.
    let sp = app.create_sp(org, &admin.token, "admin").await;
    let sp_token = app.sp_token(&sp).await;
    app.patch(&viewer_path, &sp_token, &grant).await.expect_error(403, "permission_denied");
    assert_eq!(role_in(&app, &viewer, org).await.as_deref(), Some("viewer"));
    assert_eq!(role_in(&app, &owner, org).await.as_deref(), Some("owner"));

    // Admins still manage non-owners.
    app.patch(&viewer_path, &admin.token, &json!({"role": "contributor"})).await.expect(200);
    // Owners grant owner.
    app.patch(&viewer_path, &owner.token, &grant).await.expect(200);
    assert_eq!(role_in(&app, &viewer, org).await.as_deref(), Some("owner"));
    // ...and revoke it.
    app.patch(&viewer_path, &owner.token, &json!({"role": "viewer"})).await.expect(200);
    assert_eq!(role_in(&app, &viewer, org).await.as_deref(), Some("viewer"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_lists_paginate() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let org = &owner.own_org;
    for _ in 0..4 {
        let body = json!({"email": unique_email(), "role": "viewer"});
        app.post(&format!("/v1/orgs/{org}/members"), &owner.token, &body).await.expect(201);
    }
    let all: Vec<Value> =
        members(&app, org, &owner.token).await.iter().map(|m| m["email"].clone()).collect();
    assert_eq!(all.len(), 5);
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..5 {
        let mut path = format!("/v1/orgs/{org}/members?page_size=2");
        if let Some(t) = &next {
            path = format!("{path}&page_token={}", percent_encode(t));
        }
        let body = app.get(&path, &owner.token).await.expect(200).clone();
        seen.extend(
            body["members"].as_array().expect("members").iter().map(|m| m["email"].clone()),
        );
        next = body["next_page_token"].as_str().map(str::to_owned);
        if next.is_none() {
            break;
        }
    }
    assert_eq!(seen, all, "paging members must match the full list");
}

#[tokio::test]
async fn invitations_are_case_insensitive_and_revocable_and_not_logins() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let org = &owner.own_org;
    let path = format!("/v1/orgs/{org}/members");
    let id = uuid::Uuid::new_v4().simple().to_string();
    let invited_as = format!("Mixed.Case-{id}@Example.COM");
    let signs_up_as = invited_as.to_lowercase();
    let invite =
        app.post(&path, &owner.token, &json!({"email": invited_as, "role": "contributor"})).await;
    assert_eq!(invite.expect(201)["status"], "invited");
    // An invitation is not an account: no password works for it.
    app.login(&signs_up_as, PASSWORD).await.expect_error(401, "unauthenticated");
    app.login(&invited_as, "").await.expect_error(401, "unauthenticated");

    let resp = app.signup(&signs_up_as, PASSWORD, &unique_name("org")).await;
    let user_id = str_field(&resp.expect(201)["user"], "id");
    let token = app.login_token(&signs_up_as, PASSWORD).await;
    let user = User {
        id: user_id,
        email: signs_up_as.clone(),
        password: PASSWORD.into(),
        token,
        own_org: String::new(),
    };
    assert_eq!(role_in(&app, &user, org).await.as_deref(), Some("contributor"));
    // The same address in another case is the same account.
    app.signup(&invited_as, PASSWORD, "again").await.expect_error(409, "conflict");

    // A revoked invitation does not let its address in later.
    let revoked = unique_email();
    let invite = app
        .post(&path, &owner.token, &json!({"email": revoked, "role": "admin"}))
        .await
        .expect(201)
        .clone();
    let member_path = format!("{path}/{}", str_field(&invite, "user_id"));
    app.delete(&member_path, &owner.token).await.expect(204);
    app.signup(&revoked, PASSWORD, &unique_name("org")).await.expect(201);
    let token = app.login_token(&revoked, PASSWORD).await;
    app.get(&format!("/v1/orgs/{org}"), &token).await.expect_error(404, "not_found");
}

#[tokio::test]
async fn an_owner_may_remove_another_owner() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let org = &owner.own_org;
    let other = app.add_member(org, &owner.token, "owner").await;
    app.delete(&format!("/v1/orgs/{org}/members/{}", other.id), &owner.token).await.expect(204);
    assert_eq!(role_in(&app, &other, org).await, None);
    assert_eq!(role_in(&app, &owner, org).await.as_deref(), Some("owner"));
}
