//! Micro-benchmarks of the render pipeline on the job the CDN asks most:
//! a 3000x2000 JPEG to 400x300 (`c_fill,w_400,h_300,q_80`). Run with
//! `cargo bench -p avenue-media`; the load benchmark is `make bench`.

use std::hint::black_box;
use std::io::Cursor;

use avenue_media::process::format::ImageFormat;
use avenue_media::process::pipeline::{render, RenderJob};
use avenue_media::process::text::Fonts;
use avenue_media::process::transformation::Transformation;
use criterion::{criterion_group, criterion_main, Criterion};

fn photo(width: u32, height: u32) -> Vec<u8> {
    // Smooth gradients with some texture: closer to a photo than flat colour.
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        let n = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) >> 28;
        image::Rgb([
            (x / 12) as u8 ^ n as u8,
            (y / 8) as u8,
            ((x + y) / 20) as u8,
        ])
    });
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("encoding in memory");
    out.into_inner()
}

fn bench(c: &mut Criterion) {
    let source = photo(3000, 2000);
    let card = Transformation::parse(["c_fill,w_400,h_300,q_80"]).expect("valid");
    let large = Transformation::parse(["c_fill,w_2000,h_1500,q_80"]).expect("valid");
    let fonts = Fonts::default();
    let job = |t: &'static Transformation, output| RenderJob {
        source: &source,
        source_format: ImageFormat::Jpeg,
        transformation: t,
        output,
        quality: 80,
        max_pixels: 50_000_000,
        layers: &[],
        fonts: &fonts,
    };
    let card: &'static Transformation = Box::leak(Box::new(card));
    let large: &'static Transformation = Box::leak(Box::new(large));
    let mut group = c.benchmark_group("3000x2000 jpeg");
    group.sample_size(20);
    group.bench_function("decode full size (turbojpeg)", |b| {
        b.iter(|| {
            turbojpeg::decompress(black_box(&source), turbojpeg::PixelFormat::RGB).expect("decode")
        })
    });
    group.bench_function("decode full size (image crate)", |b| {
        b.iter(|| image::load_from_memory(black_box(&source)).expect("decode"))
    });
    group.bench_function("render c_fill 400x300 to jpeg", |b| {
        b.iter(|| render(black_box(&job(card, ImageFormat::Jpeg))).expect("render"))
    });
    group.bench_function("render c_fill 400x300 to webp", |b| {
        b.iter(|| render(black_box(&job(card, ImageFormat::Webp))).expect("render"))
    });
    group.bench_function(
        "render c_fill 2000x1500 to jpeg (no scale-on-decode)",
        |b| b.iter(|| render(black_box(&job(large, ImageFormat::Jpeg))).expect("render")),
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
