//! The conformance suite for Cloudinary's URL language (issue 29): URLs
//! written by Cloudinary's official SDKs, answered by avenue-media, and
//! checked against Pillow doing what the documentation says the URL
//! means. `geometry` covers crops, pads and turns pixel by pixel,
//! `grammar` the shapes of the URL itself (named transformations beside
//! other parameters, flags, defaults, encoding) and the Cloudinary backend.

mod backgrounds;
mod effects;
mod geometry;
mod grammar;
mod hints;
mod nuxt;
mod unsigned;
mod variables;

use avenue_shared::MediaDescriptor;
use avenue_tests::MediaApp;

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
