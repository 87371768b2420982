//! How both binaries learn they should stop. Not a wire type, but the two
//! services must stop the same way, so it lives with what they share.

use std::future::Future;

/// Listens for Ctrl-C and SIGTERM (what Docker and Kubernetes send) and
/// answers a future that resolves on the first of them.
///
/// The handlers are installed here, before the future is first polled: a
/// signal that arrives between "listening" and the server's first poll of
/// its shutdown future must stop it gracefully, not kill it.
///
/// # Errors
/// When the signal handlers cannot be installed.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = terminate.recv() => {},
                _ = interrupt.recv() => {},
            }
            tracing::info!("shutting down");
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down");
        })
    }
}
