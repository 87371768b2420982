//! The parser's own tables: what parses, what is refused and why, and
//! which spellings are one transformation.

use std::collections::HashMap;

use super::*;

fn parse(s: &str) -> Result<Transformation, TransformError> {
    Transformation::parse(s.split('/'))
}

#[test]
fn parses_cloudinary_parameters() {
    let t = parse("c_fill,w_400,h_300,g_north_east,q_80,f_webp,dpr_2,b_rgb:ff000080/ar_16:9,c_pad")
        .expect("valid");
    assert_eq!(t.steps.len(), 2);
    let s = &t.steps[0];
    assert_eq!(s.width, Some(Length::Pixels(400)));
    assert_eq!(s.height, Some(Length::Pixels(300)));
    assert_eq!(s.crop, Some(Crop::Fill));
    assert_eq!(s.gravity, Some(Gravity::NorthEast));
    assert_eq!(s.quality, Some(Quality::Value(80)));
    assert_eq!(s.format, Some(FormatRequest::Webp));
    assert_eq!(s.dpr, Some(2.0));
    assert_eq!(
        s.background,
        Some(Background::Colour(Rgba([255, 0, 0, 128])))
    );
    assert!((t.steps[1].aspect_ratio.expect("ar") - 16.0 / 9.0).abs() < 1e-9);
    assert_eq!(t.format(), Some(FormatRequest::Webp));
    assert_eq!(
        parse("w_0.5").expect("relative").steps[0].width,
        Some(Length::Relative(0.5))
    );
}

#[test]
fn canonical_form_ignores_parameter_order() {
    let a = parse("w_400,h_300,c_fill").expect("valid");
    let b = parse("c_fill,h_300,w_400").expect("valid");
    assert_eq!(a.canonical(), b.canonical());
    assert_eq!(a.canonical(), "c_fill,h_300,w_400");
    // The text other services receive: Cloudinary's own spellings.
    assert_eq!(
        parse("g_north_east,c_thumb,w_1.0,q_auto:eco,f_jpeg,ar_16:9")
            .expect("valid")
            .canonical(),
        "ar_1.777778,c_thumb,f_jpg,g_north_east,q_auto:eco,w_1.0"
    );
    assert_ne!(
        a.canonical(),
        parse("c_fit,h_300,w_400").expect("valid").canonical()
    );
}

#[test]
fn nonsense_is_refused_naming_the_parameter() {
    let cases = [
        ("w_0", "w"),
        ("w_-1", "w"),
        ("w_abc", "w"),
        ("w_4097", "w"),
        ("w_1.5", "w"),
        ("h_", "h"),
        ("c_stretch", "c"),
        ("g_up", "g"),
        ("q_0", "q"),
        ("q_101", "q"),
        ("q_auto:bogus", "q"),
        ("q_auto:good&x=1", "q"),
        ("f_bmp", "f"),
        ("dpr_9", "dpr"),
        ("ar_0:1", "ar"),
        ("b_rgb:zzzzzz", "b"),
        ("e_oil_paint", "e"),
        ("w_10,w_20", "w"),
        ("nonsense", "nonsense"),
        ("w_100,t_thumb", "t"),
        ("w_3000,dpr_2", "dpr"),
    ];
    for (input, parameter) in cases {
        let err = parse(input).expect_err(input);
        assert_eq!(err.parameter, parameter, "{input}: {err}");
    }
    assert!(parse(&"w_1,".repeat(400)).is_err());
    let chain = |n: u32| {
        (1..=n)
            .map(|i| format!("w_{i}"))
            .collect::<Vec<_>>()
            .join("/")
    };
    assert!(parse(&chain(super::MAX_COMPONENTS as u32)).is_ok());
    assert!(parse(&chain(super::MAX_COMPONENTS as u32 + 1)).is_err());
    assert_eq!(
        parse("w_100/").expect_err("empty").parameter,
        "transformation"
    );
    assert_eq!(
        parse(&format!("{}_1", "x".repeat(100)))
            .expect_err("long")
            .parameter
            .len(),
        24
    );
}

struct Names(HashMap<&'static str, &'static str>);

impl NamedTransformations for Names {
    fn named(&self, name: &str) -> Option<&str> {
        self.0.get(name).copied()
    }
}

fn names() -> Names {
    Names(HashMap::from([
        ("card", "c_fill,g_auto,h_300,w_400"),
        ("thumb", "c_thumb,g_auto,h_150,w_150"),
        ("two", "c_scale,w_800/c_crop,h_100,w_100"),
        ("loop", "t_loop"),
    ]))
}

fn with_names(s: &str) -> Result<Transformation, TransformError> {
    Transformation::parse_with(s.split('/'), &names())
}

