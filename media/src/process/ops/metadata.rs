//! `fl_keep_iptc` and `fl_keep_attribution`: the encoders write pixels
//! only, so the original's IPTC (APP13) and XMP (APP1) segments, where
//! captions, credits and copyright live, are copied into the output JPEG
//! when asked. EXIF is never copied: its orientation is already applied.

/// XMP's APP1 signature.
const XMP: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";

/// The IPTC and XMP segments of a JPEG, whole (marker and length
/// included), in their order. Stops at the first scan or at anything
/// malformed: a broken header gives fewer segments, never a panic.
pub fn kept_segments(jpeg: &[u8]) -> Vec<&[u8]> {
    let mut kept = Vec::new();
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        return kept;
    }
    let mut at = 2;
    while at + 4 <= jpeg.len() && jpeg[at] == 0xFF {
        let marker = jpeg[at + 1];
        if marker == 0xDA || marker == 0xD9 {
            break;
        }
        let length = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        let Some(segment) = jpeg.get(at..at + 2 + length) else {
            break;
        };
        let body = &segment[4.min(segment.len())..];
        if marker == 0xED || (marker == 0xE1 && body.starts_with(XMP)) {
            kept.push(segment);
        }
        at += 2 + length;
    }
    kept
}

/// `output` (a JPEG) with `segments` inserted right after its SOI.
pub fn with_segments(output: Vec<u8>, segments: &[&[u8]]) -> Vec<u8> {
    if segments.is_empty() || !output.starts_with(&[0xFF, 0xD8]) {
        return output;
    }
    let extra: usize = segments.iter().map(|s| s.len()).sum();
    let mut joined = Vec::with_capacity(output.len() + extra);
    joined.extend_from_slice(&output[..2]);
    for segment in segments {
        joined.extend_from_slice(segment);
    }
    joined.extend_from_slice(&output[2..]);
    joined
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(marker: u8, body: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&u16::try_from(body.len() + 2).expect("small").to_be_bytes());
        s.extend_from_slice(body);
        s
    }

    #[test]
    fn iptc_and_xmp_are_carried_and_exif_is_not() {
        let iptc = segment(0xED, b"Photoshop 3.0\0credit");
        let mut xmp_body = XMP.to_vec();
        xmp_body.extend_from_slice(b"<x:xmpmeta/>");
        let xmp = segment(0xE1, &xmp_body);
        let exif = segment(0xE1, b"Exif\0\0orientation");
        let mut source = vec![0xFF, 0xD8];
        for s in [&exif, &iptc, &xmp] {
            source.extend_from_slice(s);
        }
        source.extend_from_slice(&[0xFF, 0xDA, 0, 2, 1, 2, 3]);
        let kept = kept_segments(&source);
        assert_eq!(kept, vec![iptc.as_slice(), xmp.as_slice()]);
        let output = with_segments(vec![0xFF, 0xD8, 0xFF, 0xD9], &kept);
        assert_eq!(&output[2..2 + iptc.len()], iptc.as_slice());
        assert!(output.ends_with(&[0xFF, 0xD9]));
        // Truncated or foreign input gives nothing, not a panic.
        assert!(kept_segments(&source[..9]).is_empty());
        assert!(kept_segments(b"GIF89a").is_empty());
    }
}
