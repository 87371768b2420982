//! Image fixtures made in memory, so tests carry no binary files.

use std::io::Cursor;

use image::{ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use rand::{Rng, SeedableRng};

/// A PNG with alpha whose pixels depend on `seed`, so different seeds give
/// different bytes (and so different media ids).
pub fn png(width: u32, height: u32, seed: u8) -> Vec<u8> {
    let img = RgbaImage::from_fn(width, height, |x, y| {
        Rgba([x as u8 ^ seed, y as u8, seed, (x + y) as u8 | 0x80])
    });
    encode(image::DynamicImage::ImageRgba8(img), ImageFormat::Png)
}

pub fn jpeg(width: u32, height: u32, seed: u8) -> Vec<u8> {
    let img = RgbImage::from_fn(width, height, |x, y| Rgb([x as u8, y as u8 ^ seed, seed]));
    encode(image::DynamicImage::ImageRgb8(img), ImageFormat::Jpeg)
}

pub fn gif(width: u32, height: u32, seed: u8) -> Vec<u8> {
    let img = RgbaImage::from_fn(width, height, |x, _| Rgba([x as u8, seed, 0, 255]));
    encode(image::DynamicImage::ImageRgba8(img), ImageFormat::Gif)
}

pub fn webp(width: u32, height: u32, seed: u8) -> Vec<u8> {
    let img = RgbaImage::from_fn(width, height, |x, y| Rgba([x as u8, y as u8, seed, 200]));
    encode(image::DynamicImage::ImageRgba8(img), ImageFormat::WebP)
}

/// The container boxes of an AVIF file up to the image size (`ftyp`, `meta`
/// with `iprp/ipco/ispe`). Enough for a service that reads headers only;
/// no AV1 payload.
pub fn avif_header(width: u32, height: u32) -> Vec<u8> {
    fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out
    }
    let mut ftyp = b"avif".to_vec();
    ftyp.extend_from_slice(&0u32.to_be_bytes());
    ftyp.extend_from_slice(b"avifmif1miaf");
    let mut ispe = vec![0u8; 4];
    ispe.extend_from_slice(&width.to_be_bytes());
    ispe.extend_from_slice(&height.to_be_bytes());
    let ipco = boxed(b"ipco", &boxed(b"ispe", &ispe));
    let iprp = boxed(b"iprp", &ipco);
    let mut meta = vec![0u8; 4];
    meta.extend_from_slice(&boxed(b"hdlr", &[0u8; 25]));
    meta.extend_from_slice(&iprp);
    let mut out = boxed(b"ftyp", &ftyp);
    out.extend_from_slice(&boxed(b"meta", &meta));
    out.extend_from_slice(&boxed(b"mdat", &[0u8; 32]));
    out
}

/// A PNG signature and IHDR declaring `width` x `height`, and nothing else:
/// what a decompression bomb shows before its pixels.
pub fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend_from_slice(&(ihdr.len() as u32).to_be_bytes());
    out.extend_from_slice(b"IHDR");
    let mut crc_input = b"IHDR".to_vec();
    crc_input.extend_from_slice(&ihdr);
    out.extend_from_slice(&ihdr);
    out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    out
}

/// A valid small PNG followed by random bytes up to `total` bytes: a file
/// of any size whose header the service accepts, unique per `seed`.
pub fn padded_png(total: usize, seed: u64) -> Vec<u8> {
    let mut out = png(4, 4, (seed % 251) as u8);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    while out.len() < total {
        out.push(rng.random());
    }
    out
}

