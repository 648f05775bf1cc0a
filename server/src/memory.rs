//! Gives the heap that glibc's allocator keeps after a burst back to the
//! operating system.
//!
//! A promote builds the namespace's next view (its descriptor pool, the
//! encoded set, the compatibility check's images) while the old one still
//! serves, then drops the old one. With one malloc arena per thread, the
//! freed memory stays mapped in the arenas of whichever threads allocated
//! it: measured on 400 single-file schemas promoted in four rounds, the live
//! heap at the end was 12.6 MB (heaptrack) while the anonymous resident size
//! was 49 MiB, and one `malloc_trim(0)` took it to 23 MiB
//! (`benches/load/memory.py`, docs/PERFORMANCE.md).
//!
//! One thread looks every `memory.trim_interval_ms` at how much free memory
//! the allocator holds (`mallinfo2`, summed over its arenas) and trims when
//! that is more than `memory.trim_threshold_bytes`. Only glibc has these
//! calls; elsewhere nothing is started.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `[memory]` of the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemoryConfig {
    /// Milliseconds between looks at the allocator's free memory; 0: never
    /// trim.
    pub trim_interval_ms: u64,
    /// Free memory held by the allocator above which it is given back.
    pub trim_threshold_bytes: usize,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        Self {
            trim_interval_ms: 2000,
            trim_threshold_bytes: 8 << 20,
        }
    }
}

/// Starts the trimming thread (glibc only; `trim_interval_ms` = 0: none).
pub fn start_trimmer(config: &MemoryConfig) {
    if config.trim_interval_ms == 0 {
        return;
    }
    let interval = Duration::from_millis(config.trim_interval_ms);
    let threshold = config.trim_threshold_bytes;
    let spawned = std::thread::Builder::new()
        .name("memory-trim".into())
        .spawn(move || {
            loop {
                std::thread::sleep(interval);
                if let Some(released) = trim_if_above(threshold) {
                    tracing::debug!(free_bytes = released, "gave free heap back to the OS");
                }
            }
        });
    if let Err(err) = spawned {
        tracing::warn!(%err, "cannot start the memory trimming thread");
    }
}

/// The free bytes the allocator holds in its arenas, when it can tell.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn free_heap_bytes() -> Option<usize> {
    // SAFETY: mallinfo2 only reads the allocator's statistics.
    let info = unsafe { libc::mallinfo2() };
    Some(info.fordblks)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn free_heap_bytes() -> Option<usize> {
    None
}

/// Trims when more than `threshold` bytes are free; the free bytes there
/// were, when it trimmed.
fn trim_if_above(threshold: usize) -> Option<usize> {
    let free = free_heap_bytes()?;
    if free <= threshold {
        return None;
    }
    trim();
    Some(free)
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn trim() {
    // SAFETY: malloc_trim is thread-safe (it takes each arena's lock).
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    fn resident_anonymous_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("RssAnon:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("RssAnon in /proc/self/status")
    }

    #[test]
    fn freed_holes_are_counted_and_a_trim_gives_them_back() {
        // 48 MiB of 16 KiB blocks, then every other one freed: holes of whole
        // pages that no trim of the heap's top can return.
        let mut blocks: Vec<Vec<u8>> = (0..3_000).map(|i| vec![i as u8; 16 << 10]).collect();
        for i in (0..blocks.len()).step_by(2) {
            blocks[i] = Vec::new();
        }
        let free = free_heap_bytes().expect("glibc");
        assert!(free > 10 << 20, "the holes are free heap: {free}");
        assert_eq!(
            trim_if_above(usize::MAX),
            None,
            "under the threshold: no trim"
        );
        let before = resident_anonymous_kib();
        assert!(trim_if_above(1 << 20).is_some());
        let after = resident_anonymous_kib();
        assert!(
            after + 8 * 1024 < before,
            "the trim gave at least 8 MiB back: {before} KiB -> {after} KiB"
        );
        drop(blocks);
    }
}
