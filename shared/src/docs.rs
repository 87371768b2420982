//! The reference page both services serve next to their OpenAPI document
//! (`/api/docs` beside `/api/openapi.json`, `/v1/docs` beside
//! `/v1/openapi.json`). Plain HTML and script, nothing loaded from elsewhere.

/// The page; it fetches the document from its own directory.
pub const PAGE: &str = include_str!("docs.html");

/// Declares the `bearer` (JWT) security scheme the handlers' annotations name.
pub struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}
