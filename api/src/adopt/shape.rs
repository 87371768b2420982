//! The field-by-field steps most converters share: take our field when it
//! is already in our type, else the first old spelling that reads, else a
//! default or a refusal that names the field. Each step notes what it
//! changed, so a document already ours comes out untouched.

use mongodb::bson::{oid::ObjectId, Bson, DateTime};

use super::refs::RefIndex;
use super::{values, Draft};

/// `field` itself, then its old spellings.
fn spellings<'a>(field: &'a str, old: &[&'a str]) -> Vec<&'a str> {
    std::iter::once(field).chain(old.iter().copied()).collect()
}

impl Draft {
    /// The first of `fields` that `read` understands.
    pub fn first<T>(&self, fields: &[&str], read: impl Fn(&Bson) -> Option<T>) -> Option<T> {
        fields.iter().find_map(|f| self.doc.get(*f).and_then(&read))
    }

    /// `field` as non-blank text, from itself or the first of `old`;
    /// `default` when none has any, else refused.
    pub fn text_field(
        &mut self,
        field: &str,
        old: &[&str],
        default: Option<&str>,
    ) -> Result<String, String> {
        if let Some(Bson::String(ours)) = self.doc.get(field) {
            if default.is_some() || !ours.trim().is_empty() {
                return Ok(ours.clone());
            }
        }
        let found = self
            .first(old, |v| values::text(Some(v)))
            .or_else(|| default.map(str::to_owned))
            .ok_or_else(|| format!("no {field}"))?;
        self.set(field, found.clone(), "text");
        Ok(found)
    }

    /// `field` as text, or null when neither it nor any of `old` has any.
    pub fn optional_text(&mut self, field: &str, old: &[&str]) {
        if matches!(
            self.doc.get(field),
            Some(Bson::String(_)) | Some(Bson::Null)
        ) {
            return;
        }
        let found = self
            .first(old, |v| values::text(Some(v)))
            .map_or(Bson::Null, Bson::String);
        self.set(field, found, "text or nothing");
    }

    /// A whole, non-negative number read by `read` (counts or guaraníes).
    fn number_field(
        &mut self,
        field: &str,
        old: &[&str],
        default: Option<i64>,
        read: fn(&Bson) -> Option<i64>,
    ) -> Result<i64, String> {
        if let Some(Bson::Int64(n)) = self.doc.get(field) {
            if *n >= 0 {
                return Ok(*n);
            }
        }
        if let Some(raw) = self.doc.get(field).filter(|v| !matches!(v, Bson::Null)) {
            if read(raw).is_none() {
                return Err(format!("{field} {raw} is not a whole amount"));
            }
        }
        let spellings = spellings(field, old);
        let value = self
            .first(&spellings, read)
            .or(default)
            .ok_or_else(|| format!("no {field}"))?;
        self.set(field, value, "a whole number");
        Ok(value)
    }

    pub fn count_field(
        &mut self,
        field: &str,
        old: &[&str],
        default: Option<i64>,
    ) -> Result<i64, String> {
        self.number_field(field, old, default, values::count)
    }

    pub fn money_field(
        &mut self,
        field: &str,
        old: &[&str],
        default: Option<i64>,
    ) -> Result<i64, String> {
        self.number_field(field, old, default, values::guaranies)
    }

    pub fn bool_field(&mut self, field: &str, old: &[&str], default: bool) -> bool {
        if let Some(Bson::Boolean(b)) = self.doc.get(field) {
            return *b;
        }
        let spellings = spellings(field, old);
        let value = self.first(&spellings, values::boolean).unwrap_or(default);
        self.set(field, value, "yes or no");
        value
    }

    /// A list of labels; empty when there are none.
    pub fn labels_field(&mut self, field: &str, old: &[&str]) -> Vec<String> {
        let spellings = spellings(field, old);
        let found = self
            .first(&spellings, |v| values::labels(Some(v)))
            .unwrap_or_default();
        let bson: Vec<Bson> = found.iter().cloned().map(Bson::String).collect();
        self.set(field, bson, "a list of labels");
        found
    }

    /// `field` as a date, from itself or the first of `old`; `fallback`
    /// when none has one (null when there is no fallback either).
    pub fn date_field(
        &mut self,
        field: &str,
        old: &[&str],
        fallback: Option<DateTime>,
    ) -> Result<Option<DateTime>, String> {
        match self.doc.get(field) {
            Some(Bson::DateTime(at)) => return Ok(Some(*at)),
            Some(Bson::Null) if fallback.is_none() => return Ok(None),
            Some(raw) if !matches!(raw, Bson::Null) && values::date(raw).is_none() => {
                return Err(format!("{field} {raw} is not a date"))
            }
            _ => {}
        }
        let spellings = spellings(field, old);
        let at = self.first(&spellings, values::date).or(fallback);
        self.set(field, at.map_or(Bson::Null, Bson::DateTime), "a date");
        Ok(at)
    }

    /// A status word in our vocabulary: `map` reads the old words (after
    /// `--rules`); a word it does not know is refused, naming it.
    pub fn word_field(
        &mut self,
        field: &str,
        old: &[&str],
        map: fn(&str) -> Option<&'static str>,
        default: &'static str,
    ) -> Result<&'static str, String> {
        let spellings = spellings(field, old);
        let raw = spellings
            .iter()
            .find_map(|f| self.doc.get(*f).filter(|v| !matches!(v, Bson::Null)))
            .cloned();
        let word = match raw {
            None => default,
            Some(Bson::String(word)) => map(&word)
                .ok_or_else(|| format!("{field} '{word}' is unknown; map it in --rules"))?,
            Some(other) => return Err(format!("{field} {other} is not a word")),
        };
        self.set(field, word, "in our words");
        Ok(word)
    }

    /// A reference to a document of `collection`, from `field` or the
    /// first of `old`, rewritten to its `_id`. Missing or naming nothing
    /// known is refused: adopting it would lose whose it is.
    pub fn reference(
        &mut self,
        field: &str,
        old: &[&str],
        collection: &str,
        refs: &RefIndex,
    ) -> Result<ObjectId, String> {
        let spellings = spellings(field, old);
        let raw = spellings
            .iter()
            .find_map(|f| self.doc.get(*f).filter(|v| !matches!(v, Bson::Null)))
            .cloned()
            .ok_or_else(|| format!("no {field}"))?;
        let id = refs
            .resolve(collection, &raw)
            .ok_or_else(|| format!("{field} {raw} names nothing in {collection}"))?;
        self.set(field, id, "the referenced document's id");
        Ok(id)
    }
}
