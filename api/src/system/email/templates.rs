//! The emails' words: a text and an HTML template per kind, compiled into
//! the binary from `api/templates/email/`. minijinja escapes every value in
//! the `.html` part (a product named `<b>Coat</b>` stays text) and none in
//! the `.txt` part.

use std::sync::LazyLock;

use minijinja::Environment;
use serde::Serialize;

/// The kinds of email the api sends; the name is what `email_logs` records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    OrderConfirmation,
    PasswordReset,
    ReservationConfirmation,
    EmailChange,
    EmailChanged,
}

impl Template {
    pub const ALL: [Self; 5] = [
        Self::OrderConfirmation,
        Self::PasswordReset,
        Self::ReservationConfirmation,
        Self::EmailChange,
        Self::EmailChanged,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::OrderConfirmation => "order-confirmation",
            Self::PasswordReset => "password-reset",
            Self::ReservationConfirmation => "reservation-confirmation",
            Self::EmailChange => "email-change",
            Self::EmailChanged => "email-changed",
        }
    }
}

/// Both parts of one email.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub text: String,
    pub html: String,
}

macro_rules! sources {
    ($($name:literal),* $(,)?) => {
        [$(
            (concat!($name, ".txt"), include_str!(concat!("../../../templates/email/", $name, ".txt"))),
            (concat!($name, ".html"), include_str!(concat!("../../../templates/email/", $name, ".html"))),
        )*]
    };
}

const SOURCES: [(&str, &str); 10] = sources!(
    "order-confirmation",
    "password-reset",
    "reservation-confirmation",
    "email-change",
    "email-changed",
);

/// Parsed once. A template that does not parse is a bug of this build, and
/// the unit test below catches it; at run time it fails only its emails.
static TEMPLATES: LazyLock<Result<Environment<'static>, String>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in SOURCES {
        env.add_template(name, source)
            .map_err(|err| format!("email template {name}: {err}"))?;
    }
    Ok(env)
});

/// # Errors
/// When the template refers to something `values` lacks in a way it cannot
/// render, or did not parse.
pub fn render(template: Template, values: &impl Serialize) -> Result<Rendered, String> {
    let env = TEMPLATES.as_ref().map_err(Clone::clone)?;
    let part = |ext: &str| {
        let name = format!("{}.{ext}", template.name());
        env.get_template(&name)
            .and_then(|t| t.render(values))
            .map_err(|err| format!("email template {name}: {err}"))
    };
    Ok(Rendered {
        text: part("txt")?,
        html: part("html")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_template_renders_and_html_is_escaped() {
        let values = json!({
            "name": "<b>Ana</b>", "number": "A1", "lines": [
                { "quantity": 2, "name": "Coat & <i>hat</i>", "size": "M", "color": null, "total": "₲ 10" }
            ], "discount": null, "total": "₲ 10", "link": "https://x.test/r?token=a&b=1",
            "minutes": 60, "start": "10:00", "end": "11:00", "new_email": "ana@example.com",
        });
        for template in Template::ALL {
            let rendered = render(template, &values).expect("renders");
            assert!(rendered.text.contains("<b>Ana</b>"), "{}", rendered.text);
            assert!(
                rendered.html.contains("&lt;b&gt;Ana&lt;&#x2f;b&gt;"),
                "{}",
                rendered.html
            );
            assert!(!rendered.html.contains("<b>Ana"));
        }
        let order = render(Template::OrderConfirmation, &values).expect("renders");
        assert!(
            order.text.contains("2 x Coat & <i>hat</i>, size M — ₲ 10"),
            "{}",
            order.text
        );
        assert!(!order.text.contains("Discount"));
        let reset = render(Template::PasswordReset, &values).expect("renders");
        assert!(
            reset
                .html
                .contains("href=\"https:&#x2f;&#x2f;x.test&#x2f;r?token=a&amp;b=1\""),
            "{}",
            reset.html
        );
    }
}
