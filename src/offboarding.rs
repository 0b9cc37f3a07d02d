//! `user sync`: access follows the directory. Every enabled local record linked to the
//! deployment's directory is looked up there by the person's immutable id; one whose
//! person is gone, or locked by an administrator, is disabled here in one conditional
//! write, so the authorizer refuses the person's tokens at their next check. Records a
//! login made under another spelling of a name before names were kept in normal form
//! (no link, no password, a name no login can reach any more) are disabled too. A line
//! per change.
//!
//! The run looks first and writes after: paged, so a directory of any size is read in
//! bounded pages; idempotent (a disabled record is not listed again); safe to run twice at
//! once (each write is conditional on the record still being enabled and the person's, so
//! one run reports each change). A person the directory cannot answer for is left alone
//! and the run says so; three such answers in a row stop it. A run that would disable
//! more than a fifth of the records it checked (and more than five) writes nothing
//! unless forced: that is a wrong setting or a directory answering wrongly far more often
//! than an offboarding.

use std::time::Duration;

use thiserror::Error;

use crate::directory::{Directory, DirectoryError, Standing};
use crate::identifier::is_normal_username;
use crate::store::{DirectoryLink, LinkedUsers, StoreError};

/// How long the directory is given for one person.
pub const PER_PERSON: Duration = Duration::from_secs(5);
/// Unanswered lookups in a row that stop a run (the directory is down, not one entry odd).
const UNANSWERED_IN_A_ROW: u32 = 3;
/// A run disabling more than this many records, and more than a fifth of those it
/// checked, needs `force`.
const UNFORCED_CHANGES: usize = 5;

/// Why a record is disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// The person is no longer in the directory (or no longer matches its user filter).
    Gone,
    /// An administrator locked or disabled the person there.
    Locked,
    /// A record made under another spelling of a name before names were kept in normal
    /// form: no login reaches it any more, and its tokens would outlive any offboarding.
    AnotherSpelling,
}

impl Why {
    pub fn as_str(self) -> &'static str {
        match self {
            Why::Gone => "gone from the directory",
            Why::Locked => "locked in the directory",
            Why::AnotherSpelling => "made under another spelling of a name",
        }
    }
}

/// A record disabled (or, in a dry run, to be disabled), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub username: String,
    /// The person's id in the directory; `None` for a record without a link.
    pub id: Option<String>,
    pub why: Why,
}

/// What a run did: how many records it checked, what it changed, and for how many the
/// directory gave no answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub checked: u32,
    pub changes: Vec<Change>,
    pub unanswered: u32,
}

/// How a run goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Look and report, write nothing.
    pub dry_run: bool,
    /// Disable however many the run finds.
    pub force: bool,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SyncError {
    #[error("the store: {0}")]
    Store(#[from] StoreError),
    #[error("the directory gave no answer {UNANSWERED_IN_A_ROW} times in a row: {0}")]
    Directory(#[from] DirectoryError),
    #[error(
        "{would} of the {checked} records checked would be disabled: nothing was; check the \
         directory settings (a dry run lists them), or force the run"
    )]
    TooMany { would: usize, checked: u32 },
}

/// One run over every enabled record of `directory`'s users.
pub async fn sync<S: LinkedUsers, D: Directory>(
    store: &S,
    directory: &D,
    options: Options,
) -> Result<Report, SyncError> {
    let mut report = Report::default();
    let mut planned = look(store, directory, &mut report).await?;
    planned.extend(other_spellings(store, &mut report).await?);
    let (would, checked) = (planned.len(), report.checked);
    if !options.force && would > UNFORCED_CHANGES && would * 5 > checked as usize {
        return Err(SyncError::TooMany { would, checked });
    }
    if options.dry_run {
        report.changes = planned.into_iter().map(|(change, _)| change).collect();
        return Ok(report);
    }
    for (change, link) in planned {
        let done = match &link {
            Some(link) => store.disable_linked(&change.username, link).await?,
            None => store.disable_unlinked(&change.username).await?,
        };
        if done {
            report.changes.push(change);
        }
    }
    Ok(report)
}

type Planned = Vec<(Change, Option<DirectoryLink>)>;

/// The linked records whose person is gone or locked, page by page.
async fn look<S: LinkedUsers, D: Directory>(
    store: &S,
    directory: &D,
    report: &mut Report,
) -> Result<Planned, SyncError> {
    let (mut planned, mut after, mut in_a_row) = (Vec::new(), None::<String>, 0);
    loop {
        let (users, next) = store
            .linked_page(directory.kind(), after.as_deref())
            .await?;
        for user in users {
            let Some(link) = user.link else { continue };
            report.checked += 1;
            let why = match directory.standing(&link.id, PER_PERSON).await {
                Ok(Standing::Active) => None,
                Ok(Standing::Gone) => Some(Why::Gone),
                Ok(Standing::Locked) => Some(Why::Locked),
                Err(e) => {
                    report.unanswered += 1;
                    in_a_row += 1;
                    if in_a_row >= UNANSWERED_IN_A_ROW {
                        return Err(e.into());
                    }
                    continue;
                }
            };
            in_a_row = 0;
            if let Some(why) = why {
                let id = Some(link.id.clone());
                planned.push((
                    Change {
                        username: user.username,
                        id,
                        why,
                    },
                    Some(link),
                ));
            }
        }
        match next {
            Some(name) => after = Some(name),
            None => return Ok(planned),
        }
    }
}

/// Records without a link whose name is not in normal form: made by a directory login
/// under another spelling before names were kept so.
async fn other_spellings<S: LinkedUsers>(
    store: &S,
    report: &mut Report,
) -> Result<Planned, SyncError> {
    let (mut planned, mut after) = (Vec::new(), None::<String>);
    loop {
        let (users, next) = store.unlinked_page(after.as_deref()).await?;
        for user in users {
            report.checked += 1;
            if !is_normal_username(&user.username) {
                let why = Why::AnotherSpelling;
                planned.push((
                    Change {
                        username: user.username,
                        id: None,
                        why,
                    },
                    None,
                ));
            }
        }
        match next {
            Some(name) => after = Some(name),
            None => return Ok(planned),
        }
    }
}
