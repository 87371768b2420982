//! Named transformations (`t_NAME`), the only ones served unsigned in
//! strict mode. Defined in configuration and checked at start-up.

use std::collections::BTreeMap;

use super::transformation::{NamedTransformations, TransformError, Transformation};

/// Shipped presets; `MEDIA_PRESETS` may add to or override them.
pub const DEFAULTS: &[(&str, &str)] = &[
    ("thumb", "c_thumb,g_auto,w_150,h_150"),
    ("card", "c_fill,g_auto,w_400,h_300"),
    ("product", "c_pad,w_800,h_800,b_white"),
    ("hero", "c_fill,g_auto,w_1600,h_900,q_auto"),
];

#[derive(Debug, Clone, Default)]
pub struct Presets(BTreeMap<String, String>);

impl NamedTransformations for Presets {
    fn named(&self, name: &str) -> Option<&str> {
        self.get(name)
    }
}

impl Presets {
    pub fn defaults() -> Self {
        let mut presets = Self::default();
        for (name, value) in DEFAULTS {
            presets.0.insert((*name).to_owned(), (*value).to_owned());
        }
        presets
    }

    /// Adds `name=transformation` pairs separated by `;`.
    ///
    /// # Errors
    /// When a name is not `[a-z0-9_-]+` or a transformation does not parse.
    pub fn extend_from(&mut self, spec: &str) -> Result<(), TransformError> {
        for entry in spec.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, value) = entry.split_once('=').ok_or_else(|| TransformError {
                parameter: "MEDIA_PRESETS".into(),
                reason: format!("expected name=transformation, got {entry:?}"),
            })?;
            let name = name.trim();
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
            {
                return Err(TransformError {
                    parameter: "MEDIA_PRESETS".into(),
                    reason: format!(
                        "preset name {name:?} must be lower-case letters, digits, '_' or '-'"
                    ),
                });
            }
            // A preset may name presets defined before it.
            Transformation::parse_with(value.trim().split('/'), self)?;
            self.0.insert(name.to_owned(), value.trim().to_owned());
        }
        Ok(())
    }

    /// The transformation string of `name`.
    /// Comma-separated preset names (`t_` optional), each one defined.
    ///
    /// # Errors
    /// The first name no preset has.
    pub fn names(&self, raw: &str) -> Result<Vec<String>, String> {
        raw.split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(|name| {
                let name = name.strip_prefix("t_").unwrap_or(name);
                match self.get(name) {
                    Some(_) => Ok(name.to_owned()),
                    None => Err(name.to_owned()),
                }
            })
            .collect()
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_overrides_apply() {
        let mut presets = Presets::defaults();
        for (_, value) in presets.iter() {
            assert!(Transformation::parse(value.split('/')).is_ok(), "{value}");
        }
        presets
            .extend_from("thumb=c_fill,w_64,h_64; banner=c_fill,w_1200,h_300/q_70")
            .expect("valid");
        assert_eq!(presets.get("thumb"), Some("c_fill,w_64,h_64"));
        assert_eq!(
            presets.names(" t_thumb, banner ,"),
            Ok(vec!["thumb".to_owned(), "banner".to_owned()])
        );
        assert_eq!(presets.names("thumb,nope"), Err("nope".to_owned()));
        assert!(presets.get("banner").is_some());
        assert!(presets.extend_from("Bad Name=w_1").is_err());
        assert!(presets.extend_from("x=w_0").is_err());
        assert!(presets.extend_from("nonsense").is_err());
        presets
            .extend_from("framed=t_thumb,b_black,c_pad,w_200,h_200")
            .expect("a preset may name another");
        assert!(presets.extend_from("bad=t_undefined").is_err());
    }
}
