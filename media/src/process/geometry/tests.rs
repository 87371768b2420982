//! Output sizes per mode, as Cloudinary documents them, and the bounds
//! every plan keeps.

use super::*;
use crate::process::transformation::Background;
use crate::process::transformation::Transformation;

fn output(src: (u32, u32), t: &str) -> Result<(u32, u32), TransformError> {
    let steps = Transformation::parse(t.split('/'))?.steps;
    let mut size = src;
    for step in &steps {
        size = plan(size.0, size.1, step)?.output();
    }
    Ok(size)
}

/// Expected sizes, as Cloudinary documents each crop mode.
#[test]
fn output_sizes_per_crop_mode() {
    let src = (3000, 2000);
    let table: &[(&str, (u32, u32))] = &[
        ("w_400", (400, 267)),
        ("c_scale,w_400", (400, 267)),
        ("c_scale,h_300", (450, 300)),
        ("c_scale,w_400,h_300", (400, 300)),
        ("c_scale,w_0.5", (1500, 1000)),
        ("c_fit,w_400,h_400", (400, 267)),
        ("c_fit,w_4000,h_4000", (4000, 2667)),
        ("c_fit,w_400", (400, 267)),
        ("c_limit,w_4000,h_4000", (3000, 2000)),
        ("c_limit,w_400,h_400", (400, 267)),
        ("c_limit,w_4000", (3000, 2000)),
        ("c_limit,h_500", (750, 500)),
        ("c_fill,w_400,h_400", (400, 400)),
        ("c_fill,w_400,h_300", (400, 300)),
        ("c_fill,w_100,h_1000", (100, 1000)),
        ("c_fill,w_400", (400, 267)),
        ("c_thumb,w_100,h_100", (100, 100)),
        ("c_pad,w_400,h_400", (400, 400)),
        ("c_pad,w_4000,h_100", (4000, 100)),
        ("c_fill,ar_1:1,w_300", (300, 300)),
        ("c_fill,ar_16:9", (3000, 1688)),
        ("c_fill,ar_1:2", (1000, 2000)),
        ("c_scale,ar_1.0", (3000, 3000)),
        ("w_200,dpr_2", (400, 267)),
        ("c_fill,w_400,h_300,dpr_2", (800, 600)),
        ("c_fill,w_400,h_300,dpr_1.5", (600, 450)),
        ("c_fill,w_400,h_300/c_scale,w_200", (200, 150)),
        ("c_pad,w_300,h_300,b_black/c_fill,w_100,h_50", (100, 50)),
        ("q_80", (3000, 2000)),
        ("c_crop,w_400,h_300", (400, 300)),
        ("c_crop,w_0.5,h_0.5", (1500, 1000)),
        ("c_crop,w_4000,h_300", (3000, 300)),
        ("c_crop,w_400", (400, 2000)),
        ("c_crop,w_400,h_300,z_2", (400, 300)),
        ("c_crop,w_400,h_300,x_2900,y_1900", (400, 300)),
        ("c_lfill,w_400,h_300", (400, 300)),
        ("c_lfill,w_4000,h_300", (3000, 300)),
        ("c_lfill,w_4000,h_3000", (3000, 2000)),
        ("c_lfill,w_4000", (3000, 2000)),
        ("c_mfit,w_400,h_400", (3000, 2000)),
        ("c_mfit,w_4000,h_4000", (4000, 2667)),
        ("c_lpad,w_4000,h_4000", (4000, 4000)),
        ("c_lpad,w_400,h_400", (400, 400)),
        ("c_mpad,w_400,h_400", (3000, 2000)),
        ("c_mpad,w_4000,h_4000", (4000, 4000)),
        ("c_fill_pad,g_auto,w_400,h_400", (400, 400)),
        ("c_auto,w_400,h_400", (400, 400)),
        ("c_thumb,w_100,h_100,z_1.5", (100, 100)),
        ("a_90", (2000, 3000)),
        ("a_hflip", (3000, 2000)),
        ("c_fill,w_400,h_300,a_90", (300, 400)),
        ("c_fill,w_400,h_300,a_-90", (300, 400)),
        ("a_auto_right,c_fill,w_300,h_400", (300, 400)),
        ("a_auto_left,c_fill,w_400,h_300", (400, 300)),
        ("c_scale,w_300,h_200/a_45", (354, 354)),
        ("c_scale,w_100/dpr_2", (200, 134)),
    ];
    for (t, expected) in table {
        assert_eq!(output(src, t).expect(t), *expected, "{t}");
    }
}

