//! A password login, shared by direct approval and the sign-in page: one lease per name at
//! a time, the back-off, the password by the users table or the directory, the timing floor.
//! Either door's failures count against the same name, so they share one back-off.

mod lease;
mod password;

pub(super) use lease::LoginLease;

/// The shortest a directory is given to check a password, however near the deadline.
pub(super) const MIN_DIRECTORY_BUDGET_MS: u64 = 200;
pub(super) use password::{Login, PasswordCheck};

use std::time::Duration;

use crate::error::ApiError;
use crate::store::{Admission, FailedLogins};
use crate::throttle;

/// Check 8, the back-off and one verification at a time per name: the admission's counts
/// when the name may be verified now (`now_ms`: when the admission came, which may have
/// waited its turn), else how long to wait.
pub(super) fn back_off(
    admission: Admission,
    now_ms: u64,
    cap: Duration,
) -> Result<Option<FailedLogins>, ApiError> {
    let counts = match admission {
        Admission::Refused {
            window_until_ms, ..
        } => {
            let secs = throttle::refused_retry_after(window_until_ms, now_ms);
            return Err(ApiError::BackOff {
                retry_after_secs: secs,
            });
        }
        Admission::Admitted { counts } => counts,
    };
    // A counter written before windows were stored, or one whose window a failure that
    // lost its lease did not set, is judged from its counts.
    if let Some(secs) = throttle::retry_after(counts.as_ref(), now_ms, cap) {
        return Err(ApiError::BackOff {
            retry_after_secs: secs,
        });
    }
    Ok(counts)
}
