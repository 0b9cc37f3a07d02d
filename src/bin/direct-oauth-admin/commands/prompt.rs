//! Questions to the operator before a command does what cannot be undone. On a terminal
//! they are asked (on standard error, so `--output json` stays clean); a script has no one
//! to ask, so it must say what it wants with a flag instead.

use std::io::IsTerminal;

use dialoguer::Confirm;

/// Whether someone is there to answer: standard input and standard error are a terminal.
pub(crate) fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// A yes/no question with `default` as the answer to a bare Enter.
pub(crate) fn ask(question: &str, default: bool) -> Result<bool, String> {
    Confirm::new()
        .with_prompt(question)
        .default(default)
        .interact()
        .map_err(|e| format!("cannot read the answer: {e}"))
}

/// Goes ahead with a destructive command: at once with `--yes`; on a terminal after the
/// operator agrees (a bare Enter says no); without a terminal only with `--yes`.
pub(crate) fn confirm_destructive(what: &str, yes: bool) -> Result<(), String> {
    if yes {
        return Ok(());
    }
    if !interactive() {
        return Err(format!(
            "{what}: standard input is not a terminal, so nobody can confirm; give --yes"
        ));
    }
    if ask(&format!("{what}?"), false)? {
        Ok(())
    } else {
        Err("nothing done".into())
    }
}