/// What the SDKs write beside a named transformation is one rendering with
/// what a separate component writes, whatever the order.
#[test]
fn named_transformations_combine_and_chain() {
    let card = with_names("t_card").expect("card");
    for same in [
        "f_auto,q_auto,t_card",
        "t_card/f_auto",
        "q_auto,t_card",
        "t_card,fl_immutable_cache",
    ] {
        let t = with_names(same).expect(same);
        assert_eq!(t.rendering_key(), card.rendering_key(), "{same}");
        assert_eq!(t.steps[0], card.steps[0], "{same}");
    }
    assert_eq!(
        with_names("f_auto,q_auto,t_card").expect("ok").format(),
        Some(FormatRequest::Auto)
    );
    let chained = with_names("t_thumb.card").expect("two names");
    assert_eq!(chained.steps.len(), 2);
    assert_eq!(chained.steps[0].crop, Some(Crop::Thumb));
    assert_eq!(chained.steps[1].crop, Some(Crop::Fill));
    // Parameters beside a name act after it, as one more component.
    let after = with_names("t_two,a_90").expect("ok");
    assert_eq!(after.canonical(), "c_scale,w_800/c_crop,h_100,w_100/a_90");
    assert_eq!(with_names("t_nope").expect_err("unknown").parameter, "t");
    assert_eq!(
        with_names("t_loop").expect_err("nested forever").parameter,
        "t"
    );
    assert_eq!(
        with_names("t_card,t_thumb").expect_err("twice").parameter,
        "t"
    );
    assert_eq!(
        with_names("t_card.card.card.card.card")
            .expect_err("many")
            .parameter,
        "t"
    );
}

#[test]
fn values_are_decoded_after_splitting() {
    let t = parse("b_rgb%3Aff0000,c_pad,h_10,w_10").expect("encoded colon");
    assert_eq!(
        t.steps[0].background,
        Some(Background::Colour(Rgba([255, 0, 0, 255])))
    );
    let t = parse("fl_attachment%3Asummer").expect("encoded colon");
    assert_eq!(t.attachment(), Some(Some("summer")));
    assert_eq!(parse("w_%FF").expect_err("not utf-8").parameter, "w");
    assert_eq!(
        parse("fl_attachment:a%2Fb").expect_err("slash").parameter,
        "fl"
    );
}

#[test]
fn crops_offsets_rotations_backgrounds_and_flags_parse() {
    let t = parse("c_crop,g_xy_center,h_0.5,w_0.5,x_-20,y_0.25,z_1.5").expect("crop");
    let s = &t.steps[0];
    assert_eq!(s.crop, Some(Crop::Crop));
    assert_eq!(s.gravity, Some(Gravity::XyCenter));
    assert_eq!(
        (s.x, s.y),
        (Some(Offset::Pixels(-20)), Some(Offset::Relative(0.25)))
    );
    assert_eq!(s.zoom, Some(1.5));
    for mode in ["lfill", "lpad", "mfit", "mpad", "auto", "thumb", "limit"] {
        assert!(parse(&format!("c_{mode},w_10,h_10")).is_ok(), "{mode}");
    }
    assert!(parse("c_fill_pad,g_auto,w_10,h_10").is_ok());
    let r = parse("a_-90").expect("angle").steps[0].rotation.expect("a");
    assert_eq!(r.degrees, 270);
    let r = parse("a_hflip.45").expect("list").steps[0]
        .rotation
        .expect("a");
    assert!(r.hflip && !r.vflip && r.degrees == 45);
    assert!(parse("a_ignore").expect("ignore").ignores_orientation());
    assert_eq!(
        parse("a_auto_right,w_10,h_20").expect("auto").steps[0]
            .rotation
            .and_then(|r| r.auto),
        Some(true)
    );
    assert_eq!(
        parse("b_lightblue").expect("css").steps[0].background,
        Some(Background::Colour(Rgba([173, 216, 230, 255])))
    );
    assert_eq!(
        parse("b_rgb:f008").expect("short").steps[0].background,
        Some(Background::Colour(Rgba([255, 0, 0, 136])))
    );
    // Nuxt Image writes `#ff0000` as `rgb_ff0000` (nuxt/image#428); it
    // means what `rgb:` does, and is forwarded spelt that way.
    let nuxt = parse("b_rgb_ff0000,c_pad,w_10,h_10").expect("nuxt's spelling");
    assert_eq!(
        nuxt.steps[0].background,
        Some(Background::Colour(Rgba([255, 0, 0, 255])))
    );
    assert!(
        nuxt.canonical().starts_with("b_rgb:ff0000ff,"),
        "{}",
        nuxt.canonical()
    );
    assert_eq!(
        parse("b_auto:predominant").expect("auto").steps[0].background,
        Some(Background::Auto(AutoBackground::Predominant))
    );
    let t = parse("fl_progressive.lossy.strip_profile,fl_x").err();
    assert_eq!(t.map(|e| e.parameter), Some("fl".into()));
    let t = parse("fl_lossy.progressive.strip_profile.lossy").expect("flags");
    assert!(t.progressive());
    assert_eq!(t.steps[0].flags.len(), 3);
    assert!(!parse("fl_progressive:none").expect("none").progressive());
    assert_eq!(
        parse("fl_attachment").expect("bare").attachment(),
        Some(None)
    );
}

