//! Unsigned URLs from front ends that cannot sign (`MEDIA_UNSIGNED`):
//! admitted when every parameter is one the operator allows and every
//! size is on the list (or snapped up to it), and then limited in how
//! many new renders one client address may cause a minute.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::super::error::AppError;
use super::path::DeliveryPath;
use crate::config::{UnsignedMode, UnsignedPolicy};
use crate::process::transformation::{Length, Quality, Transformation};

/// Most components an admitted URL may chain (CldImage writes four).
const MAX_COMPONENTS: usize = 4;
/// The ratios `dpr_` may take unsigned.
const RATIOS: [f64; 5] = [1.0, 1.5, 2.0, 2.5, 3.0];
/// Largest side of an `ar_A:B` written unsigned.
const MAX_RATIO_TERM: u32 = 32;
const WINDOW: Duration = Duration::from_secs(60);

/// Whether an unsigned URL outside presets may be served.
pub(super) enum Admission {
    /// Unsigned mode is off, or the URL is signed.
    NotAsked,
    Admitted,
    /// Why not, for the 403.
    Refused(String),
}

/// Checks `written` (before client hints) against `policy`, returning it
/// with sizes snapped when the policy says so.
pub(super) fn admit(
    policy: &UnsignedPolicy,
    wanted: &DeliveryPath<'_>,
    written: &Transformation,
) -> (Admission, Option<Transformation>) {
    if policy.mode == UnsignedMode::Off {
        return (Admission::NotAsked, None);
    }
    match check(policy, wanted, written) {
        Ok(snapped) => (Admission::Admitted, snapped),
        Err(reason) => (Admission::Refused(reason), None),
    }
}

fn check(
    policy: &UnsignedPolicy,
    wanted: &DeliveryPath<'_>,
    written: &Transformation,
) -> Result<Option<Transformation>, String> {
    if written.is_symbolic() {
        return Err("variables, arithmetic and conditions need a signed URL".into());
    }
    if wanted.components.len() > MAX_COMPONENTS {
        return Err(format!(
            "unsigned URLs chain at most {MAX_COMPONENTS} components"
        ));
    }
    for param in wanted.components.iter().flat_map(|c| c.split(',')) {
        let (key, value) = param.split_once('_').unwrap_or((param, ""));
        if !policy.parameters.contains(key) {
            let allowed: Vec<&str> = policy.parameters.iter().map(String::as_str).collect();
            return Err(format!(
                "unsigned URLs may use only {} (MEDIA_UNSIGNED_PARAMETERS); sign {key}_",
                allowed.join(", ")
            ));
        }
        if key == "ar" && !small_ratio(value) {
            return Err("ar: unsigned, a ratio of whole numbers up to 32 (16:9)".into());
        }
        if key == "w" && value.starts_with("auto") && !value.starts_with("auto:breakpoints") {
            let step = value
                .split(':')
                .nth(1)
                .map_or(Some(100), |s| s.parse::<u32>().ok());
            if step.is_none_or(|s| s < 100) {
                return Err("w: unsigned, w_auto rounds to 100 pixels or more".into());
            }
        }
    }
    let mut snapped = written.clone();
    let mut changed = false;
    for step in &mut snapped.steps {
        for (length, name) in [(&mut step.width, "w"), (&mut step.height, "h")] {
            match length {
                None => {}
                Some(Length::Relative(_)) => {
                    return Err(format!(
                        "{name}: unsigned, sizes are pixels from MEDIA_UNSIGNED_SIZES"
                    ));
                }
                Some(Length::Pixels(px)) if policy.sizes.contains(px) => {}
                Some(Length::Pixels(px)) => {
                    let next = policy.sizes.iter().copied().find(|s| *s >= *px);
                    match (policy.mode, next) {
                        (UnsignedMode::Snap, Some(size)) => {
                            *length = Some(Length::Pixels(size));
                            changed = true;
                        }
                        _ => {
                            let sizes: Vec<String> =
                                policy.sizes.iter().map(u32::to_string).collect();
                            return Err(format!(
                                "{name}: unsigned, {px} is not one of {} (MEDIA_UNSIGNED_SIZES)",
                                sizes.join(", ")
                            ));
                        }
                    }
                }
            }
        }
        if let Some(dpr) = step.dpr {
            if !RATIOS.iter().any(|r| (r - dpr).abs() < 1e-9) {
                return Err("dpr: unsigned, one of 1, 1.5, 2, 2.5, 3 or auto".into());
            }
        }
        if matches!(step.quality, Some(Quality::Value(_))) {
            return Err("q: unsigned, q_auto or one of its levels".into());
        }
    }
    Ok(changed.then_some(snapped))
}

fn small_ratio(value: &str) -> bool {
    let term = |t: &str| {
        t.parse::<u32>()
            .is_ok_and(|n| (1..=MAX_RATIO_TERM).contains(&n))
    };
    value
        .split_once(':')
        .is_some_and(|(a, b)| term(a) && term(b))
}

/// New renders each client address caused with unsigned URLs in its
/// current minute.
pub struct UnsignedBudget {
    per_minute: u32,
    windows: moka::sync::Cache<IpAddr, Arc<(Instant, AtomicU32)>>,
}

impl UnsignedBudget {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(WINDOW)
                .build(),
        }
    }

    /// Counts one new render for `client`.
    ///
    /// # Errors
    /// 429 with the seconds until its minute is over, past the limit.
    pub(super) fn charge(&self, client: IpAddr) -> Result<(), AppError> {
        let window = self
            .windows
            .get_with(client, || Arc::new((Instant::now(), AtomicU32::new(0))));
        let used = window.1.fetch_add(1, Ordering::Relaxed);
        if used < self.per_minute {
            return Ok(());
        }
        let left = WINDOW.saturating_sub(window.0.elapsed()).as_secs().max(1);
        Err(AppError::TooMany {
            message: format!(
                "this address has asked for {} new unsigned renders this minute (MEDIA_UNSIGNED_RENDERS_PER_MINUTE); try again in {left} s, or sign the URL",
                self.per_minute
            ),
            retry_after_secs: left,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_has_its_own_minute() {
        let budget = UnsignedBudget::new(2);
        let (a, b): (IpAddr, IpAddr) = (
            "127.0.0.2".parse().expect("ip"),
            "127.0.0.3".parse().expect("ip"),
        );
        assert!(budget.charge(a).is_ok());
        assert!(budget.charge(a).is_ok());
        let Err(AppError::TooMany {
            retry_after_secs, ..
        }) = budget.charge(a)
        else {
            panic!("the third render in a minute is refused");
        };
        assert!((1..=60).contains(&retry_after_secs));
        assert!(budget.charge(b).is_ok());
    }
}
