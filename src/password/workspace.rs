//! The kept working memory of argon2 verifications.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use argon2::{Block, Params};

/// Argon2's working memory at the shipped parameters (19 MiB), allocated once and kept.
/// Allocated per verification, as the crate does, it made the kernel fault in and zero
/// 4,864 fresh pages on each of the first two logins of every process (the allocator hands
/// the second one fresh heap too), about 7-10 ms each on the bench machine.
/// [`Passwords::prepare`] allocates it on a background thread while the first request
/// waits for DynamoDB, so the first login usually finds it ready.
///
/// Huge pages (MADV_HUGEPAGE) were tried: the first login's median dropped 5 ms but its
/// 90th percentile rose from 49 to 75 ms (synchronous compaction), so they are not used.
#[derive(Clone, Default)]
pub(super) struct Workspace {
    blocks: Arc<Mutex<Vec<Block>>>,
    allocating: Arc<AtomicBool>,
}

/// Blocks the shipped parameters need; the workspace never holds more.
pub(super) const WORKSPACE_BLOCKS: usize = Params::DEFAULT.block_count();

impl Workspace {
    /// The working memory, allocated and touched on first use.
    pub(super) fn lock(&self) -> MutexGuard<'_, Vec<Block>> {
        let mut blocks = self.blocks.lock().unwrap_or_else(|e| e.into_inner());
        if blocks.is_empty() {
            // `reserve` + `resize` writes every block, so the pages are faulted in here;
            // a zeroed allocation would leave that to the first hash.
            blocks.reserve_exact(WORKSPACE_BLOCKS);
            blocks.resize(WORKSPACE_BLOCKS, Block::default());
        }
        blocks
    }

    /// Allocates on a background thread, once per process.
    pub(super) fn allocate_in_background(&self) {
        if !self.allocating.swap(true, Ordering::Relaxed) {
            let this = self.clone();
            // Without a thread the first verification allocates instead: slower, not wrong.
            let _ = std::thread::Builder::new()
                .name("argon2-memory".into())
                .spawn(move || drop(this.lock()));
        }
    }
}
