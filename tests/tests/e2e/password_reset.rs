//! Password reset by email, followed the way a user would: ask, read the
//! delivered message, open its link, choose a password.

use avenue_api::config::Secret;
use avenue_tests::api::{spawn_stack_on, Stack};
use avenue_tests::mail::{link_in, token_of, MailSink};
use avenue_tests::old_backend::{self, OLD_PASSWORD};
use avenue_tests::unique_db;
use mongodb::bson::{doc, DateTime, Document};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

async fn stack_with_mail(
    db_name: &str,
    tweak: impl FnOnce(&mut avenue_api::Settings),
) -> (Stack, MailSink) {
    let sink = MailSink::start().await;
    let smtp = sink.url();
    let stack = spawn_stack_on(db_name, move |s| {
        s.email.smtp_url = Some(Secret::new(smtp));
        tweak(s);
    })
    .await;
    (stack, sink)
}

async fn ask_reset(stack: &Stack, email: &str) -> (u16, Value) {
    let response = stack
        .api
        .call(
            Method::POST,
            "/api/auth/password-reset",
            None,
            Some(json!({ "email": email })),
        )
        .await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn login_status(stack: &Stack, email: &str, password: &str) -> u16 {
    stack
        .api
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({ "email": email, "password": password })),
        )
        .await
        .status()
        .as_u16()
}

async fn submit_form(stack: &Stack, token: &str, password: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(stack.api.url("/reset-password"))
        .form(&[("token", token), ("password", password)])
        .send()
        .await
        .expect("form posted");
    let status = response.status().as_u16();
    (status, response.text().await.expect("a page"))
}

#[tokio::test]
async fn a_forgotten_password_is_reset_through_the_emailed_link() {
    let (stack, sink) = stack_with_mail(&unique_db(), |_| {}).await;
    let api = &stack.api;
    let user = api.user("customer").await;
    let stranger = format!("nobody-{}@example.com", uuid::Uuid::new_v4().simple());

    // The same answer whether or not the address has an account.
    let for_stranger = ask_reset(&stack, &stranger).await;
    let for_user = ask_reset(&stack, &user.email.to_uppercase()).await;
    assert_eq!(for_stranger.0, 202);
    assert_eq!(for_stranger, for_user);

    let delivered = sink.wait_for(&user.email, 1).await;
    let link = link_in(&delivered[0]);
    assert!(
        link.starts_with(&api.url("/reset-password?token=")),
        "{link}"
    );
    let token = token_of(&link);
    let html = delivered[0]["html"].as_str().expect("an HTML part");
    assert!(html.contains(&token), "{html}");
    // Only the token's hash is stored.
    let stored: Vec<Document> = {
        use futures::TryStreamExt;
        api.db
            .collection::<Document>("password_resets")
            .find(doc! {})
            .await
            .expect("find")
            .try_collect()
            .await
            .expect("read")
    };
    assert_eq!(stored.len(), 1, "nothing for the stranger: {stored:?}");
    assert_eq!(
        stored[0].get_str("token_hash").ok(),
        Some(hex::encode(Sha256::digest(token.as_bytes()))).as_deref()
    );
    assert!(!format!("{stored:?}").contains(&token));
    assert_eq!(api.count("email_logs", doc! { "to": &stranger }).await, 0);

    // Follow the link: a form; a too-short password is refused on it.
    let page = reqwest::get(&link).await.expect("the link opens");
    assert_eq!(page.status(), 200);
    let page = page.text().await.expect("page");
    assert!(
        page.contains("name=\"password\"") && page.contains(&token),
        "{page}"
    );
    let (status, page) = submit_form(&stack, &token, "short").await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("8 to 128"));
    let (status, page) = submit_form(&stack, &token, "a brand new secret").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("password is changed"));

    assert_eq!(login_status(&stack, &user.email, &user.password).await, 401);
    assert_eq!(
        login_status(&stack, &user.email, "a brand new secret").await,
        200
    );
    // Every earlier session ended.
    api.expect(
        401,
        Method::POST,
        "/api/auth/refresh",
        None,
        Some(json!({ "refresh_token": user.refresh_token })),
    )
    .await;
    // The link works once.
    assert_eq!(reqwest::get(&link).await.expect("opens").status(), 400);
    let again = api
        .expect(
            400,
            Method::POST,
            "/api/auth/password-reset/confirm",
            None,
            Some(json!({ "token": token, "password": "yet another secret" })),
        )
        .await;
    assert_eq!(again["code"], "reset-link-invalid");
    assert_eq!(
        login_status(&stack, &user.email, "a brand new secret").await,
        200
    );
    stack.stop().await;
    sink.stop().await;
}

