//! The conformance suite for Cloudinary's URL language (issue 29): URLs
//! written by Cloudinary's official SDKs, answered by avenue-media, and
//! checked against Pillow doing what the documentation says the URL
//! means. `geometry` covers crops, pads and turns pixel by pixel,
//! `grammar` the shapes of the URL itself (named transformations beside
//! other parameters, flags, defaults, encoding) and the Cloudinary backend.

mod backgrounds;
mod effects;
mod faces;
mod geometry;
mod grammar;
mod hints;
mod layers;
mod nuxt;
mod pages_and_frames;
mod unsigned;
mod variables;

use avenue_media::config::RemoteDelivery;
use avenue_media::store::BackendKind;
use avenue_shared::MediaDescriptor;
use avenue_tests::cloudinary_fake::CloudinaryFake;
use avenue_tests::{spawn_media_with, MediaApp};

async fn stored(app: &MediaApp, bytes: Vec<u8>) -> MediaDescriptor {
    let response = app.upload(bytes, &[]).await;
    assert_eq!(response.status(), 201);
    response.json().await.expect("descriptor")
}

async fn decoded(response: reqwest::Response, what: &str) -> image::DynamicImage {
    assert_eq!(response.status(), 200, "{what}");
    let bytes = response.bytes().await.expect("body");
    image::load_from_memory(&bytes).expect("a decodable image")
}

/// The transformation and file a Cloudinary-mode app redirects `url` to:
/// what Cloudinary is sent, after its signature.
async fn sent_to_cloudinary(app: &MediaApp, url: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let full = app.url(url);
    let answer = client.get(&full).send().await.expect("answer");
    assert_eq!(answer.status(), 302, "{full}");
    let location = answer.headers()["location"].to_str().expect("ascii");
    location
        .split_once("/upload/")
        .and_then(|(_, tail)| tail.split_once('/'))
        .map(|(_, signed)| signed.to_owned())
        .expect("a signed delivery path")
}

/// An app on the Cloudinary backend (the fake, kept alive by the caller)
/// that redirects deliveries there, so the text it sends can be read.
async fn redirecting_to_cloudinary() -> (CloudinaryFake, MediaApp) {
    let fake = CloudinaryFake::start().await;
    let cloudinary = fake.settings();
    let app = spawn_media_with(|s| {
        s.backend = BackendKind::Cloudinary;
        s.cloudinary = Some(cloudinary);
        s.delivery.remote = RemoteDelivery::Redirect;
    })
    .await;
    (fake, app)
}
