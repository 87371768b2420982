//! The Cloudinary fake holds the service to Cloudinary's rules, so it must
//! itself be right: documented vectors, refusals, and what the SDKs send.

use std::time::{Duration, Instant};

use avenue_media::store::cloudinary::{sign_params, SignatureAlgorithm};
use avenue_tests::cloudinary_fake::{fake_signature, CloudinaryFake, Failure};
use avenue_tests::fixtures;
use base64::Engine;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

fn now() -> String {
    time::OffsetDateTime::now_utc().unix_timestamp().to_string()
}

/// A signed form with `params`, the file part added by the caller.
fn signed_form(fake: &CloudinaryFake, params: &[(&str, &str)], sha256: bool) -> Form {
    let algorithm = if sha256 {
        SignatureAlgorithm::Sha256
    } else {
        SignatureAlgorithm::Sha1
    };
    let signature = sign_params(params.iter().copied(), &fake.api_secret, algorithm);
    let mut form = Form::new()
        .text("api_key", fake.api_key.clone())
        .text("signature", signature);
    for (k, v) in params {
        form = form.text(k.to_string(), v.to_string());
    }
    form
}

fn endpoint(fake: &CloudinaryFake, action: &str) -> String {
    format!("{}/v1_1/{}/image/{action}", fake.base_url, fake.cloud)
}

type Param<'a> = (&'a str, &'a str);

#[test]
fn the_fake_signs_the_documented_vectors() {
    let ts = ("timestamp", "1315060510");
    let eager = ("eager", "w_400,h_300,c_pad|w_260,h_200,c_crop");
    let cases: [(&[Param], bool, &str); 5] = [
        (
            &[("public_id", "sample_image"), ts],
            false,
            "b4ad47fb4e25c7bf5f92a20089f9db59bc302313",
        ),
        (
            &[("public_id", "sample_image"), ts, eager],
            false,
            "bfd09f95f331f558cbd1320e67aa8d488770583e",
        ),
        (
            &[("public_id", "sample_image"), ts, eager],
            true,
            "cc927e1290f9e3ae4c1a741eda21a4630b4ce80f9ce0bc0296337d25cf40f91e",
        ),
        (
            &[("tags", "a,b"), ts],
            false,
            "65164dbf37d1fee0fd0a62608ca9a4f200ea87dd",
        ),
        (
            &[("public_id", "a&b"), ts],
            false,
            "0a9fe2d8ce2fab414604306325ec19423e4fbf2b",
        ),
    ];
    for (params, sha256, expected) in cases {
        assert_eq!(
            fake_signature(params, "abcd", sha256).1,
            expected,
            "{params:?}"
        );
    }
}

#[tokio::test]
async fn signed_uploads_are_stored_looked_up_and_destroyed() {
    let fake = CloudinaryFake::start().await;
    let http = reqwest::Client::new();
    let ts = now();
    let png = fixtures::png(12, 8, 1);
    // Streamed without a length: the body goes out chunked, as SDKs may send it.
    let stream = futures::stream::iter(vec![Ok::<_, std::io::Error>(png.clone())]);
    let form = signed_form(
        &fake,
        &[
            ("public_id", "a&b"),
            ("folder", "shop"),
            ("tags", "x,y"),
            ("timestamp", &ts),
        ],
        false,
    )
    .part(
        "file",
        Part::stream(reqwest::Body::wrap_stream(stream)).file_name("a.png"),
    );
    let response = http
        .post(endpoint(&fake, "upload"))
        .multipart(form)
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["public_id"], "shop/a&b");
    assert_eq!(
        (body["width"].as_u64(), body["height"].as_u64()),
        (Some(12), Some(8))
    );
    assert_eq!(body["format"], "png");
    assert_eq!(fake.resource("shop/a&b").expect("stored").bytes, png);

    let lookup = http
        .get(format!(
            "{}/v1_1/{}/resources/image/upload/shop/a&b",
            fake.base_url, fake.cloud
        ))
        .basic_auth(&fake.api_key, Some(&fake.api_secret))
        .send()
        .await
        .expect("answer");
    assert_eq!(lookup.status(), 200);
    let unauthorised = http
        .get(format!(
            "{}/v1_1/{}/resources/image/upload/shop/a&b",
            fake.base_url, fake.cloud
        ))
        .basic_auth(&fake.api_key, Some("wrong"))
        .send()
        .await
        .expect("answer");
    assert_eq!(unauthorised.status(), 401);

    for expected in ["ok", "not found"] {
        let ts = now();
        let form = signed_form(
            &fake,
            &[
                ("public_id", "shop/a&b"),
                ("invalidate", "true"),
                ("timestamp", &ts),
            ],
            false,
        );
        let destroyed: Value = http
            .post(endpoint(&fake, "destroy"))
            .multipart(form)
            .send()
            .await
            .expect("answer")
            .json()
            .await
            .expect("json");
        assert_eq!(destroyed["result"], expected);
    }
    assert_eq!(fake.resource_count(), 0);
}

