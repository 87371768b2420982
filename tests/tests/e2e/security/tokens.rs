//! No token outlives its rights, no mailed secret is stored, no guessed
//! token buys a hash (findings 4 to 7).

use std::time::Duration;

use avenue_api::config::Secret;
use avenue_tests::api::{spawn_stack_on, Stack, TestUser};
use avenue_tests::mail::{link_in, token_of, MailSink};
use avenue_tests::unique_db;
use reqwest::Method;
use serde_json::{json, Value};

use super::eventually;

async fn media_status(stack: &Stack, user: &TestUser, method: Method, path: &str) -> u16 {
    stack
        .media
        .http
        .request(method, stack.media.url(path))
        .bearer_auth(&user.token)
        .send()
        .await
        .expect("media answers")
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_demoted_admins_token_stops_working_at_media_within_seconds() {
    // Finding 4: media trusted the token's role for its 15 minutes.
    let stack = spawn_stack_on(&unique_db(), |_| {}).await;
    let boss = stack.api.admin().await;
    let demoted = stack.api.admin().await;
    let image = stack.image(3).await;
    assert_eq!(
        media_status(&stack, &demoted, Method::GET, "/v1/media").await,
        200
    );
    stack
        .api
        .expect(
            200,
            Method::PUT,
            &format!("/api/users/{}/role", demoted.id),
            Some(&boss.token),
            Some(json!({ "role": "customer" })),
        )
        .await;
    // The api refuses it at once; media within its recheck (5 s).
    stack
        .api
        .expect(401, Method::GET, "/api/auth/me", Some(&demoted.token), None)
        .await;
    let stopped = eventually(Duration::from_secs(8), || async {
        media_status(&stack, &demoted, Method::GET, "/v1/media").await == 401
    })
    .await;
    assert!(stopped, "still listing at media");
    assert_eq!(
        media_status(
            &stack,
            &demoted,
            Method::DELETE,
            &format!("/v1/media/{image}")
        )
        .await,
        401
    );
    assert_eq!(
        stack.media.count("media", mongodb::bson::doc! {}).await,
        1,
        "nothing deleted"
    );
    // The other admin's token, checked the same way, still holds.
    assert_eq!(
        media_status(&stack, &boss, Method::GET, "/v1/media").await,
        200
    );
    stack.stop().await;
}

async fn me_status(stack: &Stack, token: &str) -> u16 {
    stack
        .api
        .call(Method::GET, "/api/auth/me", Some(token), None)
        .await
        .status()
        .as_u16()
}

/// The token of the link in a delivered message's text part.
fn token_in(message: &Value) -> String {
    token_of(&link_in(message))
}

#[tokio::test]
async fn mailed_secrets_are_stored_nowhere_and_old_tokens_end_with_the_change() {
    let sink = MailSink::start().await;
    let smtp = sink.url();
    let stack = spawn_stack_on(&unique_db(), move |s| {
        s.email.smtp_url = Some(Secret::new(smtp));
    })
    .await;
    let api = &stack.api;
    let admin = api.admin().await;
    let user = api.user("customer").await;

    // Finding 7: a guessed token must not buy a hash.
    let before = api.hasher.runs();
    for n in 0..20 {
        let guess = format!("{n:0>43}");
        let refused = api
            .expect(
                400,
                Method::POST,
                "/api/auth/password-reset/confirm",
                None,
                Some(json!({ "token": guess, "password": "a long enough secret" })),
            )
            .await;
        assert_eq!(refused["code"], "reset-link-invalid");
    }
    assert_eq!(api.hasher.runs(), before, "refused confirms ran argon2");

    // Finding 5: the reset link's token was readable in the email log.
    api.expect(
        202,
        Method::POST,
        "/api/auth/password-reset",
        None,
        Some(json!({ "email": user.email })),
    )
    .await;
    let delivered = sink.wait_for(&user.email, 1).await;
    let reset_token = token_in(&delivered[0]);
    assert!(
        api.mentions(&[reset_token.as_str()]).await.is_empty(),
        "the live token is stored: {:?}",
        api.mentions(&[reset_token.as_str()]).await
    );
    let logs = api
        .expect(
            200,
            Method::GET,
            &format!("/api/admin/email-logs?to={}", user.email),
            Some(&admin.token),
            None,
        )
        .await;
    let logged = logs.to_string();
    assert!(!logged.contains(&reset_token), "{logged}");
    assert!(logged.contains("token=withheld-until-sent"), "{logged}");

    // Finding 6: tokens issued before a reset held for their 15 minutes.
    assert_eq!(me_status(&stack, &user.token).await, 200);
    api.expect(
        204,
        Method::POST,
        "/api/auth/password-reset/confirm",
        None,
        Some(json!({ "token": reset_token, "password": "the second secret" })),
    )
    .await;
    assert_eq!(me_status(&stack, &user.token).await, 401, "after a reset");
    let after_reset = api.login(&user.email, "the second secret").await;
    assert_eq!(me_status(&stack, &after_reset.token).await, 200);

    // An e-mail change: its link is not stored either, and confirming ends
    // the tokens issued before.
    let new_email = format!("moved-{}@example.com", uuid::Uuid::new_v4().simple());
    api.json_call(
        Method::PATCH,
        "/api/auth/me",
        Some(&after_reset),
        Some(json!({ "email": new_email })),
    )
    .expect(200)
    .await;
    let delivered = sink.wait_for(&new_email, 1).await;
    let change_token = token_in(&delivered[0]);
    assert!(api.mentions(&[change_token.as_str()]).await.is_empty());
    api.expect(
        200,
        Method::POST,
        "/api/auth/email/confirm",
        None,
        Some(json!({ "token": change_token })),
    )
    .await;
    assert_eq!(
        me_status(&stack, &after_reset.token).await,
        401,
        "after an e-mail change"
    );

    // A password change, and a deactivation undone, end them too.
    let current = api.login(&new_email, "the second secret").await;
    api.expect(
        204,
        Method::POST,
        "/api/auth/password",
        Some(&current.token),
        Some(
            json!({ "current_password": "the second secret", "new_password": "the third secret" }),
        ),
    )
    .await;
    assert_eq!(
        me_status(&stack, &current.token).await,
        401,
        "after a password change"
    );
    let current = api.login(&new_email, "the third secret").await;
    for action in ["deactivate", "reactivate"] {
        api.expect(
            200,
            Method::POST,
            &format!("/api/users/{}/{action}", current.id),
            Some(&admin.token),
            None,
        )
        .await;
    }
    assert_eq!(
        me_status(&stack, &current.token).await,
        401,
        "after deactivate and reactivate"
    );
    assert_eq!(
        me_status(
            &stack,
            &api.login(&new_email, "the third secret").await.token
        )
        .await,
        200
    );
    stack.stop().await;
    sink.stop().await;
}
