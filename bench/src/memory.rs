//! The ingress's resident memory while a phase runs, from `/proc` (Linux; elsewhere
//! nothing is printed): a response that held a whole large group in memory shows as a
//! peak above where the phase started.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::task::JoinHandle;

/// How often the memory is read.
const EVERY: Duration = Duration::from_millis(2);

/// Resident bytes of the processes named `name`, summed.
fn resident(name: &str) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let field = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(str::trim)
        };
        if field("Name:") != Some(name) {
            continue;
        }
        let kib = field("VmRSS:")
            .and_then(|v| v.trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0);
        total += kib * 1024;
    }
    total
}

/// The ingress's memory, read until [`Watch::end`].
pub struct Watch {
    start: u64,
    stop: Arc<AtomicBool>,
    peak: JoinHandle<u64>,
}

pub fn watch() -> Watch {
    let start = resident("ingress");
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let peak = tokio::spawn(async move {
        let mut peak = start;
        while !s.load(Ordering::Relaxed) {
            peak = peak.max(resident("ingress"));
            tokio::time::sleep(EVERY).await;
        }
        peak
    });
    Watch { start, stop, peak }
}

impl Watch {
    /// `ingress memory: 40.1 MiB at the start, peak +1.2 MiB`, or nothing without `/proc`.
    pub async fn end(self) -> String {
        self.stop.store(true, Ordering::Relaxed);
        let peak = self.peak.await.unwrap_or(self.start);
        if self.start == 0 {
            return String::new();
        }
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        format!(
            "ingress memory: {:.1} MiB at the start, peak +{:.1} MiB",
            mib(self.start),
            mib(peak.saturating_sub(self.start))
        )
    }
}
