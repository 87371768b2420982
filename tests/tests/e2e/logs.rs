//! The audit trail and the email log read a page at a time with a cursor
//! (no entry repeated or skipped while new ones arrive), narrowed by time,
//! actor, action, status or recipient.

use std::collections::HashSet;

use avenue_tests::api::{spawn_stack, TestUser};
use avenue_tests::ApiApp;
use reqwest::Method;
use serde_json::{json, Value};

/// Every page of `path` (which has a query already), following cursors.
async fn all_pages(api: &ApiApp, admin: &TestUser, path: &str) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}&before={c}"),
            None => path.to_owned(),
        };
        let response = api.call(Method::GET, &url, Some(&admin.token), None).await;
        assert_eq!(response.status(), 200, "{url}");
        cursor = response
            .headers()
            .get("x-next-cursor")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let page: Vec<Value> = response.json().await.expect("a list");
        pages.push(page);
        if cursor.is_none() {
            return pages;
        }
        assert!(pages.len() < 50, "the cursor never ends");
    }
}

#[tokio::test]
async fn logs_page_with_a_cursor_and_filter() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let other_admin = api.admin().await;
    let product = stack.published(&admin, "LOG-1", 100_000, 5).await;
    for n in 0..4 {
        let by = if n % 2 == 0 { &admin } else { &other_admin };
        api.update_product(by, &product, json!({ "name": format!("Nombre {n}") }))
            .expect(200)
            .await;
    }

    // Five entries of this product, two a page: 2, 2, 1, newest first.
    let path = format!("/api/admin/audit-logs?record_id={product}&limit=2");
    let pages = all_pages(api, &admin, &path).await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [2, 2, 1]);
    let entries: Vec<Value> = pages.into_iter().flatten().collect();
    let times: Vec<&str> = entries.iter().filter_map(|e| e["at"].as_str()).collect();
    // Compared as instants: RFC 3339 text drops trailing zeros (`.6Z`
    // after `.646Z`), so its order as text is not time order.
    let instants: Vec<time::OffsetDateTime> = times
        .iter()
        .map(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                .expect("RFC 3339")
        })
        .collect();
    assert!(
        instants.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    assert_eq!(
        entries.last().map(|e| e["action"].clone()),
        Some(json!("product.create"))
    );
    let names: HashSet<String> = entries
        .iter()
        .map(|e| e["after"]["name"].to_string())
        .collect();
    assert_eq!(names.len(), 5, "no entry twice: {entries:?}");

    // Narrowed by actor and action.
    let by_other = api
        .expect(
            200,
            Method::GET,
            &format!(
                "/api/admin/audit-logs?record_id={product}&actor={}",
                other_admin.id
            ),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(by_other.as_array().map(Vec::len), Some(2));
    let created = api
        .expect(
            200,
            Method::GET,
            &format!("/api/admin/audit-logs?record_id={product}&action=product.create"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(created.as_array().map(Vec::len), Some(1));
    // By time: nothing before the first entry, everything since it.
    let first = times.last().copied().unwrap_or_default();
    let encoded = |t: &str| t.replace('+', "%2B");
    let before_any = api
        .expect(
            200,
            Method::GET,
            &format!(
                "/api/admin/audit-logs?record_id={product}&until={}",
                encoded(first)
            ),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(before_any.as_array().map(Vec::len), Some(0));
    let since_first = api
        .expect(
            200,
            Method::GET,
            &format!(
                "/api/admin/audit-logs?record_id={product}&since={}",
                encoded(first)
            ),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(since_first.as_array().map(Vec::len), Some(5));

    // Bad windows are named.
    let bad_cursor = api
        .expect(
            400,
            Method::GET,
            "/api/admin/audit-logs?before=bm9wZQ",
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(bad_cursor["code"], "bad-cursor");
    let bad_time = api
        .expect(
            422,
            Method::GET,
            "/api/admin/audit-logs?since=yesterday",
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(bad_time["field"], "since");

    // The email log pages and filters the same way.
    let buyer = api.user("customer").await;
    for _ in 0..3 {
        api.place_order(
            &buyer,
            json!({ "lines": [{ "product_id": product, "quantity": 1, "size": "M" }] }),
        )
        .expect(201)
        .await;
    }
    let path = format!(
        "/api/admin/email-logs?to={}&template=order-confirmation&limit=2",
        buyer.email
    );
    let pages = all_pages(api, &admin, &path).await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [2, 1]);
    let ids: HashSet<String> = pages
        .iter()
        .flatten()
        .map(|e| e["id"].to_string())
        .collect();
    assert_eq!(ids.len(), 3);
    stack.stop().await;
}