#[test]
fn new_nonsense_is_refused_naming_the_parameter() {
    for (input, parameter) in [
        ("c_imagga_crop", "c"),
        ("x_10001", "x"),
        ("x_1.5", "x"),
        ("y_--1", "y"),
        ("z_0", "z"),
        ("z_11", "z"),
        ("a_3601", "a"),
        ("a_spin", "a"),
        ("a_hflip.vflip.hflip.vflip.hflip", "a"),
        ("a_auto_right,w_10", "a"),
        ("g_auto,c_pad,w_10,h_10", "g"),
        ("g_auto,c_scale,w_10", "g"),
        ("c_fill_pad,w_10,h_10", "c"),
        ("b_notacolour", "b"),
        ("b_rgb:12345", "b"),
        ("b_auto:gradient_fade", "b"),
        ("fl_nonsense", "fl"),
        ("fl_layer_apply", "fl"),
        ("fl_progressive:fast", "fl"),
        ("fl_png8", "fl"),
        ("fl_force_icc", "fl"),
        ("fl_lossy:1", "fl"),
        ("$9width_100", "$9width"),
        ("$width_!text!", "$width"),
        ("if_w_gt_100", "if"),
    ] {
        let err = parse(input).expect_err(input);
        assert_eq!(err.parameter, parameter, "{input}: {err}");
    }
}

#[test]
fn the_rendering_key_ignores_what_changes_no_pixel() {
    let key = |s: &str| parse(s).expect(s).rendering_key();
    assert_eq!(
        key("c_fill,h_300,w_400"),
        key("c_fill,h_300,w_400,f_webp,q_auto/fl_attachment")
    );
    assert_eq!(
        key("c_fill,h_300,w_400"),
        key("f_auto/c_fill,h_300,w_400/q_50")
    );
    assert_ne!(
        key("c_fill,h_300,w_400"),
        key("c_fill,h_300,w_400,fl_progressive")
    );
    assert_ne!(key("c_fill,h_300,w_400"), key("c_fill,h_300,w_400/a_90"));
    assert_eq!(key("f_auto"), "");
    for text in [
        "f_auto",
        "q_50/fl_attachment",
        "fl_immutable_cache",
        "c_scale,w_10",
        "fl_progressive",
        "a_90",
        "dpr_2",
    ] {
        let t = parse(text).expect(text);
        assert_eq!(t.keeps_pixels(), t.rendering_key().is_empty(), "{text}");
    }
}

#[test]
fn canonical_text_of_new_parameters_reads_back() {
    for text in [
        "a_hflip.vflip.ignore.90,b_auto:predominant,c_lpad,h_100,w_200",
        "c_crop,g_xy_center,h_0.5,w_200,x_-0.25,y_10,z_2",
        "fl_attachment:a-b_c.keep_iptc.progressive:semi",
        "a_auto_left,c_fill,h_10,w_20",
        "a_0",
    ] {
        let t = parse(text).expect(text);
        let again = parse(&t.canonical()).expect("canonical parses");
        assert_eq!(again.canonical(), t.canonical(), "{text}");
        assert_eq!(again, t, "{text}");
    }
}

#[test]
fn pages_and_frames_are_picked_once_for_the_whole_chain() {
    let t = parse("w_300,pg_2,dn_75/c_fill,h_100").expect("valid");
    assert_eq!(t.canonical(), "dn_75,pg_2,w_300/c_fill,h_100");
    let pick = t.pick();
    assert_eq!((pick.page, pick.density), (Some(2), Some(75)));
    let t = parse("so_10p,eo_4/w_100").expect("valid");
    assert_eq!(t.canonical(), "eo_4,so_10p/w_100");
    assert_eq!(t.pick().start, Some(TimeOffset::Percent(10.0)));
    // Alone in a component, a pick still keeps the pixels' geometry, but
    // it names other pixels: the rendering key holds it.
    assert!(parse("pg_1").expect("valid").keeps_pixels());
    let frame = |text: &str| parse(text).expect("valid").rendering_key();
    assert_ne!(frame("so_70p/f_png"), frame("f_png"));
    assert_ne!(frame("so_70p"), frame("so_1"));
    for (text, culprit) in [
        ("pg_2/pg_3", "pg"),
        ("so_1/w_10,so_2", "so"),
        (
            "l_0123456789abcdef0123456789abcdef,pg_2/fl_layer_apply",
            "pg",
        ),
        ("pg_0", "pg"),
        ("dn_400", "dn"),
    ] {
        let err = parse(text).expect_err(text);
        assert_eq!(err.parameter, culprit, "{text}: {err}");
    }
}

#[test]
fn a_shadow_takes_the_offset_and_leaves_the_size() {
    let t = parse("e_shadow:50,x_12,y_-6,w_100,co_black").expect("valid");
    let step = &t.steps[0];
    assert_eq!(step.width, Some(Length::Pixels(100)));
    assert_eq!((step.x, step.y), (None, None));
    assert_eq!(t.canonical(), "co_rgb:000000ff,e_shadow:50,w_100,x_12,y_-6");
    assert_eq!(parse("e_shadow").expect("valid").canonical(), "e_shadow:40");
    assert!(parse("e_shadow:101").is_err());
}
