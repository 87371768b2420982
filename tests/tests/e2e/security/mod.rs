//! Issue 28's security review, each finding as it was reproduced: nobody
//! locks the admin out, no secret leaves its place, no token outlives its
//! rights, refusals are cheap and JSON, and one client cannot take every
//! connection.

mod connections;
mod sign_in;
mod tokens;

use std::net::IpAddr;
use std::time::Duration;

pub fn ip(text: &str) -> IpAddr {
    text.parse().expect("a test address")
}

/// A client whose connections come from `source` (a loopback address).
pub fn client_from(source: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip(source))
        .build()
        .expect("client")
}

/// Polls `check` until it holds or `within` passes; answers whether it held.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
