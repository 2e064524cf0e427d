//! What a burst of connections costs in memory, and how it is bounded and given back.
//!
//! Every open connection holds actix-web's read and write buffers (8 KiB each, more while a
//! large request or answer passes through) and its dispatcher's state: about 32 KiB measured
//! per connection (resource-pool: 11 MB idle, 75 MB with 2,000 connections open). When the
//! connections close that memory is freed, but glibc's allocator keeps the freed pages of its
//! arenas for later instead of returning them to the system, so the resident size stays near
//! its peak: it follows the most connections ever open at once, not the number of bursts.
//! Measured, that is not a leak: the bytes in use after each burst are the same (about 10 MB
//! after the 1st, 6th and 12th of 2,000-connection rounds, `malloc_stats`), and
//! `malloc_trim(0)` gives back most of the rest (BENCHMARKS.md, "Memory").
//!
//! Two things bound it, both set up by [`crate::server`]:
//! - the connection cap (`http.max_connections_per_worker`): the peak cannot pass the cap;
//! - [`start_trimming`]: every `http.memory_trim_secs` the allocator's free pages go back to
//!   the system (`malloc_trim`), so once a burst is over the resident size falls back.

use std::sync::Once;
use std::time::{Duration, Instant};

static TRIMMING: Once = Once::new();

/// Starts, once per process, a thread that returns the allocator's free memory to the system
/// every `every` (nothing when `every` is zero, or where the allocator is not glibc's). The
/// first server of the process sets the interval; later calls do nothing.
pub fn start_trimming(every: Duration) {
    if every.is_zero() || !TRIMS {
        return;
    }
    TRIMMING.call_once(|| {
        let started = std::thread::Builder::new()
            .name("memory-trim".into())
            .spawn(move || loop {
                std::thread::sleep(every);
                let before = resident_kib();
                let started = Instant::now();
                trim();
                if let (Some(before), Some(after)) = (before, resident_kib()) {
                    if after < before {
                        tracing::debug!(
                            released_kib = before - after,
                            resident_kib = after,
                            elapsed_us = started.elapsed().as_micros() as u64,
                            "memory given back"
                        );
                    }
                }
            });
        if let Err(e) = started {
            tracing::warn!(error = %e, "the memory trimming thread did not start");
        }
    });
}

/// Whether [`trim`] does anything here: only with glibc's allocator.
pub const TRIMS: bool = cfg!(all(target_os = "linux", target_env = "gnu"));

/// Returns the free pages of every allocator arena to the system.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn trim() {
    // SAFETY: malloc_trim takes no pointer; it locks each arena in turn and releases (madvise)
    // whole free pages, which is safe at any moment in any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Returns the free pages of every allocator arena to the system (not here: not glibc).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn trim() {}

/// This process's resident size in KiB (`VmRSS` of `/proc/self/status`), where there is one.
pub fn resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
