//! Values in the shapes an old FastAPI + Motor back end wrote them, read
//! into ours: ISO-8601 strings (naive or with an offset) as dates, floats
//! and formatted strings as whole guaraníes, loose booleans.

use mongodb::bson::{Bson, DateTime};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// A date from a BSON date, an ISO-8601 string (a naive one is taken as
/// UTC, as `datetime.utcnow().isoformat()` meant it), or Unix seconds or
/// milliseconds.
pub fn date(value: &Bson) -> Option<DateTime> {
    match value {
        Bson::DateTime(at) => Some(*at),
        Bson::String(text) => iso_date(text.trim()),
        Bson::Int64(n) => Some(unix(*n)),
        Bson::Int32(n) => Some(unix(i64::from(*n))),
        Bson::Double(f) if f.is_finite() => Some(unix(f.round() as i64)),
        _ => None,
    }
}

/// Seconds, or milliseconds when the number is too large to be seconds
/// before the year 5000.
fn unix(n: i64) -> DateTime {
    if n.abs() > 100_000_000_000 {
        DateTime::from_millis(n)
    } else {
        DateTime::from_millis(n.saturating_mul(1000))
    }
}

fn iso_date(text: &str) -> Option<DateTime> {
    let text = text.replace(' ', "T");
    if let Ok(at) = OffsetDateTime::parse(&text, &Rfc3339) {
        return millis(at);
    }
    let naive = text.trim_end_matches('Z');
    let with_fraction =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]");
    let whole = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let minutes = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    for format in [with_fraction, whole, minutes] {
        if let Ok(at) = PrimitiveDateTime::parse(naive, format) {
            return millis(at.assume_utc());
        }
    }
    let day = format_description!("[year]-[month]-[day]");
    time::Date::parse(naive, day)
        .ok()
        .and_then(|d| millis(d.midnight().assume_utc()))
}

fn millis(at: OffsetDateTime) -> Option<DateTime> {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000)
        .ok()
        .map(DateTime::from_millis)
}

/// Whole guaraníes (no minor unit) from an integer, a float, or a string
/// such as `150000`, `150.000` or `₲ 150.000`. Negative amounts are not
/// amounts.
pub fn guaranies(value: &Bson) -> Option<i64> {
    let amount = match value {
        Bson::Int32(n) => i64::from(*n),
        Bson::Int64(n) => *n,
        Bson::Double(f) if f.is_finite() && f.abs() < 1e15 => f.round() as i64,
        Bson::Decimal128(d) => d.to_string().parse::<f64>().ok()?.round() as i64,
        Bson::String(text) => {
            let digits: String = text
                .trim()
                .trim_start_matches('₲')
                .trim_start_matches("Gs")
                .trim()
                .chars()
                .filter(|c| *c != '.' && *c != ' ')
                .collect();
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            digits.parse().ok()?
        }
        _ => return None,
    };
    (amount >= 0).then_some(amount)
}

/// A count (stock, uses): whole and not negative.
pub fn count(value: &Bson) -> Option<i64> {
    match value {
        Bson::String(text) => text.trim().parse::<i64>().ok().filter(|n| *n >= 0),
        other => guaranies(other),
    }
}

/// `true`/`false`, `1`/`0`, and the words for them.
pub fn boolean(value: &Bson) -> Option<bool> {
    match value {
        Bson::Boolean(b) => Some(*b),
        Bson::Int32(n) => Some(*n != 0),
        Bson::Int64(n) => Some(*n != 0),
        Bson::String(text) => match text.trim().to_lowercase().as_str() {
            "true" | "yes" | "si" | "sí" | "1" | "on" => Some(true),
            "false" | "no" | "0" | "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Short text: a string trimmed, `None` when absent, blank or not text.
pub fn text(value: Option<&Bson>) -> Option<String> {
    match value {
        Some(Bson::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    }
}

/// A list of labels from an array of strings or a comma-separated string.
pub fn labels(value: Option<&Bson>) -> Option<Vec<String>> {
    let items: Vec<String> = match value? {
        Bson::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::trim).map(str::to_owned))
            .collect(),
        Bson::String(text) => text.split(',').map(|s| s.trim().to_owned()).collect(),
        _ => return None,
    };
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !item.is_empty() && !out.contains(&item) {
            out.push(item);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_the_old_shapes() {
        let utc = date(&Bson::String("2024-03-05T14:30:00Z".into())).expect("rfc3339");
        let naive = date(&Bson::String("2024-03-05T14:30:00".into())).expect("naive");
        let micro = date(&Bson::String("2024-03-05T14:30:00.123456".into())).expect("python");
        let offset = date(&Bson::String("2024-03-05T11:30:00-03:00".into())).expect("offset");
        assert_eq!(utc, naive);
        assert_eq!(utc, offset);
        assert_eq!(micro.timestamp_millis() - utc.timestamp_millis(), 123);
        assert_eq!(
            date(&Bson::Int64(1_709_649_000)),
            date(&Bson::Int64(1_709_649_000_000))
        );
        assert_eq!(date(&Bson::String("yesterday".into())), None);
        assert_eq!(date(&Bson::Null), None);
    }

    #[test]
    fn money_counts_and_booleans() {
        assert_eq!(guaranies(&Bson::Double(150000.0)), Some(150000));
        assert_eq!(guaranies(&Bson::String("₲ 150.000".into())), Some(150000));
        assert_eq!(guaranies(&Bson::Double(-1.0)), None);
        assert_eq!(guaranies(&Bson::String("cheap".into())), None);
        assert_eq!(guaranies(&Bson::Double(f64::NAN)), None);
        assert_eq!(count(&Bson::String(" 12 ".into())), Some(12));
        assert_eq!(boolean(&Bson::String("Sí".into())), Some(true));
        assert_eq!(boolean(&Bson::Int32(0)), Some(false));
        assert_eq!(
            labels(Some(&Bson::String("S, M,S".into()))),
            Some(vec!["S".to_owned(), "M".to_owned()])
        );
    }
}
