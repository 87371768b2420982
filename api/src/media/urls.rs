//! Our own delivery URLs read back as media ids. The old admin front end
//! sends image URLs, not ids: wherever a field takes a media id, a delivery
//! URL of ours (any transformation, signed or not, under `MEDIA_PUBLIC_URL`
//! or `MEDIA_URL`) stands for the id it names. Any other URL in a field
//! that takes only ids is refused, naming the field; fields that also take
//! outside links (a logo, a profile picture) keep those as links.

use serde_json::Value;
use url::Url;

use avenue_shared::MediaId;

use crate::fields::FieldError;

/// Keys whose values are media ids only (a string or a list of them).
const ID_KEYS: [&str; 3] = ["image_ids", "media_id", "media_ids"];
/// Keys that take a media id or an outside http(s) link.
const PICTURE_KEYS: [&str; 2] = ["logo_url", "profile_image"];

/// The bases our delivery URLs start with.
#[derive(Debug, Clone, Default)]
pub struct MediaUrls {
    bases: std::sync::Arc<[Url]>,
}

impl MediaUrls {
    pub fn new<'a>(bases: impl IntoIterator<Item = &'a Url>) -> Self {
        let mut unique: Vec<Url> = Vec::new();
        for base in bases {
            if !unique.contains(base) {
                unique.push(base.clone());
            }
        }
        Self {
            bases: unique.into(),
        }
    }

    /// The media id `raw` names, when it is one of our delivery URLs:
    /// `{base}/image/upload/[s--SIG--/][TRANSFORMATIONS/][vN/]{id}.{ext}`.
    pub fn id_in(&self, raw: &str) -> Option<MediaId> {
        let url = Url::parse(raw.trim()).ok()?;
        let base = self.bases.iter().find(|base| {
            base.scheme() == url.scheme()
                && base.host_str() == url.host_str()
                && base.port_or_known_default() == url.port_or_known_default()
                && url.path().starts_with(base.path().trim_end_matches('/'))
        })?;
        let rest = &url.path()[base.path().trim_end_matches('/').len()..];
        let file = rest.strip_prefix("/image/upload/")?.rsplit('/').next()?;
        let (id, ext) = file.rsplit_once('.')?;
        if ext.is_empty() {
            return None;
        }
        MediaId::parse(id).ok()
    }

    /// Where a refusal points the caller.
    fn bases_text(&self) -> String {
        self.bases
            .iter()
            .map(|b| b.as_str().trim_end_matches('/').to_owned())
            .collect::<Vec<_>>()
            .join(" or ")
    }

    /// Replaces, anywhere in a JSON body, our delivery URLs under media keys
    /// by the ids they name.
    ///
    /// # Errors
    /// An outside URL where only ids are taken, naming its path.
    pub fn rewrite(&self, body: &mut Value) -> Result<(), FieldError> {
        self.walk(body, "")
    }

    fn walk(&self, value: &mut Value, path: &str) -> Result<(), FieldError> {
        match value {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    let here = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    if ID_KEYS.contains(&key.as_str()) {
                        self.ids(child, &here, true)?;
                    } else if PICTURE_KEYS.contains(&key.as_str()) {
                        self.ids(child, &here, false)?;
                    } else {
                        self.walk(child, &here)?;
                    }
                }
                Ok(())
            }
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    self.walk(item, &format!("{path}[{i}]"))?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn ids(&self, value: &mut Value, path: &str, only_ids: bool) -> Result<(), FieldError> {
        match value {
            Value::String(text) => {
                if MediaId::parse(text.trim()).is_ok() {
                    return Ok(());
                }
                if let Some(id) = self.id_in(text) {
                    *value = Value::String(id.to_string());
                    return Ok(());
                }
                let looks_like_url = text.contains("://") || text.starts_with('/');
                if only_ids && looks_like_url {
                    return Err(FieldError::new(
                        path,
                        format!(
                            "'{}' is not an image of this site: give a media id or one of its \
                             delivery URLs ({}/image/upload/...); upload other images first",
                            text.chars().take(200).collect::<String>(),
                            self.bases_text()
                        ),
                    ));
                }
                Ok(())
            }
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    self.ids(item, &format!("{path}[{i}]"), only_ids)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "0123456789abcdef0123456789abcdef";

    fn urls() -> MediaUrls {
        let public = Url::parse("https://cdn.avenue.test/media/").expect("url");
        let internal = Url::parse("http://media:8081").expect("url");
        MediaUrls::new([&public, &internal])
    }

    #[test]
    fn our_delivery_urls_name_their_id() {
        let urls = urls();
        for raw in [
            format!("https://cdn.avenue.test/media/image/upload/{ID}.jpg"),
            format!("https://cdn.avenue.test/media/image/upload/t_product/{ID}.webp"),
            format!("https://cdn.avenue.test/media/image/upload/s--abcd1234--/c_fill,w_400/f_auto/v3/{ID}.png?x=1"),
            format!("http://media:8081/image/upload/{ID}.jpg"),
        ] {
            assert_eq!(urls.id_in(&raw).map(|id| id.to_string()), Some(ID.to_owned()), "{raw}");
        }
        for raw in [
            format!("https://evil.test/media/image/upload/{ID}.jpg"),
            format!("https://cdn.avenue.test/other/image/upload/{ID}.jpg"),
            format!("http://cdn.avenue.test/media/image/upload/{ID}.jpg"),
            format!("https://cdn.avenue.test/media/image/upload/{ID}"),
            "https://cdn.avenue.test/media/image/upload/nope.jpg".to_owned(),
        ] {
            assert_eq!(urls.id_in(&raw), None, "{raw}");
        }
    }

    #[test]
    fn bodies_get_ids_and_outside_urls_are_refused_where_only_ids_go() {
        let urls = urls();
        let ours = format!("https://cdn.avenue.test/media/image/upload/t_thumb/{ID}.jpg");
        let mut body = json!({
            "image_ids": [ours, ID],
            "blocks": [{ "type": "hero", "media_id": ours }, { "type": "gallery", "media_ids": [ours] }],
            "logo_url": "https://brand.test/logo.png",
            "profile_image": ours,
            "description": ours,
        });
        urls.rewrite(&mut body).expect("rewritten");
        assert_eq!(body["image_ids"], json!([ID, ID]));
        assert_eq!(body["blocks"][0]["media_id"], ID);
        assert_eq!(body["blocks"][1]["media_ids"], json!([ID]));
        assert_eq!(body["profile_image"], ID);
        assert_eq!(body["logo_url"], "https://brand.test/logo.png");
        assert_eq!(body["description"], ours, "only media fields change");
        let mut foreign = json!({ "blocks": [{ "media_id": "https://imgur.test/a.jpg" }] });
        let err = urls.rewrite(&mut foreign).expect_err("refused");
        assert_eq!(err.field, "blocks[0].media_id");
        assert!(
            err.message.contains("https://cdn.avenue.test/media"),
            "{}",
            err.message
        );
    }
}