#[test]
fn outputs_over_the_limit_are_refused() {
    assert_eq!(
        output((3000, 2000), "w_3000,dpr_2")
            .expect_err("too wide")
            .parameter,
        "dpr"
    );
    assert_eq!(
        output((3000, 2000), "c_scale,w_0.9,dpr_2")
            .expect_err("too wide")
            .parameter,
        "dpr"
    );
    assert!(output((3000, 2000), "w_4096").is_ok());
    assert_eq!(
        output((3000, 2000), "ar_0.01,w_100")
            .expect_err("tall")
            .parameter,
        "ar"
    );
}

#[test]
fn fill_crops_by_gravity_and_pad_places_by_gravity() {
    let steps = Transformation::parse(["c_fill,w_400,h_400,g_east"])
        .expect("valid")
        .steps;
    let p = plan(3000, 2000, &steps[0]).expect("plan");
    // The window is cut from the input, then resized to the output.
    assert_eq!(p.resize, (400, 400));
    assert_eq!(
        p.pre_crop,
        Some(Rect {
            x: 1000,
            y: 0,
            width: 2000,
            height: 2000
        })
    );
    let steps = Transformation::parse(["c_pad,w_400,h_400,g_north,b_rgb:00ff00"])
        .expect("valid")
        .steps;
    let p = plan(3000, 2000, &steps[0]).expect("plan");
    assert_eq!(p.resize, (400, 267));
    let pad = p.pad.expect("pad");
    assert_eq!(
        (pad.x, pad.y, pad.colour),
        (0, 0, Background::Colour(Rgba([0, 255, 0, 255])))
    );
}

fn first_plan(t: &str) -> Plan {
    plan_chain(3000, 2000, &chain(t), &NoLayers).expect(t)[0].clone()
}

/// `c_crop` regions as Cloudinary places them: from the top left with
/// x/y alone, inward from the gravity's edge, centred with `xy_center`,
/// and pushed back inside the image at its edges.
#[test]
fn crop_regions_are_placed_and_kept_inside() {
    let region = |t: &str| {
        let w = first_plan(t).pre_crop.expect("a region");
        (w.x, w.y, w.width, w.height)
    };
    assert_eq!(region("c_crop,w_100,h_100"), (1450, 950, 100, 100));
    assert_eq!(region("c_crop,w_100,h_100,x_30,y_40"), (30, 40, 100, 100));
    assert_eq!(
        region("c_crop,g_south_east,w_100,h_100,x_10,y_20"),
        (2890, 1880, 100, 100)
    );
    assert_eq!(
        region("c_crop,g_xy_center,w_200,h_100,x_1000,y_500"),
        (900, 450, 200, 100)
    );
    assert_eq!(
        region("c_crop,g_xy_center,w_200,h_100,x_0.5,y_0.5"),
        (1400, 950, 200, 100)
    );
    assert_eq!(
        region("c_crop,w_100,h_100,x_2950,y_-20"),
        (2900, 0, 100, 100)
    );
    assert_eq!(
        region("c_crop,w_100,h_100,x_1000,y_1000,z_2"),
        (1025, 1025, 50, 50)
    );
    assert_eq!(
        region("c_fill,g_west,w_100,h_100,x_100"),
        (100, 0, 2000, 2000)
    );
    let lfill = first_plan("c_lfill,g_north,w_4000,h_300");
    assert_eq!(
        lfill.pre_crop.map(|w| (w.x, w.y, w.width, w.height)),
        Some((0, 0, 3000, 300))
    );
    let fill_pad = first_plan("c_fill_pad,g_auto,w_400,h_400");
    let (inner, pad) = fill_pad.fill_pad.expect("a padded alternative");
    assert_eq!((inner, pad.width, pad.height), ((400, 267), 400, 400));
    let turned = first_plan("a_auto_right,c_fill,w_300,h_400");
    assert_eq!(turned.pre_turn, Some(true));
    assert_eq!(turned.input_needed((3000, 2000)), (3000, 2000));
    assert_eq!(first_plan("a_auto_right,c_fill,w_400,h_300").pre_turn, None);
}

fn chain(t: &str) -> Transformation {
    Transformation::parse(t.split('/')).expect(t)
}

