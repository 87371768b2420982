//! Cloudinary, reached through its REST API with reqwest (the `cloudinary`
//! crate hard-codes the API host, cannot upload bytes from memory and sends
//! millisecond timestamps). This part holds the account settings and the
//! request signing; the store itself builds on them.

pub mod account;
pub mod signing;

pub use account::CloudinaryAccount;
pub use signing::{sign_params, SignatureAlgorithm};