fn encode(img: image::DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format)
        .expect("encoding an in-memory fixture cannot fail");
    out.into_inner()
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A JPEG whose left half is red and right half blue, with an EXIF
/// orientation tag: viewers (and Cloudinary) rotate it before display.
pub fn jpeg_with_orientation(width: u32, height: u32, orientation: u16) -> Vec<u8> {
    let img = RgbImage::from_fn(width, height, |x, _| {
        if x < width / 2 {
            Rgb([255, 0, 0])
        } else {
            Rgb([0, 0, 255])
        }
    });
    let plain = encode(image::DynamicImage::ImageRgb8(img), ImageFormat::Jpeg);
    // TIFF header (big-endian), one IFD entry: 0x0112 Orientation, SHORT.
    let mut tiff = b"MM\0*\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&1u16.to_be_bytes());
    tiff.extend_from_slice(&0x0112u16.to_be_bytes());
    tiff.extend_from_slice(&3u16.to_be_bytes());
    tiff.extend_from_slice(&1u32.to_be_bytes());
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes());
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = plain[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xff, 0xe1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

/// A PNG that is fully transparent on its left half.
pub fn half_transparent_png(width: u32, height: u32) -> Vec<u8> {
    let img = RgbaImage::from_fn(width, height, |x, _| {
        if x < width / 2 {
            Rgba([0, 0, 0, 0])
        } else {
            Rgba([0, 200, 0, 255])
        }
    });
    encode(image::DynamicImage::ImageRgba8(img), ImageFormat::Png)
}

/// A real, valid PNG of `side` x `side` black pixels at 1 bit per pixel:
/// tiny compressed, `side`² bytes once decoded to 8-bit grey. A
/// decompression bomb.
pub fn png_bomb(side: u32) -> Vec<u8> {
    use std::io::Write;
    let row_bytes = (side as usize).div_ceil(8);
    let row = vec![0u8; row_bytes + 1]; // filter byte 0, then zeros
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    for _ in 0..side {
        z.write_all(&row).expect("writing to memory");
    }
    let idat = z.finish().expect("finishing in memory");
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[1, 0, 0, 0, 0]); // 1-bit greyscale
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [
        (&b"IHDR"[..], ihdr.as_slice()),
        (b"IDAT", &idat),
        (b"IEND", &[]),
    ] {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut chunk = kind.to_vec();
        chunk.extend_from_slice(data);
        out.extend_from_slice(&chunk);
        out.extend_from_slice(&crc32(&chunk).to_be_bytes());
    }
    out
}

/// Random RGB noise as PNG: incompressible, so its variants are large.
pub fn noise_png(width: u32, height: u32, seed: u64) -> Vec<u8> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let img = RgbImage::from_fn(width, height, |_, _| {
        Rgb([rng.random(), rng.random(), rng.random()])
    });
    encode(image::DynamicImage::ImageRgb8(img), ImageFormat::Png)
}

/// An MP4 (ISO BMFF): an `ftyp` box with brand `isom`, then an `mdat` box
/// of `payload` bytes. Enough for magic-number checks and byte ranges;
/// not a playable movie.
pub fn mp4(payload: usize, seed: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload + 40);
    out.extend_from_slice(&24u32.to_be_bytes());
    out.extend_from_slice(b"ftypisom\0\0\x02\0isomiso2");
    let mdat = u32::try_from(payload + 8).unwrap_or(u32::MAX);
    out.extend_from_slice(&mdat.to_be_bytes());
    out.extend_from_slice(b"mdat");
    out.extend((0..payload).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    out
}

/// A WebM: the EBML header with doctype `webm`, then filler.
pub fn webm(payload: usize, seed: u8) -> Vec<u8> {
    let mut out = vec![
        0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0xf7, 0x81, 0x01, 0x42, 0xf2,
        0x81, 0x04, 0x42, 0xf3, 0x81, 0x08, 0x42, 0x82, 0x84,
    ];
    out.extend_from_slice(b"webm");
    out.extend((0..payload).map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed)));
    out
}

