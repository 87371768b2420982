//! Which picture of a many-pictured media the chain starts from: `pg_N`
//! (a PDF's page), `dn_N` (the dots per inch it is drawn at), `so_`
//! and `eo_` (a video's frame). They choose the source, not what is done
//! to it, so each is given once in a chain and never inside a layer.

use super::values::{decimal, print_decimal};
use super::{Step, TransformError};

/// Pages past this are refused before the document is opened.
pub const MAX_PAGE: u32 = 10_000;
/// Cloudinary's own ceiling for `dn_`.
pub const MAX_DENSITY: u32 = 300;
/// What a PDF page is drawn at without `dn_` (Cloudinary's default).
pub const DEFAULT_DENSITY: u32 = 150;
/// Longest time offset read, in seconds (a day).
const MAX_SECONDS: f64 = 86_400.0;

/// A point in a video.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeOffset {
    Seconds(f64),
    /// Of the duration, 0 to 100.
    Percent(f64),
    /// `so_auto`: the frame that best stands for the start of the video.
    Auto,
}

impl TimeOffset {
    fn parse(value: &str, auto: bool) -> Result<Self, String> {
        if auto && value == "auto" {
            return Ok(Self::Auto);
        }
        let (number, percent) = match value.strip_suffix('p') {
            Some(number) => (number, true),
            None => (value, false),
        };
        let parsed = decimal(number).filter(|n| *n >= 0.0);
        match (parsed, percent) {
            (Some(p), true) if p <= 100.0 => Ok(Self::Percent(p)),
            (Some(s), false) if s <= MAX_SECONDS => Ok(Self::Seconds(s)),
            _ => Err(format!(
                "seconds (2.5), a percentage of the duration (10p){}",
                if auto { ", or auto" } else { "" }
            )),
        }
    }

    fn print(self) -> String {
        match self {
            Self::Seconds(s) => print_decimal(s),
            Self::Percent(p) => format!("{}p", print_decimal(p)),
            Self::Auto => "auto".into(),
        }
    }

    /// The second this offset names in a video lasting `duration`.
    pub fn seconds(self, duration: f64) -> Option<f64> {
        match self {
            Self::Seconds(s) => Some(s),
            Self::Percent(p) => Some(duration * p / 100.0),
            Self::Auto => None,
        }
    }
}

/// The source-choosing parameters of one component, or of a whole chain.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Pick {
    pub page: Option<u32>,
    pub density: Option<u32>,
    pub start: Option<TimeOffset>,
    pub end: Option<TimeOffset>,
}

impl Pick {
    pub fn is_none(&self) -> bool {
        *self == Self::default()
    }

