//! Conditional and partial requests (RFC 9110 sections 13 and 14): strong
//! ETags, `If-None-Match`, `If-Range` and single byte ranges.

use crate::store::ByteRange;

/// The strong ETag of content with the given SHA-256 (hex).
pub fn etag_for(sha256_hex: &str) -> String {
    format!("\"{sha256_hex}\"")
}

/// Whether `If-None-Match` matches, with the weak comparison the RFC
/// prescribes for it (a `W/` prefix is ignored).
pub fn none_match_hits(if_none_match: &str, etag: &str) -> bool {
    if_none_match.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == etag
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable range: send everything with 200.
    Full,
    Partial(ByteRange),
    /// A syntactically valid range entirely past the end: 416.
    Unsatisfiable,
}

/// Interprets `Range` for a representation of `length` bytes. Multiple
/// ranges and unparseable values are ignored (the whole body is sent), as
/// the RFC allows; `If-Range` must match the ETag strongly for the range to
/// apply.
pub fn range_request(
    range: Option<&str>,
    if_range: Option<&str>,
    etag: &str,
    length: u64,
) -> RangeRequest {
    let Some(range) = range else {
        return RangeRequest::Full;
    };
    if let Some(validator) = if_range {
        if validator.trim() != etag {
            return RangeRequest::Full;
        }
    }
    let Some(spec) = range.trim().strip_prefix("bytes=") else {
        return RangeRequest::Full;
    };
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Full;
    };
    let parse = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (parse(first), parse(last)) {
        // bytes=-N: the last N bytes.
        (None, Some(suffix)) if first.trim().is_empty() => {
            if suffix == 0 || length == 0 {
                RangeRequest::Unsatisfiable
            } else {
                RangeRequest::Partial(ByteRange {
                    start: length.saturating_sub(suffix),
                    end: length - 1,
                })
            }
        }
        // bytes=A- : from A to the end.
        (Some(start), None) if last.trim().is_empty() => {
            if start >= length {
                RangeRequest::Unsatisfiable
            } else {
                RangeRequest::Partial(ByteRange {
                    start,
                    end: length - 1,
                })
            }
        }
        (Some(start), Some(end)) if start <= end => {
            if start >= length {
                RangeRequest::Unsatisfiable
            } else {
                RangeRequest::Partial(ByteRange {
                    start,
                    end: end.min(length - 1),
                })
            }
        }
        _ => RangeRequest::Full,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAG: &str = "\"abc\"";

    fn partial(start: u64, end: u64) -> RangeRequest {
        RangeRequest::Partial(ByteRange { start, end })
    }

    #[test]
    fn ranges_follow_rfc_9110() {
        let r = |h: &str| range_request(Some(h), None, TAG, 100);
        assert_eq!(r("bytes=0-9"), partial(0, 9));
        assert_eq!(r("bytes=90-"), partial(90, 99));
        assert_eq!(r("bytes=-10"), partial(90, 99));
        assert_eq!(r("bytes=-500"), partial(0, 99));
        assert_eq!(r("bytes=50-1000"), partial(50, 99));
        assert_eq!(r("bytes=100-"), RangeRequest::Unsatisfiable);
        assert_eq!(r("bytes=-0"), RangeRequest::Unsatisfiable);
        assert_eq!(r("bytes=9-0"), RangeRequest::Full);
        assert_eq!(r("bytes=0-1,5-6"), RangeRequest::Full);
        assert_eq!(r("items=0-1"), RangeRequest::Full);
        assert_eq!(r("bytes=a-b"), RangeRequest::Full);
        assert_eq!(r("bytes=+1-2"), RangeRequest::Full);
        assert_eq!(range_request(None, None, TAG, 100), RangeRequest::Full);
    }

    #[test]
    fn if_range_must_match_strongly() {
        assert_eq!(
            range_request(Some("bytes=0-0"), Some(TAG), TAG, 10),
            partial(0, 0)
        );
        assert_eq!(
            range_request(Some("bytes=0-0"), Some("\"other\""), TAG, 10),
            RangeRequest::Full
        );
        assert_eq!(
            range_request(Some("bytes=0-0"), Some("W/\"abc\""), TAG, 10),
            RangeRequest::Full
        );
    }

    #[test]
    fn if_none_match_uses_weak_comparison() {
        assert!(none_match_hits(TAG, TAG));
        assert!(none_match_hits("W/\"abc\"", TAG));
        assert!(none_match_hits("\"x\", \"abc\"", TAG));
        assert!(none_match_hits("*", TAG));
        assert!(!none_match_hits("\"abcd\"", TAG));
    }
}
