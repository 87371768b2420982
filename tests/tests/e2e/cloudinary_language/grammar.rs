//! The URL's own shapes as front ends write them: named transformations
//! beside other parameters and chained with dots, flags, default images,
//! values encoded once, what is refused and why, and the canonical text
//! the Cloudinary backend is sent.

use avenue_shared::ErrorBody;
use avenue_tests::sdk::node_url;
use avenue_tests::{fixtures, signed_path, spawn_media, DEV_SIGNING_SECRET};
use image::GenericImageView;
use serde_json::json;

use super::{decoded, redirecting_to_cloudinary, sent_to_cloudinary, stored};

const CHROME: (&str, &str) = ("accept", "image/avif,image/webp,*/*");

#[tokio::test]
async fn named_transformations_beside_f_auto_and_q_auto_are_one_rendering() {
    let app = spawn_media().await;
    let d = stored(&app, fixtures::landmarks(600, 400)).await;
    let id = d.id.to_string();
    let url = |options: serde_json::Value| node_url(&id, &options, DEV_SIGNING_SECRET);
    let combined =
        url(json!({"transformation": "card", "fetch_format": "auto", "quality": "auto"}));
    assert!(combined.contains("/f_auto,q_auto,t_card/"), "{combined}");
    let separate = format!("/image/upload/t_card/f_auto/{id}");
    let webp = [("accept", "image/webp,*/*")];
    let first = app.fetch(&combined, &webp).await;
    assert_eq!(
        first.status(),
        200,
        "{combined}: unsigned is fine in strict mode"
    );
    assert_eq!(first.headers()["content-type"], "image/webp");
    let etag = first.headers()["etag"].clone();
    assert_eq!(decoded(first, &combined).await.dimensions(), (400, 300));
    let renders = app.metric("avenue_media_variant_renders_total").await;
    let again = app.fetch(&separate, &webp).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["etag"], etag, "one rendering, one ETag");
    assert_eq!(
        app.metric("avenue_media_variant_renders_total").await,
        renders,
        "nothing rendered twice"
    );

    // Two names chained with a dot: a chain, signed or refused.
    let chained = url(json!({"transformation": ["thumb", "card"]}));
    assert!(chained.contains("/t_thumb.card/"), "{chained}");
    assert_eq!(app.fetch(&chained, &[]).await.status(), 403, "{chained}");
    let signed = url(json!({"transformation": ["thumb", "card"], "sign_url": true}));
    let image = decoded(app.fetch(&signed, &[CHROME]).await, &signed).await;
    assert_eq!(image.dimensions(), (400, 300));
    let unknown = app
        .fetch(&signed_path("t_nope", &format!("{id}.png")), &[])
        .await;
    assert_eq!(unknown.status(), 400);
    let body: ErrorBody = unknown.json().await.expect("error body");
    assert!(
        body.message.starts_with("t: no preset named 'nope'"),
        "{}",
        body.message
    );
    app.stop().await;
}

