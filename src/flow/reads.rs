//! What direct approval's checks wait for, and the reads that bring it.

use crate::store::{Admission, Lookup, StoreError};

/// The shortest a directory is given, however near the deadline.
pub(super) const MIN_DIRECTORY_BUDGET_MS: u64 = 200;

/// When the request started, and when what it waits for must have answered.
#[derive(Debug, Clone, Copy)]
pub(super) struct Times {
    pub now_ms: u64,
    pub deadline_ms: u64,
}

/// The attempt's admission (none without credentials).
pub(super) type Admitted = Option<Result<Admission, StoreError>>;

/// What the reads brought: the application and user, and the attempt's admission.
pub(super) type Reads = (Result<Lookup, StoreError>, Admitted);