/// A one-page PDF a viewer opens, with `text` on it.
pub fn pdf(text: &str) -> Vec<u8> {
    let stream = format!("BT /F1 24 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!(
            "<< /Length {} >>\nstream\n{stream}\nendstream",
            stream.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// Red on the left half, blue on the right: a picture whose decoding can
/// be checked pixel by pixel after any lossy codec.
pub fn halves(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, _| {
        if x < width / 2 {
            Rgb([220, 20, 20])
        } else {
            Rgb([20, 20, 220])
        }
    })
}

/// `picture` as a real HEIF file, encoded by libheif: HEVC (x265) for a
/// HEIC as phones write them, AV1 (libaom) for an AVIF.
pub fn heif(picture: &RgbImage, format: libheif_rs::CompressionFormat) -> Vec<u8> {
    use libheif_rs::{Channel, ColorSpace, EncoderQuality, HeifContext, Image, RgbChroma};
    let (width, height) = picture.dimensions();
    let mut image =
        Image::new(width, height, ColorSpace::Rgb(RgbChroma::Rgb)).expect("a HEIF image");
    image
        .create_plane(Channel::Interleaved, width, height, 8)
        .expect("an interleaved plane");
    let planes = image.planes_mut();
    let plane = planes.interleaved.expect("interleaved");
    let row = width as usize * 3;
    for (y, pixels) in picture.as_raw().chunks_exact(row).enumerate() {
        plane.data[y * plane.stride..y * plane.stride + row].copy_from_slice(pixels);
    }
    let mut context = HeifContext::new().expect("a context");
    let mut encoder = context.encoder_for_format(format).expect("an encoder");
    encoder
        .set_quality(EncoderQuality::Lossy(90))
        .expect("quality");
    context
        .encode_image(&image, &mut encoder, None)
        .expect("encodes");
    context.write_to_bytes().expect("serialises")
}

/// A HEIC photo of [`halves`].
pub fn heic(width: u32, height: u32) -> Vec<u8> {
    heif(&halves(width, height), libheif_rs::CompressionFormat::Hevc)
}

/// An AVIF of [`halves`].
pub fn avif(width: u32, height: u32) -> Vec<u8> {
    heif(&halves(width, height), libheif_rs::CompressionFormat::Av1)
}

/// An opaque PNG whose every part can be told apart after a crop, flip or
/// turn: four quadrants (red, green, blue, yellow, clockwise from the top
/// left) under a soft diagonal gradient, so resampling stays comparable.
pub fn landmarks(width: u32, height: u32) -> Vec<u8> {
    let img = RgbaImage::from_fn(width, height, |x, y| {
        let left = x < width / 2;
        let top = y < height / 2;
        let base: [u32; 3] = match (top, left) {
            (true, true) => [220, 40, 40],
            (true, false) => [40, 200, 60],
            (false, false) => [40, 60, 220],
            (false, true) => [230, 210, 40],
        };
        let shade = (x * 30 / width.max(1) + y * 30 / height.max(1)) as i32 - 30;
        let channel = |v: u32| (v as i32 + shade).clamp(0, 255) as u8;
        Rgba([channel(base[0]), channel(base[1]), channel(base[2]), 255])
    });
    encode(image::DynamicImage::ImageRgba8(img), ImageFormat::Png)
}

/// A logo as brands upload one: a disc on a transparent ground, its edge
/// soft (partly transparent), dark on the left and white on the right so
/// every blend mode shows.
pub fn logo(width: u32, height: u32) -> Vec<u8> {
    let (cx, cy) = (width as f32 / 2.0, height as f32 / 2.0);
    let radius = cx.min(cy);
    let img = RgbaImage::from_fn(width, height, |x, y| {
        let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
        let distance = (dx * dx + dy * dy).sqrt();
        let alpha = ((radius - distance) / 4.0).clamp(0.0, 1.0);
        let shade = if dx < 0.0 { 30 } else { 250 };
        Rgba([shade, shade, shade, (alpha * 255.0).round() as u8])
    });
    encode(image::DynamicImage::ImageRgba8(img), ImageFormat::Png)
}