#[tokio::test]
async fn flags_change_the_answer_where_cloudinary_says() {
    let app = spawn_media().await;
    let source = fixtures::landmarks(300, 200);
    let d = stored(&app, source.clone()).await;
    let id = d.id.to_string();
    let url = |options: serde_json::Value| node_url(&id, &options, DEV_SIGNING_SECRET);

    // A download of the original under a name: the bytes as uploaded.
    let named = url(json!({"flags": "attachment:lookbook", "sign_url": true}));
    let answer = app.fetch(&named, &[]).await;
    assert_eq!(answer.status(), 200, "{named}");
    assert_eq!(
        answer.headers()["content-disposition"],
        "attachment; filename=\"lookbook.png\""
    );
    assert_eq!(
        answer.bytes().await.expect("body").as_ref(),
        source.as_slice()
    );
    let bare = url(
        json!({"flags": "attachment", "width": 40, "crop": "scale", "format": "jpg", "sign_url": true}),
    );
    let answer = app.fetch(&bare, &[]).await;
    assert_eq!(
        answer.headers()["content-disposition"],
        format!("attachment; filename=\"{id}.jpg\"").as_str()
    );

    // Progressive JPEG: a SOF2 frame instead of SOF0.
    let frame = |bytes: &[u8], marker: u8| bytes.windows(2).any(|w| w == [0xFF, marker]);
    let plain = url(json!({"width": 100, "crop": "scale", "format": "jpg", "sign_url": true}));
    let plain = app.fetch(&plain, &[]).await.bytes().await.expect("body");
    assert!(frame(&plain, 0xC0) && !frame(&plain, 0xC2));
    let progressive = url(
        json!({"width": 100, "crop": "scale", "format": "jpg", "flags": "progressive", "sign_url": true}),
    );
    let progressive = app
        .fetch(&progressive, &[])
        .await
        .bytes()
        .await
        .expect("body");
    assert!(frame(&progressive, 0xC2) && !frame(&progressive, 0xC0));

    // IPTC (captions, credits) survives only when asked to.
    let credit = b"Photoshop 3.0\0credit: Avenue studio";
    let mut segment = vec![0xFF, 0xED];
    segment.extend_from_slice(
        &u16::try_from(credit.len() + 2)
            .expect("small")
            .to_be_bytes(),
    );
    segment.extend_from_slice(credit);
    let mut photo = fixtures::jpeg(120, 80, 3);
    photo.splice(2..2, segment.iter().copied());
    let p = stored(&app, photo).await.id.to_string();
    let has_credit = |bytes: &[u8]| {
        bytes
            .windows(segment.len())
            .any(|w| w == segment.as_slice())
    };
    for (flags, kept) in [
        (None, false),
        (Some("keep_iptc"), true),
        (Some("keep_attribution"), true),
    ] {
        let mut options = json!({"width": 60, "crop": "scale", "sign_url": true});
        if let Some(flags) = flags {
            options["flags"] = json!(flags);
        }
        let written = node_url(&p, &options, DEV_SIGNING_SECRET);
        let bytes = app.fetch(&written, &[]).await.bytes().await.expect("body");
        assert_eq!(has_credit(&bytes), kept, "{written}");
        assert!(image::load_from_memory(&bytes).is_ok(), "{written}");
    }

    // Flags about headers and caching parse and change no pixel.
    for flags in [
        "immutable_cache",
        "strip_profile",
        "lossy",
        "no_overflow",
        "preserve_transparency",
    ] {
        let written = url(json!({"width": 40, "crop": "scale", "flags": flags, "sign_url": true}));
        let image = decoded(app.fetch(&written, &[]).await, &written).await;
        assert_eq!(image.dimensions(), (40, 27), "{written}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_default_image_stands_in_for_a_missing_one_briefly() {
    let app = spawn_media().await;
    let d = stored(&app, fixtures::landmarks(300, 200)).await;
    let missing = "00000000000000000000000000000000";
    let options = json!({"default_image": format!("{}.png", d.id), "width": 60, "crop": "scale", "sign_url": true});
    let url = node_url(missing, &options, DEV_SIGNING_SECRET);
    assert!(url.contains(&format!("d_{}.png", d.id)), "{url}");
    let answer = app.fetch(&url, &[]).await;
    assert_eq!(answer.status(), 200, "{url}");
    assert_eq!(answer.headers()["cache-control"], "public, max-age=60");
    assert_eq!(decoded(answer, &url).await.dimensions(), (60, 40));
    // The image itself, when it exists, wins over the default.
    let present = node_url(&d.id.to_string(), &options, DEV_SIGNING_SECRET);
    let answer = app.fetch(&present, &[]).await;
    assert!(answer.headers()["cache-control"]
        .to_str()
        .expect("ascii")
        .contains("immutable"));
    // Without a default, a missing image is a 404; a default that is not
    // a media id is a 400.
    let plain = node_url(
        missing,
        &json!({"width": 60, "crop": "scale", "sign_url": true}),
        DEV_SIGNING_SECRET,
    );
    assert_eq!(app.fetch(&plain, &[]).await.status(), 404);
    let nonsense = node_url(
        missing,
        &json!({"default_image": "avatar.png", "sign_url": true}),
        DEV_SIGNING_SECRET,
    );
    assert_eq!(app.fetch(&nonsense, &[]).await.status(), 400);
    app.stop().await;
}

#[tokio::test]
async fn values_are_decoded_once_split_and_refusals_name_the_parameter() {
    let app = spawn_media().await;
    let d = stored(&app, fixtures::landmarks(300, 200)).await;
    let file = format!("{}.png", d.id);
    let encoded = signed_path("b_rgb%3A00ff00,c_pad,h_100,w_100", &file);
    let image = decoded(app.fetch(&encoded, &[]).await, &encoded).await;
    assert_eq!(image.get_pixel(50, 2).0, [0, 255, 0, 255]);
    for (transformation, parameter) in [
        ("fl_layer_apply", "fl"),
        ("fl_bogus", "fl"),
        ("$1w_100", "$1w"),
        ("if_w_gt_100", "if"),
        ("if_fc_gt_0,w_10", "if"),
        ("w_iw_mul_20", "w"),
        ("$half_iw_div_0/w_$half", "$half"),
        ("c_crop,z_20", "z"),
        ("a_3601", "a"),
        ("g_auto,c_pad,w_10,h_10", "g"),
        ("c_fill_pad,w_10,h_10", "c"),
        ("x_99999", "x"),
        ("b_auto:border_gradient:3,c_pad,w_10,h_10", "b"),
        ("e_blur:3000", "e"),
        ("e_oil_paint", "e"),
        ("r_1:2:3:4:5", "r"),
        ("bo_5px_dotted_black", "bo"),
        ("o_120", "o"),
        ("co_notacolour,e_colorize", "co"),
        (
            "b_auto:predominant_gradient:palette_red_nocolour,c_pad,w_10,h_10",
            "b",
        ),
    ] {
        let answer = app.fetch(&signed_path(transformation, &file), &[]).await;
        assert_eq!(answer.status(), 400, "{transformation}");
        let body: ErrorBody = answer.json().await.expect("error body");
        assert!(
            body.message.starts_with(&format!("{parameter}: ")),
            "{transformation}: {}",
            body.message
        );
    }
    app.stop().await;
}

/// In Cloudinary mode the canonical text is what Cloudinary is sent, the
/// named transformation expanded and the default image resolved here.
#[tokio::test]
async fn the_cloudinary_backend_is_sent_the_canonical_text() {
    let (_fake, app) = redirecting_to_cloudinary().await;
    let d = stored(&app, fixtures::landmarks(300, 200)).await;
    let id = d.id.to_string();

    for (options, text) in [
        (
            json!({"crop": "crop", "gravity": "xy_center", "x": 150, "y": 100, "width": 60, "height": 40, "angle": "hflip", "sign_url": true}),
            "a_hflip,c_crop,g_xy_center,h_40,w_60,x_150,y_100/",
        ),
        (
            json!({"transformation": "card", "fetch_format": "auto", "quality": "auto"}),
            "c_fill,g_auto,h_300,w_400/f_auto,q_auto/",
        ),
        (
            json!({"transformation": [{"if": "w > 1000"}, {"crop": "scale", "width": "iw / 2"}, {"if": "end"}], "sign_url": true}),
            "if_w_gt_1000/c_scale,w_iw_div_2/if_end/",
        ),
        (
            json!({"crop": "lpad", "width": 400, "height": 400, "background": "lightblue", "flags": ["progressive", "attachment:look"], "sign_url": true}),
            "b_rgb:add8e6ff,c_lpad,fl_progressive.attachment:look,h_400,w_400/",
        ),
        (
            json!({"crop": "fill", "width": 200, "height": 200, "radius": "max", "effect": "blur", "border": "2px_solid_red", "opacity": 70, "sign_url": true}),
            "bo_2px_solid_rgb:ff0000ff,c_fill,e_blur:100,h_200,o_70,r_max,w_200/",
        ),
        // Defaults written out, so equivalent spellings share a rendering.
        (
            json!({"crop": "pad", "width": 300, "height": 400, "background": "auto:predominant_gradient:vertical", "sign_url": true}),
            "b_auto:predominant_gradient:2:vertical,c_pad,h_400,w_300/",
        ),
    ] {
        let url = node_url(&id, &options, DEV_SIGNING_SECRET);
        let sent = sent_to_cloudinary(&app, &url).await;
        assert!(sent.starts_with(text), "{url} was sent as {sent}");
    }
    // A default image is looked up here and its own Cloudinary id sent.
    let missing = "00000000000000000000000000000000";
    let options = json!({"default_image": format!("{id}.png"), "width": 60, "crop": "scale", "sign_url": true});
    let sent = sent_to_cloudinary(&app, &node_url(missing, &options, DEV_SIGNING_SECRET)).await;
    assert!(sent.starts_with("c_scale,w_60/avenue/"), "{sent}");
    assert!(!sent.contains("d_"), "{sent}");
    app.stop().await;
}
