//! The api's probes, and its refusal to start without a database.

use avenue_tests::proxy::CuttableProxy;
use avenue_tests::{mongo_uri, spawn_api_with, unique_db};

#[tokio::test]
async fn api_probes_follow_the_database() {
    // The api reaches MongoDB through a proxy this test can cut.
    let target = mongo_uri()
        .trim_start_matches("mongodb://")
        .split(['/', '?'])
        .next()
        .expect("host:port")
        .to_owned();
    let link = CuttableProxy::start(target).await;
    let uri = format!("mongodb://127.0.0.1:{}/?directConnection=true", link.port);
    let api = spawn_api_with(&uri, &unique_db(), "http://127.0.0.1:9", |_| {}).await;
    let health = api
        .http
        .get(api.url("/healthz"))
        .send()
        .await
        .expect("answer");
    assert_eq!(health.status(), 200);
    let ready = api
        .http
        .get(api.url("/readyz"))
        .send()
        .await
        .expect("answer");
    assert_eq!(ready.status(), 200);

    link.cut();
    let down = api
        .http
        .get(api.url("/readyz"))
        .send()
        .await
        .expect("answer");
    assert_eq!(down.status(), 503);
    let alive = api
        .http
        .get(api.url("/healthz"))
        .send()
        .await
        .expect("answer");
    assert_eq!(
        alive.status(),
        200,
        "liveness does not depend on the database"
    );
    link.restore();
    let _ = api.db.drop().await;

    // Port 9 (discard) has no MongoDB behind it: start-up fails clearly.
    let settings = avenue_api::Settings::local(
        "mongodb://127.0.0.1:9/?directConnection=true",
        &unique_db(),
        "http://127.0.0.1:9",
    )
    .expect("settings");
    let refused = avenue_api::Application::build(settings).await;
    let err = refused.err().expect("no database, no start");
    assert!(format!("{err:#}").contains("MongoDB"), "{err:#}");
}