#[tokio::test]
async fn an_old_account_whose_hash_cannot_be_checked_gets_back_in_by_reset() {
    let name = unique_db();
    let client = mongodb::Client::with_uri_str(avenue_tests::mongo_uri())
        .await
        .expect("client");
    let db = client.database(&name);
    old_backend::insert(
        &db,
        "users",
        vec![old_backend::user(
            "Legacy.Md5@Example.com",
            "password",
            "5f4dcc3b5aa765d61d8327deb882cf99",
        )],
    )
    .await;
    let (stack, sink) = stack_with_mail(&name, |_| {}).await;
    let email = "legacy.md5@example.com";
    assert_eq!(login_status(&stack, email, OLD_PASSWORD).await, 401);
    assert_eq!(ask_reset(&stack, email).await.0, 202);
    let delivered = sink.wait_for(email, 1).await;
    let token = token_of(&link_in(&delivered[0]));
    stack
        .api
        .expect(
            204,
            Method::POST,
            "/api/auth/password-reset/confirm",
            None,
            Some(json!({ "token": token, "password": "chosen after cut-over" })),
        )
        .await;
    assert_eq!(
        login_status(&stack, email, "chosen after cut-over").await,
        200
    );
    let stored = db
        .collection::<Document>("users")
        .find_one(doc! {})
        .await
        .expect("read")
        .expect("the user");
    assert!(stored.get("password").is_none(), "the old hash is gone");
    assert!(stored
        .get_str("password_hash")
        .is_ok_and(|h| h.starts_with("$argon2id$")));
    stack.stop().await;
    sink.stop().await;
}

#[tokio::test]
async fn links_expire_a_newer_one_still_works_and_requests_are_limited_alike() {
    let (stack, sink) = stack_with_mail(&unique_db(), |s| {
        s.auth.resets_per_account = 2;
    })
    .await;
    let api = &stack.api;
    let user = api.user("customer").await;
    let stranger = format!("nobody-{}@example.com", uuid::Uuid::new_v4().simple());
    for address in [&user.email, &stranger] {
        assert_eq!(ask_reset(&stack, address).await.0, 202);
        assert_eq!(ask_reset(&stack, address).await.0, 202);
        let (status, body) = ask_reset(&stack, address).await;
        assert_eq!(status, 429, "{address}: {body}");
    }
    let delivered = sink.wait_for(&user.email, 2).await;
    let first = token_of(&link_in(&delivered[0]));
    let second = token_of(&link_in(&delivered[1]));
    assert_ne!(first, second);
    // The first link's hour is over.
    api.db
        .collection::<Document>("password_resets")
        .update_one(
            doc! { "token_hash": hex::encode(Sha256::digest(first.as_bytes())) },
            doc! { "$set": { "expires_at": DateTime::from_millis(DateTime::now().timestamp_millis() - 1000) } },
        )
        .await
        .expect("expire");
    let confirm = |token: &str| {
        api.call(
            Method::POST,
            "/api/auth/password-reset/confirm",
            None,
            Some(json!({ "token": token, "password": "fresh password 1" })),
        )
    };
    assert_eq!(confirm(&first).await.status(), 400);
    assert_eq!(confirm("not-a-token").await.status(), 400);
    assert_eq!(confirm(&second).await.status(), 204);
    assert_eq!(
        login_status(&stack, &user.email, "fresh password 1").await,
        200
    );
    stack.stop().await;
    sink.stop().await;
}

/// A profile edit: the name at once; a new e-mail only from the link sent
/// to it, through the page's button, after which the old address is told
/// and every session has ended.
#[tokio::test]
async fn a_new_email_counts_once_its_owner_confirms_it() {
    let (stack, sink) = stack_with_mail(&unique_db(), |_| {}).await;
    let api = &stack.api;
    let user = api.user("customer").await;
    let other = api.user("customer").await;
    let edit = |body: Value| api.json_call(Method::PATCH, "/api/auth/me", Some(&user), Some(body));

    let renamed = edit(json!({ "name": "Ana Pérez" })).expect(200).await;
    assert_eq!(renamed["user"]["name"], "Ana Pérez");
    let taken = edit(json!({ "email": other.email })).expect(409).await;
    assert_eq!(taken["code"], "email-taken");
    edit(json!({ "email": "not an address" })).expect(422).await;

    let new_email = format!("nueva.{}@example.com", uuid::Uuid::new_v4().simple());
    let asked = edit(json!({ "email": new_email.to_uppercase() }))
        .expect(200)
        .await;
    assert_eq!(asked["pending_email"], new_email.as_str());
    assert_eq!(
        asked["user"]["email"],
        user.email.as_str(),
        "unchanged until confirmed"
    );
    assert_eq!(login_status(&stack, &user.email, &user.password).await, 200);

    let delivered = sink.wait_for(&new_email, 1).await;
    let link = link_in(&delivered[0]);
    assert!(
        link.starts_with(&api.url("/confirm-email?token=")),
        "{link}"
    );
    // Opening the page changes nothing; its button does.
    let page = reqwest::get(&link).await.expect("page");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("html").contains("<button"));
    assert_eq!(login_status(&stack, &new_email, &user.password).await, 401);
    let token = token_of(&link);
    let confirmed = reqwest::Client::new()
        .post(api.url("/confirm-email"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .expect("confirm");
    assert_eq!(confirmed.status(), 200);

    assert_eq!(login_status(&stack, &new_email, &user.password).await, 200);
    assert_eq!(login_status(&stack, &user.email, &user.password).await, 401);
    let refreshed = api
        .call(
            Method::POST,
            "/api/auth/refresh",
            None,
            Some(json!({ "refresh_token": user.refresh_token })),
        )
        .await;
    assert_eq!(refreshed.status(), 401, "sessions ended with the change");
    let told = sink.wait_for(&user.email, 1).await;
    assert!(
        told[0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains(&new_email),
        "{told:?}"
    );
    // The link worked once.
    let again = api
        .expect(
            400,
            Method::POST,
            "/api/auth/email/confirm",
            None,
            Some(json!({ "token": token })),
        )
        .await;
    assert_eq!(again["code"], "email-link-invalid");
    stack.stop().await;
    sink.stop().await;
}
