//! The api skeleton's probes.

use avenue_tests::{mongo_uri, spawn_api};

#[tokio::test]
async fn api_probes_follow_the_database() {
    let api = spawn_api(&mongo_uri(), "http://127.0.0.1:9").await;
    let health = api
        .http
        .get(format!("{}/healthz", api.address))
        .send()
        .await
        .expect("answer");
    assert_eq!(health.status(), 200);
    let ready = api
        .http
        .get(format!("{}/readyz", api.address))
        .send()
        .await
        .expect("answer");
    assert_eq!(ready.status(), 200);

    // Port 9 (discard) has no MongoDB behind it.
    let orphan = spawn_api(
        "mongodb://127.0.0.1:9/?directConnection=true",
        "http://127.0.0.1:9",
    )
    .await;
    let down = orphan
        .http
        .get(format!("{}/readyz", orphan.address))
        .send()
        .await
        .expect("answer");
    assert_eq!(down.status(), 503);
}
