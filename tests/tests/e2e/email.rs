//! Email really leaves: over SMTP to a real server on loopback, with a text
//! and an HTML part; failures are retried with backoff, given up after the
//! configured attempts, listed for admins and sent again on request.

use std::time::Duration;

use avenue_api::config::Secret;
use avenue_tests::api::{spawn_stack_with, Stack, TestUser};
use avenue_tests::chaos::free_port;
use avenue_tests::mail::{MailSink, SinkRules};
use mongodb::bson::DateTime;
use reqwest::Method;
use serde_json::{json, Value};

fn order(product: &str) -> Value {
    json!({ "lines": [{ "product_id": product, "quantity": 2, "size": "M" }] })
}

/// The admin's view of the one email about `related`.
async fn email_about(stack: &Stack, admin: &TestUser, related: &str) -> Value {
    let list = stack
        .api
        .expect(
            200,
            Method::GET,
            &format!("/api/admin/email-logs?related={related}"),
            Some(&admin.token),
            None,
        )
        .await;
    let list = list.as_array().expect("a list");
    assert_eq!(list.len(), 1, "{list:?}");
    list[0].clone()
}

/// Polls the admin list until the email about `related` has `status`.
async fn await_status(stack: &Stack, admin: &TestUser, related: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let email = email_about(stack, admin, related).await;
        if email["status"] == status {
            return email;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the email never became {status}: {email}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn millis(at: &Value) -> i64 {
    DateTime::parse_rfc3339_str(at.as_str().expect("a time"))
        .expect("RFC 3339")
        .timestamp_millis()
}

#[tokio::test]
async fn an_order_confirmation_is_delivered_over_smtp_in_text_and_html() {
    let sink = MailSink::start().await;
    let smtp = sink.url();
    let stack = spawn_stack_with(|s| {
        s.email.smtp_url = Some(Secret::new(smtp));
        s.email.from = "Avenue Shop <shop@avenue.test>".parse().expect("mailbox");
    })
    .await;
    let api = &stack.api;
    let admin = api.admin().await;
    let buyer = api.user("customer").await;
    let product = stack.published(&admin, "COAT-1", 150000, 5).await;
    let placed = api.place_order(&buyer, order(&product)).expect(201).await;
    let id = placed["id"].as_str().expect("order id");

    let delivered = sink.wait_for(&buyer.email, 1).await;
    let message = &delivered[0];
    assert_eq!(message["mail_from"], "shop@avenue.test");
    assert_eq!(message["from"], "Avenue Shop <shop@avenue.test>");
    assert_eq!(message["content_type"], "multipart/alternative");
    let number = &id[16..];
    assert!(message["subject"]
        .as_str()
        .expect("subject")
        .contains(number));
    let text = message["text"].as_str().expect("a text part");
    assert!(text.contains("Total: ₲ 300.000"), "{text}");
    let html = message["html"].as_str().expect("an HTML part");
    assert!(html.contains("<table"), "{html}");
    assert!(html.contains("₲ 300.000"), "{html}");

    let logged = await_status(&stack, &admin, &format!("orders:{id}"), "sent").await;
    assert_eq!(logged["sender"], "smtp");
    assert_eq!(logged["attempts"], 1);
    let message_id = message["message_id"].as_str().expect("Message-ID");
    assert!(
        message_id.contains(logged["id"].as_str().expect("id")),
        "{message_id}"
    );
    let outcomes: Vec<&str> = logged["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["outcome"].as_str())
        .collect();
    assert_eq!(outcomes, ["sent"]);
    assert_eq!(sink.messages().len(), 1, "sent once");
    stack.stop().await;
    sink.stop().await;
}

#[tokio::test]
async fn unsent_email_backs_off_gives_up_and_is_sent_again_on_an_admins_request() {
    // Nothing listens on this port until the test starts the sink there.
    let port = free_port();
    let stack = spawn_stack_with(|s| {
        s.email.smtp_url = Some(Secret::new(format!("smtp://127.0.0.1:{port}")));
        s.email.max_attempts = 3;
        s.email.first_backoff = Duration::from_millis(300);
    })
    .await;
    let api = &stack.api;
    let admin = api.admin().await;
    let buyer = api.user("customer").await;
    let product = stack.published(&admin, "BAG-1", 90000, 5).await;
    let placed = api.place_order(&buyer, order(&product)).expect(201).await;
    let related = format!("orders:{}", placed["id"].as_str().expect("id"));

    let failed = await_status(&stack, &admin, &related, "failed").await;
    assert_eq!(failed["attempts"], 3);
    assert!(failed["last_error"].as_str().is_some_and(|e| !e.is_empty()));
    let history = failed["history"].as_array().expect("history");
    let outcomes: Vec<&str> = history
        .iter()
        .filter_map(|h| h["outcome"].as_str())
        .collect();
    assert_eq!(outcomes, ["error", "error", "failed"]);
    // The waits double: at least 300 ms, then at least 600 ms.
    let at: Vec<i64> = history.iter().map(|h| millis(&h["at"])).collect();
    assert!(at[1] - at[0] >= 300, "{history:?}");
    assert!(at[2] - at[1] >= 600, "{history:?}");
    let listed = api
        .expect(
            200,
            Method::GET,
            "/api/admin/email-logs?status=failed",
            Some(&admin.token),
            None,
        )
        .await;
    assert!(listed
        .as_array()
        .expect("list")
        .iter()
        .any(|e| e["related"] == related.as_str()));

    // The relay is back; an admin sends it again.
    let sink = MailSink::start_on(port, SinkRules::default()).await;
    let id = failed["id"].as_str().expect("id");
    let path = format!("/api/admin/email-logs/{id}/resend");
    api.expect(403, Method::POST, &path, Some(&buyer.token), None)
        .await;
    let queued = api
        .expect(202, Method::POST, &path, Some(&admin.token), None)
        .await;
    assert_eq!(queued["status"], "pending");
    assert_eq!(queued["attempts"], 0);
    let delivered = sink.wait_for(&buyer.email, 1).await;
    assert!(delivered[0]["text"]
        .as_str()
        .is_some_and(|t| t.contains("BAG-1") || t.contains("Total")));
    let sent = await_status(&stack, &admin, &related, "sent").await;
    let outcomes: Vec<&str> = sent["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["outcome"].as_str())
        .collect();
    assert_eq!(outcomes, ["error", "error", "failed", "resend", "sent"]);
    let audit = api
        .expect(
            200,
            Method::GET,
            &format!("/api/admin/audit-logs?record_id={id}"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(audit[0]["action"], "email.resend");
    // Unknown ids.
    let missing = format!("/api/admin/email-logs/{}/resend", "0".repeat(24));
    api.expect(404, Method::POST, &missing, Some(&admin.token), None)
        .await;
    api.expect(
        404,
        Method::POST,
        "/api/admin/email-logs/nope/resend",
        Some(&admin.token),
        None,
    )
    .await;
    stack.stop().await;
    sink.stop().await;
}

#[tokio::test]
async fn a_recipient_the_server_refuses_for_good_fails_at_once() {
    let sink = MailSink::start_on(
        free_port(),
        SinkRules {
            refuse: Some("^customer-".into()),
            ..SinkRules::default()
        },
    )
    .await;
    let smtp = sink.url();
    let stack = spawn_stack_with(|s| {
        s.email.smtp_url = Some(Secret::new(smtp));
        s.email.max_attempts = 5;
    })
    .await;
    let api = &stack.api;
    let admin = api.admin().await;
    let buyer = api.user("customer").await;
    let product = stack.published(&admin, "HAT-1", 50000, 5).await;
    let placed = api.place_order(&buyer, order(&product)).expect(201).await;
    let related = format!("orders:{}", placed["id"].as_str().expect("id"));
    let failed = await_status(&stack, &admin, &related, "failed").await;
    assert_eq!(failed["attempts"], 1, "a 550 is not retried: {failed}");
    assert!(
        failed["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("550") || e.contains("unavailable")),
        "{failed}"
    );
    assert!(sink.messages().is_empty());
    stack.stop().await;
    sink.stop().await;
}

#[tokio::test]
async fn the_old_back_ends_email_logs_do_not_break_the_outbox() {
    let sink = MailSink::start().await;
    let smtp = sink.url();
    let db_name = avenue_tests::unique_db();
    let client = mongodb::Client::with_uri_str(avenue_tests::mongo_uri())
        .await
        .expect("client");
    let old = client.database(&db_name).collection("email_logs");
    old.insert_many([
        mongodb::bson::doc! { "id": "1b0e", "to": "old@example.com", "subject": "Pedido", "status": "pending", "created_at": "2024-01-01T00:00:00" },
        mongodb::bson::doc! { "id": "2c1f", "email": "old@example.com", "status": "failed", "error": "timeout" },
    ])
    .await
    .expect("old entries");
    let stack = avenue_tests::api::spawn_stack_on(&db_name, |s| {
        s.email.smtp_url = Some(Secret::new(smtp));
    })
    .await;
    let api = &stack.api;
    let admin = api.admin().await;
    let buyer = api.user("customer").await;
    let product = stack.published(&admin, "OLD-1", 50000, 5).await;
    api.place_order(&buyer, order(&product)).expect(201).await;
    sink.wait_for(&buyer.email, 1).await;
    // The old entries are neither sent nor changed, and the list still answers.
    assert!(sink
        .messages()
        .iter()
        .all(|m| m["rcpt_tos"] == json!([buyer.email])));
    let untouched = old
        .find_one(mongodb::bson::doc! { "id": "1b0e" })
        .await
        .expect("read")
        .expect("still there");
    assert_eq!(untouched.get_str("status").ok(), Some("pending"));
    assert!(untouched.get("attempts").is_none());
    let listed = api
        .expect(
            200,
            Method::GET,
            "/api/admin/email-logs",
            Some(&admin.token),
            None,
        )
        .await;
    assert!(!listed.as_array().expect("list").is_empty());
    let old_failed = old
        .find_one(mongodb::bson::doc! { "id": "2c1f" })
        .await
        .expect("read")
        .expect("there");
    let old_id = old_failed.get_object_id("_id").expect("_id").to_hex();
    let refused = api
        .expect(
            422,
            Method::POST,
            &format!("/api/admin/email-logs/{old_id}/resend"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(refused["code"], "legacy-document");
    stack.stop().await;
    sink.stop().await;
}
