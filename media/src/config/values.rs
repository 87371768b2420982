//! How settings' values are written: durations with units, plain numbers.

use std::time::Duration;

use anyhow::Context;

/// Seconds, or a number with `s`, `m`, `h` or `d` (`24h`, `7d`).
pub(super) fn duration(
    get: &impl Fn(&str) -> Option<String>,
    key: &str,
) -> anyhow::Result<Option<Duration>> {
    get(key)
        .map(|raw| {
            let text = raw.trim();
            let (digits, unit) = match text.char_indices().last() {
                Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c),
                _ => (text, 's'),
            };
            let scale = match unit {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                _ => anyhow::bail!("{key}: unknown unit in {raw:?}; use s, m, h or d"),
            };
            digits
                .parse::<u64>()
                .map(|n| Duration::from_secs(n.saturating_mul(scale)))
                .with_context(|| {
                    format!("{key} must be a duration such as 3600, 24h or 7d, got {raw:?}")
                })
        })
        .transpose()
}

pub(super) fn number(
    get: &impl Fn(&str) -> Option<String>,
    key: &str,
) -> anyhow::Result<Option<u64>> {
    get(key)
        .map(|raw| {
            raw.trim()
                .parse::<u64>()
                .with_context(|| format!("{key} must be a non-negative integer, got {raw:?}"))
        })
        .transpose()
}
