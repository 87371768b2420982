//! A TCP forwarder that a test can cut, to make a real dependency
//! unreachable without stopping it (other tests share it).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct CuttableProxy {
    pub port: u16,
    enabled: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
    target: Arc<std::sync::OnceLock<String>>,
    task: tokio::task::JoinHandle<()>,
}

impl CuttableProxy {
    /// Forwards 127.0.0.1:{port} to `target` (host:port).
    pub async fn start(target: String) -> Self {
        let proxy = Self::unbound().await;
        proxy.point_at(target);
        proxy
    }

    /// A proxy whose port is known before its target is: connections are
    /// refused until [`Self::point_at`]. For two services that each need
    /// the other's address at start-up.
    pub async fn unbound() -> Self {
        let target: Arc<std::sync::OnceLock<String>> = Arc::new(std::sync::OnceLock::new());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let enabled = Arc::new(AtomicBool::new(true));
        let (cut, _) = watch::channel(0u64);
        let task = {
            let enabled = enabled.clone();
            let cut = cut.clone();
            let target = target.clone();
            tokio::spawn(async move {
                while let Ok((inbound, _)) = listener.accept().await {
                    let Some(target) = target.get().cloned() else {
                        drop(inbound);
                        continue;
                    };
                    if !enabled.load(Ordering::SeqCst) {
                        drop(inbound);
                        continue;
                    }
                    let mut cut_rx = cut.subscribe();
                    tokio::spawn(async move {
                        let Ok(mut outbound) = TcpStream::connect(&target).await else {
                            return;
                        };
                        let mut inbound = inbound;
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                            _ = cut_rx.changed() => {}
                        }
                    });
                }
            })
        };
        Self {
            port,
            enabled,
            cut,
            target,
            task,
        }
    }

    /// Where connections go from now on (the first call only counts).
    pub fn point_at(&self, target: String) {
        let _ = self.target.set(target);
    }

    /// Drops every open connection and refuses new ones until [`Self::restore`].
    pub fn cut(&self) {
        self.enabled.store(false, Ordering::SeqCst);
        self.cut.send_modify(|generation| *generation += 1);
    }

    pub fn restore(&self) {
        self.enabled.store(true, Ordering::SeqCst);
    }
}

impl Drop for CuttableProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