    /// Reads `key` when it is one of these parameters: `Ok(false)` when not.
    pub(super) fn parameter(&mut self, key: &str, value: &str) -> Result<bool, TransformError> {
        let bad = |reason: String| TransformError::new(key, reason);
        let twice = || TransformError::new(key, "given twice in one component");
        match key {
            "pg" => {
                let page = value
                    .parse::<u32>()
                    .ok()
                    .filter(|p| (1..=MAX_PAGE).contains(p))
                    .ok_or_else(|| {
                        bad(format!(
                            "a page number from 1 to {MAX_PAGE} (one page per image)"
                        ))
                    })?;
                self.page.replace(page).map_or(Ok(()), |_| Err(twice()))?;
            }
            "dn" => {
                let density = value
                    .parse::<u32>()
                    .ok()
                    .filter(|d| (1..=MAX_DENSITY).contains(d))
                    .ok_or_else(|| bad(format!("dots per inch, 1 to {MAX_DENSITY}")))?;
                self.density
                    .replace(density)
                    .map_or(Ok(()), |_| Err(twice()))?;
            }
            "so" => {
                let start = TimeOffset::parse(value, true).map_err(bad)?;
                self.start.replace(start).map_or(Ok(()), |_| Err(twice()))?;
            }
            "eo" => {
                let end = TimeOffset::parse(value, false).map_err(bad)?;
                self.end.replace(end).map_or(Ok(()), |_| Err(twice()))?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Each parameter from `later` where it gives one, else from `self`.
    pub fn or(self, later: Self) -> Self {
        Self {
            page: later.page.or(self.page),
            density: later.density.or(self.density),
            start: later.start.or(self.start),
            end: later.end.or(self.end),
        }
    }

    /// The parameters as the canonical text writes them.
    pub(super) fn print(&self, parts: &mut Vec<String>) {
        if let Some(density) = self.density {
            parts.push(format!("dn_{density}"));
        }
        if let Some(end) = self.end {
            parts.push(format!("eo_{}", end.print()));
        }
        if let Some(page) = self.page {
            parts.push(format!("pg_{page}"));
        }
        if let Some(start) = self.start {
            parts.push(format!("so_{}", start.print()));
        }
    }

    /// The pick of a whole chain: each parameter from the one component
    /// that gives it.
    ///
    /// # Errors
    /// A parameter given in two components, or inside a layer.
    pub(super) fn of_chain(steps: &[Step]) -> Result<Self, TransformError> {
        let mut chain = Self::default();
        for step in steps {
            let own = step.pick;
            for (key, here, there) in [
                ("pg", own.page.is_some(), chain.page.is_some()),
                ("dn", own.density.is_some(), chain.density.is_some()),
                ("so", own.start.is_some(), chain.start.is_some()),
                ("eo", own.end.is_some(), chain.end.is_some()),
            ] {
                if here && there {
                    return Err(TransformError::new(
                        key,
                        "chooses the page or frame the whole chain starts from: give it once",
                    ));
                }
            }
            chain = chain.or(own);
            if let Some(layer) = &step.layer {
                refuse_in_layer(&layer.steps)?;
            }
        }
        Ok(chain)
    }
}

fn refuse_in_layer(steps: &[Step]) -> Result<(), TransformError> {
    for step in steps {
        if !step.pick.is_none() {
            let key = if step.pick.page.is_some() {
                "pg"
            } else if step.pick.density.is_some() {
                "dn"
            } else if step.pick.start.is_some() {
                "so"
            } else {
                "eo"
            };
            return Err(TransformError::new(
                key,
                "picks the page or frame of the delivered media; a layer is an image",
            ));
        }
        if let Some(inner) = &step.layer {
            refuse_in_layer(&inner.steps)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(key: &str, value: &str) -> Result<Pick, TransformError> {
        let mut pick = Pick::default();
        assert!(pick.parameter(key, value)?);
        Ok(pick)
    }

    #[test]
    fn pages_densities_and_offsets_read_as_the_sdks_write_them() {
        assert_eq!(read("pg", "2").map(|p| p.page), Ok(Some(2)));
        assert_eq!(read("dn", "300").map(|p| p.density), Ok(Some(300)));
        assert_eq!(
            read("so", "2.5").map(|p| p.start),
            Ok(Some(TimeOffset::Seconds(2.5)))
        );
        assert_eq!(
            read("so", "10p").map(|p| p.start),
            Ok(Some(TimeOffset::Percent(10.0)))
        );
        assert_eq!(
            read("so", "auto").map(|p| p.start),
            Ok(Some(TimeOffset::Auto))
        );
        assert_eq!(
            read("eo", "75.5p").map(|p| p.end),
            Ok(Some(TimeOffset::Percent(75.5)))
        );
        for (key, value) in [
            ("pg", "0"),
            ("pg", "10001"),
            ("pg", "1-3"),
            ("dn", "301"),
            ("dn", "0"),
            ("so", "-1"),
            ("so", "101p"),
            ("so", "1e9"),
            ("eo", "auto"),
        ] {
            assert!(read(key, value).is_err(), "{key}_{value}");
        }
        let mut pick = Pick::default();
        assert_eq!(pick.parameter("w", "100"), Ok(false));
    }

    #[test]
    fn offsets_print_as_they_read() {
        for text in ["2.5", "10p", "auto", "0", "33.3p"] {
            let offset = TimeOffset::parse(text, true).expect(text);
            assert_eq!(offset.print(), text);
        }
        assert_eq!(TimeOffset::Percent(50.0).seconds(5.0), Some(2.5));
        assert_eq!(TimeOffset::Auto.seconds(5.0), None);
    }
}
