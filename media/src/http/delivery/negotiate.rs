//! Which format answers: the one `f_` or the extension names, or for
//! `f_auto` the best the `Accept` header allows.

use super::super::error::AppError;
use crate::media::background::family;
use crate::process::format::ImageFormat;
use crate::process::transformation::FormatRequest;

fn accepts(accept: Option<&str>, mime: &str) -> bool {
    accept.is_some_and(|accept| {
        accept.split(',').any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let kind = parts.next().unwrap_or_default();
            let refused = parts.any(|p| p.replace(' ', "") == "q=0");
            kind.eq_ignore_ascii_case(mime) && !refused
        })
    })
}

/// The output format, and whether it depended on `Accept`.
pub(super) fn choose_output(
    requested: Option<FormatRequest>,
    ext: ImageFormat,
    original: ImageFormat,
    accept: Option<&str>,
) -> Result<(ImageFormat, bool), AppError> {
    match requested {
        Some(FormatRequest::Auto) => {
            if accepts(accept, "image/avif") {
                Ok((ImageFormat::Avif, true))
            } else if accepts(accept, "image/webp") {
                Ok((ImageFormat::Webp, true))
            } else {
                Ok((family(original), true))
            }
        }
        Some(FormatRequest::Jpeg) => Ok((ImageFormat::Jpeg, false)),
        Some(FormatRequest::Png) => Ok((ImageFormat::Png, false)),
        Some(FormatRequest::Webp) => Ok((ImageFormat::Webp, false)),
        Some(FormatRequest::Avif) => Ok((ImageFormat::Avif, false)),
        None => match ext {
            ImageFormat::Jpeg => Ok((ImageFormat::Jpeg, false)),
            ImageFormat::Png => Ok((ImageFormat::Png, false)),
            ImageFormat::Webp => Ok((ImageFormat::Webp, false)),
            ImageFormat::Gif => Ok((ImageFormat::Gif, false)),
            ImageFormat::Avif => Ok((ImageFormat::Avif, false)),
            // Browsers other than Safari cannot show HEIC: it is kept and
            // served as uploaded, and every rendering is another format.
            ImageFormat::Heic => Err(AppError::bad_request(
                "invalid-transformation",
                "HEIC is delivered only as uploaded; ask for .jpg, .png, .webp or .avif (or f_auto) to transform it",
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_negotiation() {
        let auto = Some(FormatRequest::Auto);
        let jpg = ImageFormat::Jpeg;
        assert_eq!(
            choose_output(auto, jpg, jpg, Some("image/avif,image/webp,*/*")).expect("ok"),
            (ImageFormat::Avif, true)
        );
        assert_eq!(
            choose_output(auto, jpg, jpg, Some("image/webp,*/*")).expect("ok"),
            (ImageFormat::Webp, true)
        );
        assert_eq!(
            choose_output(auto, jpg, jpg, Some("image/webp;q=0, */*")).expect("ok"),
            (ImageFormat::Jpeg, true)
        );
        assert_eq!(
            choose_output(auto, jpg, ImageFormat::Png, None).expect("ok"),
            (ImageFormat::Png, true)
        );
        assert_eq!(
            choose_output(None, ImageFormat::Webp, jpg, None).expect("ok"),
            (ImageFormat::Webp, false)
        );
        assert_eq!(
            choose_output(Some(FormatRequest::Avif), jpg, jpg, None).expect("ok"),
            (ImageFormat::Avif, false)
        );
    }
}
