//! `MEDIA_UNSIGNED`: what strict mode lets through unsigned for front ends
//! that build URLs in the browser and cannot sign (next-cloudinary's
//! `CldImage`, Nuxt Image, `@cloudinary/url-gen`). In the spirit of
//! Cloudinary's allowed strict transformations and imgproxy's allowed
//! sizes: only parameters from a set, only sizes from a list (or snapped
//! up to one), and new renders limited per client address.

use std::collections::BTreeSet;

use anyhow::bail;

/// What happens to an unsigned URL outside presets and the responsive form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsignedMode {
    /// Refused (403), as strict mode always did.
    Off,
    /// Served when its shape is allowed; a size off the list is refused.
    Refuse,
    /// Served when its shape is allowed; a size off the list is rounded up
    /// to the next one on it.
    Snap,
}

#[derive(Debug, Clone)]
pub struct UnsignedPolicy {
    pub mode: UnsignedMode,
    /// `MEDIA_UNSIGNED_PARAMETERS`: the parameter keys allowed.
    pub parameters: BTreeSet<String>,
    /// `MEDIA_UNSIGNED_SIZES`: pixel widths and heights allowed, ascending.
    pub sizes: Vec<u32>,
    /// `MEDIA_UNSIGNED_RENDERS_PER_MINUTE`: new renders one client address
    /// may cause with unsigned URLs (cache hits are free).
    pub renders_per_minute: u32,
}

/// What `CldImage`, Nuxt Image and url-gen write for sizing and format.
pub const DEFAULT_PARAMETERS: &str = "c,w,h,ar,g,f,q,dpr,d";

impl Default for UnsignedPolicy {
    fn default() -> Self {
        Self {
            mode: UnsignedMode::Off,
            parameters: DEFAULT_PARAMETERS.split(',').map(str::to_owned).collect(),
            sizes: avenue_shared::media::DEFAULT_RESPONSIVE_WIDTHS.to_vec(),
            renders_per_minute: 60,
        }
    }
}

impl UnsignedPolicy {
    /// # Errors
    /// A value that does not parse, naming its variable.
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let defaults = Self::default();
        let mode = match get("MEDIA_UNSIGNED").as_deref() {
            None | Some("off") => UnsignedMode::Off,
            Some("refuse") => UnsignedMode::Refuse,
            Some("snap") => UnsignedMode::Snap,
            Some(other) => bail!("MEDIA_UNSIGNED must be off, refuse or snap, got {other:?}"),
        };
        let parameters = match get("MEDIA_UNSIGNED_PARAMETERS") {
            None => defaults.parameters,
            Some(list) => {
                let keys: BTreeSet<String> = list
                    .split(',')
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(str::to_owned)
                    .collect();
                if let Some(key) = keys.iter().find(|k| matches!(k.as_str(), "t" | "fl" | "a")) {
                    // A chain of presets, attachment names and turns are
                    // what make renders expensive or many: signed only.
                    bail!("MEDIA_UNSIGNED_PARAMETERS may not allow {key:?}");
                }
                keys
            }
        };
        let mut sizes = match get("MEDIA_UNSIGNED_SIZES") {
            None => defaults.sizes,
            Some(list) => avenue_shared::media::responsive_widths(Some(&list))
                .map_err(|err| anyhow::anyhow!("MEDIA_UNSIGNED_SIZES: {err}"))?,
        };
        sizes.sort_unstable();
        sizes.dedup();
        let renders_per_minute = match get("MEDIA_UNSIGNED_RENDERS_PER_MINUTE") {
            None => defaults.renders_per_minute,
            Some(raw) => match raw.trim().parse::<u32>() {
                Ok(n) if n >= 1 => n,
                _ => bail!(
                    "MEDIA_UNSIGNED_RENDERS_PER_MINUTE must be a whole number from 1, got {raw:?}"
                ),
            },
        };
        Ok(Self {
            mode,
            parameters,
            sizes,
            renders_per_minute,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(pairs: &[(&str, &str)]) -> anyhow::Result<UnsignedPolicy> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        UnsignedPolicy::from_lookup(&|key| {
            pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn off_by_default_and_every_value_is_checked() {
        assert_eq!(policy(&[]).expect("defaults").mode, UnsignedMode::Off);
        let snap = policy(&[
            ("MEDIA_UNSIGNED", "snap"),
            ("MEDIA_UNSIGNED_SIZES", "640,320"),
            ("MEDIA_UNSIGNED_PARAMETERS", "c, w"),
            ("MEDIA_UNSIGNED_RENDERS_PER_MINUTE", "5"),
        ])
        .expect("valid");
        assert_eq!(snap.mode, UnsignedMode::Snap);
        assert_eq!(snap.sizes, vec![320, 640]);
        assert_eq!(snap.parameters.len(), 2);
        assert_eq!(snap.renders_per_minute, 5);
        for bad in [
            ("MEDIA_UNSIGNED", "yes"),
            ("MEDIA_UNSIGNED_PARAMETERS", "w,t"),
            ("MEDIA_UNSIGNED_SIZES", "abc"),
            ("MEDIA_UNSIGNED_RENDERS_PER_MINUTE", "0"),
        ] {
            let err = policy(&[bad]).expect_err(bad.0);
            assert!(err.to_string().contains(bad.0), "{err}");
        }
    }
}
