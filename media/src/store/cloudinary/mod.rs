//! Cloudinary, reached through its REST API with reqwest (the `cloudinary`
//! crate hard-codes the API host, cannot upload bytes from memory and sends
//! millisecond timestamps): account settings, request signing, the store.

pub mod account;
pub mod signing;
pub mod store;

pub use account::CloudinaryAccount;
pub use signing::{sign_params, SignatureAlgorithm};
pub use store::{CloudinaryStore, RetryPolicy};