/// What was seen to abort the process or eat gigabytes, now planned
/// within bounds or refused naming the parameter.
#[test]
fn seen_attacks_are_bounded_or_refused() {
    let plans = plan_chain(
        3000,
        2000,
        &chain("c_scale,w_4096,h_1/c_fill,w_4096,h_4096"),
        &NoLayers,
    )
    .expect("bounded");
    assert_eq!(plans[1].resize, (4096, 4096));
    assert_eq!(plans[1].pre_crop.map(|w| (w.width, w.height)), Some((1, 1)));
    // t_hero on a 4000x4 strip: the window is cut first, so no
    // intermediate is larger than the output.
    let hero = plan_chain(
        4000,
        4,
        &chain("c_fill,g_auto,w_1600,h_900,q_auto"),
        &NoLayers,
    )
    .expect("ok");
    assert_eq!(hero[0].resize, (1600, 900));
    let window = hero[0].pre_crop.expect("window");
    assert!(window.width <= 4000 && window.height <= 4, "{window:?}");
    // t_thumb on a 1x50,000,000 strip (refused at upload, but may be stored).
    let thumb = plan_chain(
        1,
        50_000_000,
        &chain("c_thumb,g_auto,w_150,h_150"),
        &NoLayers,
    )
    .expect("ok");
    assert_eq!(thumb[0].resize, (150, 150));
    for (t, culprit) in [
        ("ar_0.1", "ar"),
        ("c_fill,ar_0.1,w_500,dpr_1", "ar"),
        ("c_fill,ar_0.1,w_500,dpr_2", "ar"),
        ("c_scale,w_10,h_4096/c_scale,w_4000", "w"),
        ("c_scale,w_1,h_4096/c_scale,w_2", "w"),
        ("c_scale,w_4096,h_1/h_4096", "h"),
    ] {
        let err = plan_chain(3000, 2000, &chain(t), &NoLayers).expect_err(t);
        assert_eq!(err.parameter, culprit, "{t}: {err}");
    }
}

#[test]
fn extreme_originals_are_named() {
    assert!(extreme_shape(1, 50_000_000).is_some());
    assert!(extreme_shape(30_001, 1_000).is_some());
    assert!(extreme_shape(4000, 4).is_some());
    assert!(extreme_shape(3001, 30).is_some());
    assert!(extreme_shape(3000, 30).is_none());
    assert!(extreme_shape(30_000, 20_000).is_none());
    assert!(extreme_shape(1, 1).is_none());
}

