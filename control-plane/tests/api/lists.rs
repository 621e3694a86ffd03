//! Every list endpoint pages the same way: `page_size` pages in stable (created_at, id) order,
//! an opaque `next_page_token`, null on the last page, and the pages together equal one big page.

use serde_json::{json, Value};

use crate::helpers::{percent_encode, spawn_app, unique_email, TestApp};

/// Walks `path` with `page_size`, returning the `key` field of every item in order and the
/// page sizes seen.
async fn walk(
    app: &TestApp,
    token: &str,
    path: &str,
    key: &str,
    item: &str,
    page_size: usize,
) -> (Vec<Value>, Vec<usize>) {
    let mut items = Vec::new();
    let mut sizes = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut url = format!("{path}?page_size={page_size}");
        if let Some(t) = &next {
            url.push_str("&page_token=");
            url.push_str(&percent_encode(t));
        }
        let body = app.get(&url, token).await.expect(200).clone();
        let page = body[key].as_array().unwrap_or_else(|| panic!("{key} array missing: {body}"));
        assert!(page.len() <= page_size, "page larger than page_size: {body}");
        sizes.push(page.len());
        items.extend(page.iter().map(|v| v[item].clone()));
        match &body["next_page_token"] {
            Value::String(t) => next = Some(t.clone()),
            Value::Null => return (items, sizes),
            other => panic!("next_page_token must be a string or null, got {other}"),
        }
        assert!(sizes.len() <= 20, "pagination of {path} does not terminate");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_list_endpoint_paginates() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let org = owner.own_org.clone();
    // Five of everything (the owner's signup is the first member and the first org).
    for i in 0..4 {
        let other = app.new_user().await;
        app.add_existing(&other.own_org, &other.token, &owner, "viewer").await;
        let invite = json!({"email": unique_email(), "role": "viewer"});
        app.post(&format!("/v1/orgs/{org}/members"), &owner.token, &invite).await.expect(201);
        app.create_sp(&org, &owner.token, "viewer").await;
        app.create_cluster(&org, &owner.token, &format!("list-{i}")).await;
    }
    app.create_sp(&org, &owner.token, "viewer").await;
    app.create_cluster(&org, &owner.token, "list-4").await;

    let lists = [
        ("/v1/orgs".to_owned(), "orgs", "id"),
        (format!("/v1/orgs/{org}/members"), "members", "email"),
        (format!("/v1/orgs/{org}/service-principals"), "service_principals", "id"),
        (format!("/v1/orgs/{org}/clusters"), "clusters", "id"),
    ];
    for (path, key, item) in &lists {
        let (all, sizes) = walk(&app, &owner.token, path, key, item, 100).await;
        assert_eq!(sizes, [5], "{path}: expected one page of 5");
        let mut unique = all.clone();
        unique.sort_by_key(Value::to_string);
        unique.dedup();
        assert_eq!(unique.len(), 5, "{path}: duplicates in {all:?}");
        for page_size in [1, 2, 4, 5] {
            let (paged, sizes) = walk(&app, &owner.token, path, key, item, page_size).await;
            assert_eq!(paged, all, "{path} with page_size={page_size}");
            assert!(
                sizes.iter().rev().skip(1).all(|&n| n == page_size),
                "{path}: short page before the end: {sizes:?}"
            );
        }
    }
    let (orgs, _) = walk(&app, &owner.token, "/v1/orgs", "orgs", "id", 100).await;
    assert!(orgs.contains(&json!(org)), "{orgs:?}");
}
