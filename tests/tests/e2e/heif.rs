//! Phone photos: HEIC (HEVC in HEIF) and AVIF originals are accepted,
//! checked by decoding them at upload (libheif: libde265 and dav1d), get a
//! placeholder, and are decoded for every transformation. A HEIC is served
//! as uploaded under `.heic` only; every rendering is another format.

use avenue_shared::{ErrorBody, MediaDescriptor};
use avenue_tests::{fixtures, signed_path, spawn_media, MediaApp};
use image::GenericImageView;

async fn stored(app: &MediaApp, bytes: Vec<u8>) -> MediaDescriptor {
    let response = app.upload(bytes, &[]).await;
    assert_eq!(response.status(), 201);
    response.json().await.expect("descriptor")
}

async fn decoded(response: reqwest::Response) -> image::DynamicImage {
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.expect("body");
    image::load_from_memory(&bytes).expect("a decodable image")
}

/// Red on the left, blue on the right, after any lossy round trip.
fn shows_halves(image: &image::DynamicImage) {
    let (w, h) = image.dimensions();
    let left = image.get_pixel(w / 8, h / 2);
    let right = image.get_pixel(w - 1 - w / 8, h / 2);
    assert!(left[0] > 150 && left[2] < 100, "left {left:?}");
    assert!(right[2] > 150 && right[0] < 100, "right {right:?}");
}

#[tokio::test]
async fn heic_and_avif_originals_are_decoded_for_every_transformation() {
    let app = spawn_media().await;
    for (bytes, mime, ext) in [
        (fixtures::heic(600, 400), "image/heic", "heic"),
        (fixtures::avif(600, 400), "image/avif", "avif"),
    ] {
        let d = stored(&app, bytes.clone()).await;
        assert_eq!(d.content_type, mime);
        assert_eq!((d.width, d.height), (600, 400), "{mime}");
        let hash = d.placeholder.clone().expect("decoded, so a placeholder");
        let painted = blurhash::decode(&hash, 4, 1, 1.0).expect("a BlurHash");
        assert!(
            painted[0] > painted[2] && painted[14] > painted[12],
            "{mime}: {painted:?}"
        );
        assert!(d.url.ends_with(&format!("/image/upload/{}.{ext}", d.id)));

        // The original, as uploaded.
        let original = app
            .fetch(&format!("/image/upload/{}.{ext}", d.id), &[])
            .await;
        assert_eq!(original.status(), 200);
        assert_eq!(original.headers()["content-type"], mime);
        assert_eq!(
            original.bytes().await.expect("body").as_ref(),
            bytes.as_slice()
        );

        // Transformed: a preset, a signed crop, and f_auto for Chrome.
        let thumb = decoded(
            app.fetch(&format!("/image/upload/t_thumb/{}.jpg", d.id), &[])
                .await,
        )
        .await;
        assert_eq!(thumb.dimensions(), (150, 150), "{mime}");
        shows_halves(&thumb);
        let crop = decoded(
            app.fetch(
                &signed_path("c_fill,w_120,h_60", &format!("{}.webp", d.id)),
                &[],
            )
            .await,
        )
        .await;
        assert_eq!(crop.dimensions(), (120, 60), "{mime}");
        shows_halves(&crop);
        let auto = app
            .fetch(
                &format!("/image/upload/c_limit,f_auto,q_auto,w_320/{}.{ext}", d.id),
                &[("accept", "image/webp,image/*,*/*;q=0.8")],
            )
            .await;
        assert_eq!(auto.status(), 200, "{mime}");
        assert_eq!(auto.headers()["content-type"], "image/webp");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_heic_is_never_an_output_and_a_broken_one_is_refused_at_upload() {
    let app = spawn_media().await;
    let heic = fixtures::heic(200, 100);
    let d = stored(&app, heic.clone()).await;
    let response = app
        .fetch(&signed_path("c_scale,w_50", &format!("{}.heic", d.id)), &[])
        .await;
    assert_eq!(response.status(), 400);
    let body: ErrorBody = response.json().await.expect("envelope");
    assert!(body.message.contains("HEIC"), "{}", body.message);

    // Cut off in its pixels: the container parses, the picture does not.
    let cut = heic[..heic.len() * 2 / 3].to_vec();
    let response = app.upload(cut, &[]).await;
    assert_eq!(response.status(), 422);
    let body: ErrorBody = response.json().await.expect("envelope");
    assert_eq!(body.code, "unreadable-image", "{}", body.message);
    assert_eq!(app.storage_counts().await.0, 1, "only the whole one kept");
    app.stop().await;
}