#[test]
fn a_plan_for_a_smaller_decode_keeps_its_output() {
    let plans = plan_chain(3000, 2000, &chain("c_fill,g_east,w_100,h_100"), &NoLayers).expect("ok");
    assert_eq!(plans[0].input_needed((3000, 2000)), (150, 100));
    let scaled = plans[0].clone().for_input((3000, 2000), (375, 250));
    assert_eq!(scaled.resize, (100, 100));
    assert_eq!(
        scaled.pre_crop,
        Some(Rect {
            x: 125,
            y: 0,
            width: 250,
            height: 250
        })
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn parameter() -> impl Strategy<Value = String> {
        let crops = [
            "scale", "fit", "limit", "mfit", "fill", "lfill", "fill_pad", "thumb", "crop", "pad",
            "lpad", "mpad", "auto",
        ];
        let gravities = ["center", "north", "south_east", "west", "auto", "xy_center"];
        let turns = [
            "90",
            "-45",
            "hflip",
            "vflip.180",
            "auto_right",
            "auto_left",
            "ignore",
            "359",
        ];
        prop_oneof![
            (1u32..=4096).prop_map(|v| format!("w_{v}")),
            (1u32..=4096).prop_map(|v| format!("h_{v}")),
            (1u32..=100).prop_map(|v| format!("w_{}", f64::from(v) / 100.0)),
            (1u32..=100).prop_map(|v| format!("h_{}", f64::from(v) / 100.0)),
            prop::sample::select(crops.to_vec()).prop_map(|c| format!("c_{c}")),
            prop::sample::select(gravities.to_vec()).prop_map(|g| format!("g_{g}")),
            (1u32..=40, 1u32..=40).prop_map(|(a, b)| format!("ar_{a}:{b}")),
            (1u32..=9999).prop_map(|v| format!("ar_{}", f64::from(v) / 100.0)),
            (1u32..=50).prop_map(|v| format!("dpr_{}", f64::from(v) / 10.0)),
            (1u32..=100).prop_map(|v| format!("q_{v}")),
            prop::sample::select(vec!["q_auto", "q_auto:eco", "f_webp", "f_auto", "f_jpg"])
                .prop_map(str::to_owned),
            any::<[u8; 3]>().prop_map(|[r, g, b]| format!("b_rgb:{r:02x}{g:02x}{b:02x}")),
            prop::sample::select(vec![
                "b_auto",
                "b_auto:predominant",
                "fl_progressive",
                "fl_attachment"
            ])
            .prop_map(str::to_owned),
            prop::sample::select(turns.to_vec()).prop_map(|a| format!("a_{a}")),
            (-10_000i32..=10_000).prop_map(|v| format!("x_{v}")),
            (-100i32..=100).prop_map(|v| format!("y_{}", f64::from(v) / 100.0)),
            (1u32..=100).prop_map(|v| format!("z_{}", f64::from(v) / 10.0)),
        ]
    }

    fn transformation() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::collection::vec(parameter(), 1..5).prop_map(|p| p.join(",")),
            1..=8,
        )
        .prop_map(|components| components.join("/"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Any chain over any acceptable original is refused or stays
        /// within bounds at every step: no buffer larger than the
        /// input or than MAX_SIDE a side, no window outside the input.
        #[test]
        fn plans_are_refused_or_bounded(
            text in transformation(),
            width in 1u32..=MAX_ORIGINAL_SIDE,
            height in 1u32..=MAX_ORIGINAL_SIDE,
        ) {
            prop_assume!(extreme_shape(width, height).is_none());
            let Ok(t) = Transformation::parse(text.split('/')) else { return Ok(()) };
            let Ok(plans) = plan_chain(width, height, &t, &NoLayers) else { return Ok(()) };
            let mut input = (width, height);
            for p in &plans {
                if p.pre_turn.is_some() {
                    input = (input.1, input.0);
                }
                let (rw, rh) = p.resize;
                prop_assert!(rw >= 1 && rh >= 1);
                prop_assert!(rw <= input.0.max(MAX_SIDE) && rh <= input.1.max(MAX_SIDE), "{text}: {p:?} from {input:?}");
                let area = u64::from(rw) * u64::from(rh);
                let budget = (u64::from(input.0) * u64::from(input.1)).max(u64::from(MAX_SIDE).pow(2));
                prop_assert!(area <= budget, "{text}: {p:?}");
                if let Some(w) = p.pre_crop {
                    prop_assert!(w.width >= 1 && w.height >= 1);
                    prop_assert!(w.x + w.width <= input.0 && w.y + w.height <= input.1, "{text}: {p:?}");
                }
                if let Some(pad) = p.pad {
                    prop_assert!(pad.width <= MAX_SIDE && pad.height <= MAX_SIDE);
                    prop_assert!(rw <= pad.width && rh <= pad.height);
                }
                let (ow, oh) = p.output();
                let before = u64::from(input.0) * u64::from(input.1);
                prop_assert!(u64::from(ow) * u64::from(oh) <= before.max(u64::from(MAX_SIDE).pow(2)), "{text}: {p:?}");
                input = p.output();
            }
        }

        /// The canonical text parses back to itself.
        #[test]
        fn canonical_text_round_trips(text in transformation()) {
            let Ok(t) = Transformation::parse(text.split('/')) else { return Ok(()) };
            let canonical = t.canonical();
            let again = Transformation::parse(canonical.split('/'));
            prop_assert!(again.is_ok(), "{text} -> {canonical}: {again:?}");
            prop_assert_eq!(again.map(|a| a.canonical()).unwrap_or_default(), canonical);
        }
    }
}

#[test]
fn a_border_grows_the_output_and_only_a_border_is_blamed_for_it() {
    assert_eq!(output((300, 200), "bo_5px_solid_black"), Ok((310, 210)));
    // An original wider than the output limit, only recoloured: its
    // encoder decides, not the border check.
    assert_eq!(output((20_000, 300), "e_grayscale"), Ok((20_000, 300)));
    let refused = output((4000, 300), "bo_100px_solid_black").expect_err("too wide");
    assert_eq!(refused.parameter, "bo");
}
