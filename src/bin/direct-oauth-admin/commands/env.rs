//! `env`: the list of `direct_oauth::resources` with the names this CLI resolved. Text is
//! `export` lines for a shell (scripts/lib.sh evals them); JSON is the whole list for
//! scripts (the Python tests read it), so neither retypes the list.

use direct_oauth::resources;
use serde_json::json;

use super::{CliResult, Ctx};

pub(crate) fn run(ctx: &Ctx) -> CliResult {
    let named = ctx.config.resources();
    let name_of = |variable: &str| {
        named
            .iter()
            .find(|(r, _)| r.variable == variable)
            .map(|(_, name)| *name)
    };
    let list: Vec<_> = resources::ALL
        .iter()
        .map(|r| {
            json!({
                "role": r.role,
                "kind": r.kind.as_str(),
                "variable": r.variable,
                "local_name": r.local_name,
                "output": r.output,
                "optional": r.is_optional(),
                "value": name_of(r.variable),
            })
        })
        .collect();
    ctx.show(json!(list), || {
        for (resource, name) in &named {
            println!("export {}={}", resource.variable, shell_word(name));
        }
    });
    Ok(())
}

/// `value` as one shell word. The names the configuration accepts need no quotes, and get
/// none, so the file `scripts/lib.sh` writes stays readable by `cargo lambda watch
/// --env-file` as well as by a shell; anything else is single-quoted.
fn shell_word(value: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:@%+=,".contains(c);
    if !value.is_empty() && value.chars().all(plain) {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::shell_word;

    #[test]
    fn names_stay_bare_and_anything_else_is_quoted() {
        assert_eq!(
            shell_word("/direct-oauth/client-whitelist"),
            "/direct-oauth/client-whitelist"
        );
        assert_eq!(
            shell_word("arn:aws:kms:us-east-1:1:key/a-b"),
            "arn:aws:kms:us-east-1:1:key/a-b"
        );
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
