//! Where renders wait. Two lanes, each a semaphore with a bounded queue:
//! cheap renders (thumbnails, cards) have their own, so a burst of
//! expensive ones (large AVIF, huge PNG) cannot make them wait; the heavy
//! lane runs fewer at once, which also bounds the memory they hold. A
//! render that finds its lane's queue full, or waits past the deadline, is
//! refused with `Busy`: the answer is a 503 with `Retry-After`, which a CDN
//! retries, instead of a connection held open for a minute.
//!
//! Cache hits, stored variants, originals and revalidations never enter a
//! lane.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How to size the lanes.
#[derive(Debug, Clone, Copy)]
pub struct LaneSettings {
    /// Cheap renders at once; the heavy lane gets one fewer (at least one).
    pub concurrency: usize,
    /// Renders waiting in one lane beyond those running.
    pub queue: usize,
    /// Longest wait for a place before the render is refused.
    pub max_wait: Duration,
}

/// A render could not get a place in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    /// What the client is told to wait before retrying.
    pub retry_after: Duration,
}

struct Lane {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
}

/// Counts a waiter for as long as it waits.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Lane {
    fn new(permits: usize, queue: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(permits.max(1))),
            waiting: AtomicUsize::new(0),
            queue,
        }
    }

    async fn enter(&self, max_wait: Duration) -> Result<OwnedSemaphorePermit, Busy> {
        let busy = Busy {
            retry_after: max_wait.clamp(Duration::from_secs(1), Duration::from_secs(10)),
        };
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let before = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _waiting = Waiting(&self.waiting);
        if before >= self.queue {
            return Err(busy);
        }
        match tokio::time::timeout(max_wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            // Closed never happens (the semaphore is never closed); a
            // timeout is the deadline.
            Ok(Err(_)) | Err(_) => Err(busy),
        }
    }

    fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }
}

/// The two lanes; cheap to clone.
#[derive(Clone)]
pub struct RenderLanes {
    light: Arc<Lane>,
    heavy: Arc<Lane>,
    max_wait: Duration,
}

/// Which lane a render takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaneKind {
    Light,
    Heavy,
}

impl RenderLanes {
    pub fn new(settings: LaneSettings) -> Self {
        let concurrency = settings.concurrency.max(1);
        Self {
            light: Arc::new(Lane::new(concurrency, settings.queue)),
            heavy: Arc::new(Lane::new(concurrency.saturating_sub(1), settings.queue)),
            max_wait: settings.max_wait,
        }
    }

    /// Waits for a place in `kind`'s lane; the permit is the place.
    ///
    /// # Errors
    /// [`Busy`] when the lane's queue is full or the wait passes the deadline.
    pub async fn enter(&self, kind: LaneKind) -> Result<OwnedSemaphorePermit, Busy> {
        match kind {
            LaneKind::Light => self.light.enter(self.max_wait).await,
            LaneKind::Heavy => self.heavy.enter(self.max_wait).await,
        }
    }

    /// Renders waiting (not running) in each lane: light, heavy.
    pub fn waiting(&self) -> (usize, usize) {
        (self.light.waiting(), self.heavy.waiting())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lanes(queue: usize, wait_ms: u64) -> RenderLanes {
        RenderLanes::new(LaneSettings {
            concurrency: 2,
            queue,
            max_wait: Duration::from_millis(wait_ms),
        })
    }

    #[tokio::test]
    async fn a_full_heavy_lane_leaves_the_light_lane_free() {
        let lanes = lanes(1, 60_000);
        let running = lanes
            .enter(LaneKind::Heavy)
            .await
            .expect("first heavy runs");
        let queued = {
            let lanes = lanes.clone();
            tokio::spawn(async move { lanes.enter(LaneKind::Heavy).await })
        };
        while lanes.waiting().1 == 0 {
            tokio::task::yield_now().await;
        }
        // The queue (1) is full: the next heavy render is refused at once.
        assert!(lanes.enter(LaneKind::Heavy).await.is_err());
        // Light renders are not behind any of them.
        let a = lanes.enter(LaneKind::Light).await.expect("light place");
        let b = lanes
            .enter(LaneKind::Light)
            .await
            .expect("second light place");
        drop((a, b));
        drop(running);
        assert!(
            queued.await.expect("task").is_ok(),
            "the queued heavy render runs next"
        );
    }

    #[tokio::test]
    async fn waiting_past_the_deadline_is_refused() {
        let lanes = lanes(8, 50);
        let _running = lanes.enter(LaneKind::Heavy).await.expect("runs");
        let refused = lanes.enter(LaneKind::Heavy).await.expect_err("deadline");
        assert!(refused.retry_after >= Duration::from_secs(1));
        assert_eq!(
            lanes.waiting(),
            (0, 0),
            "a refused waiter is no longer counted"
        );
    }
}
