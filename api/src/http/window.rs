//! Which part of a newest-first listing (a log, the users) a client reads:
//! a time range, a page size, and a cursor to go on from. Keyset paging on
//! (time, `_id`), so a page never repeats or skips an entry while new ones
//! are written, and reading page 40 costs what page 1 does.

use base64::Engine;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::http::error::ApiError;

/// The response header that carries the next page's cursor.
pub const NEXT_CURSOR: &str = "x-next-cursor";

/// A listing window, parsed from the query.
pub struct Window {
    from: Option<DateTime>,
    to: Option<DateTime>,
    before: Option<Cursor>,
    pub limit: i64,
}

/// Where a page ended: the last entry's time and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    at: DateTime,
    id: ObjectId,
}

impl Cursor {
    pub fn new(at: DateTime, id: ObjectId) -> Self {
        Self { at, id }
    }

    /// Opaque to clients: base64url of `millis.id`.
    pub fn encode(self) -> String {
        let raw = format!("{}.{}", self.at.timestamp_millis(), self.id.to_hex());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    fn decode(text: &str) -> Option<Self> {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text.trim())
            .ok()?;
        let raw = String::from_utf8(raw).ok()?;
        let (millis, id) = raw.split_once('.')?;
        Some(Self {
            at: DateTime::from_millis(millis.parse().ok()?),
            id: ObjectId::parse_str(id).ok()?,
        })
    }
}

impl Window {
    /// # Errors
    /// 422 naming `since` or `until` when not RFC 3339, or when `since` is
    /// after `until`; 400 `bad-cursor` for a cursor this api did not give.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        before: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Self, ApiError> {
        let instant = |text: Option<&str>, field: &str| {
            text.map(|t| {
                OffsetDateTime::parse(t.trim(), &Rfc3339)
                    .map(|t| DateTime::from_millis((t.unix_timestamp_nanos() / 1_000_000) as i64))
                    .map_err(|_| {
                        ApiError::invalid(field, "an RFC 3339 time such as 2026-12-01T00:00:00Z")
                    })
            })
            .transpose()
        };
        let (from, to) = (instant(from, "since")?, instant(to, "until")?);
        if let (Some(from), Some(to)) = (from, to) {
            if from > to {
                return Err(ApiError::invalid("since", "since is after until"));
            }
        }
        let before = before
            .map(|c| {
                Cursor::decode(c).ok_or_else(|| {
                    ApiError::bad_request("bad-cursor", "use the cursor a previous page answered")
                })
            })
            .transpose()?;
        Ok(Self {
            from,
            to,
            before,
            limit: i64::from(limit.unwrap_or(50).clamp(1, 200)),
        })
    }

    /// Adds the window to `filter`, on the time field `at`.
    pub fn narrow(&self, filter: &mut Document, at: &str) {
        let mut range = Document::new();
        if let Some(from) = self.from {
            range.insert("$gte", from);
        }
        if let Some(to) = self.to {
            range.insert("$lt", to);
        }
        let mut clauses = Vec::new();
        if !range.is_empty() {
            clauses.push(doc! { at: range });
        }
        if let Some(Cursor { at: t, id }) = self.before {
            clauses.push(doc! { "$or": [
                { at: { "$lt": t } },
                { at: t, "_id": { "$lt": id } },
            ] });
        }
        if !clauses.is_empty() {
            filter.insert("$and", clauses);
        }
    }

    /// The next page's cursor, when this page was full.
    pub fn next(&self, shown: usize, last: Option<Cursor>) -> Option<Cursor> {
        (i64::try_from(shown).unwrap_or(i64::MAX) >= self.limit)
            .then_some(last)
            .flatten()
    }
}

/// The cursor header of a page (none on the last one).
pub fn next_page_header(next: Option<Cursor>) -> axum::http::HeaderMap {
    let mut headers = axum::http::HeaderMap::new();
    if let Some(value) = next.and_then(|c| axum::http::HeaderValue::from_str(&c.encode()).ok()) {
        headers.insert(NEXT_CURSOR, value);
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        let cursor = Cursor::new(DateTime::from_millis(1_796_000_000_123), ObjectId::new());
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        for bad in ["", "abc", "MTIz", "!!"] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
        assert!(Window::parse(None, None, Some("abc"), None).is_err());
        assert!(Window::parse(
            Some("2026-12-02T00:00:00Z"),
            Some("2026-12-01T00:00:00Z"),
            None,
            None
        )
        .is_err());
        assert!(Window::parse(Some("yesterday"), None, None, None).is_err());
    }
}