#[tokio::test]
async fn data_uris_and_sha256_accounts_are_accepted() {
    let fake = CloudinaryFake::start_with(true).await;
    let uri = format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(fixtures::png(5, 5, 2))
    );
    let ts = now();
    // The file is a signed-excluded text field here, sent without a Content-Type.
    let form =
        signed_form(&fake, &[("public_id", "d"), ("timestamp", &ts)], true).text("file", uri);
    let response = reqwest::Client::new()
        .post(endpoint(&fake, "upload"))
        .multipart(form)
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 200);
    assert_eq!(fake.resource("d").expect("stored").width, 5);
}

#[tokio::test]
async fn bad_signatures_keys_and_stale_timestamps_are_refused() {
    let fake = CloudinaryFake::start().await;
    let http = reqwest::Client::new();
    let file = || Part::bytes(fixtures::png(4, 4, 3)).file_name("x.png");
    let error_of = |v: Value| {
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };

    let ts = now();
    let tampered = signed_form(&fake, &[("public_id", "p"), ("timestamp", &ts)], false)
        .text("tags", "added-after-signing")
        .part("file", file());
    let r = http
        .post(endpoint(&fake, "upload"))
        .multipart(tampered)
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 401);
    assert!(error_of(r.json().await.expect("json")).starts_with("Invalid Signature"));

    let sha256_for_sha1 =
        signed_form(&fake, &[("public_id", "p"), ("timestamp", &ts)], true).part("file", file());
    let r = http
        .post(endpoint(&fake, "upload"))
        .multipart(sha256_for_sha1)
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 401);

    let stale = (time::OffsetDateTime::now_utc().unix_timestamp() - 2 * 3600).to_string();
    let old = signed_form(&fake, &[("public_id", "p"), ("timestamp", &stale)], false)
        .part("file", file());
    let r = http
        .post(endpoint(&fake, "upload"))
        .multipart(old)
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 400);
    assert!(error_of(r.json().await.expect("json")).starts_with("Stale request"));

    let wrong_key = Form::new()
        .text("api_key", "1")
        .text("timestamp", ts.clone())
        .text(
            "signature",
            sign_params(
                [("timestamp", ts.as_str())],
                &fake.api_secret,
                SignatureAlgorithm::Sha1,
            ),
        )
        .part("file", file());
    let r = http
        .post(endpoint(&fake, "upload"))
        .multipart(wrong_key)
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 401);
    assert_eq!(fake.resource_count(), 0);
}

#[tokio::test]
async fn queued_failures_are_served_in_order() {
    let fake = CloudinaryFake::start().await;
    fake.fail_next([
        Failure::Status(420),
        Failure::Status(500),
        Failure::Slow(Duration::from_millis(300)),
    ]);
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    let started = Instant::now();
    for _ in 0..4 {
        let ts = now();
        let form = signed_form(&fake, &[("public_id", "f"), ("timestamp", &ts)], false).part(
            "file",
            Part::bytes(fixtures::png(4, 4, 4)).file_name("f.png"),
        );
        let r = http
            .post(endpoint(&fake, "upload"))
            .multipart(form)
            .send()
            .await
            .expect("answer");
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, vec![420, 500, 200, 200]);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(fake.calls("upload"), 4);
}
