//! The layering of `src/lib.rs`, checked: the core never names the AWS SDK, its
//! configuration, the round-trip counters or the Lambda runtime; only adapters and glue
//! may. The test fakes exist only with the `test-support` feature, and nothing the Lambda
//! runs names them. And no function grows past a screen.

use std::path::{Path, PathBuf};

/// Where AWS and Lambda crates may be named: adapters, their support, the glue, binaries.
const MAY_NAME_AWS: [&str; 8] = [
    "src/aws.rs",
    "src/directory/cognito.rs",
    "src/directory/ldap/password.rs",
    "src/store/dynamodb/",
    "src/whitelist/ssm.rs",
    "src/lambda/",
    "src/bin/",
    "src/lib.rs",
];

/// What the core must not name.
const AWS_NAMES: [&str; 6] = [
    "aws_sdk_",
    "aws_config",
    "crate::aws",
    "lambda_http",
    "lambda_runtime",
    "aws_lambda_events",
];

/// The fakes: the names of what only tests and benches may build on.
const FAKES: [&str; 6] = [
    "MemoryStore",
    "MemoryDirectory",
    "MemorySource",
    "ManualClock",
    "CountingRandom",
    "test-support",
];

/// Where the Lambda functions and the admin CLI live: none of it may name a fake.
const SHIPPED: [&str; 2] = ["src/lambda/", "src/bin/"];

/// How a fake is kept out of the shipped build: declared under this attribute.
const FAKES_ONLY: &str = r#"#[cfg(any(test, feature = "test-support"))]"#;

/// A screen: a function longer than this is split along its seams (its checks, its
/// reads, its answer), whatever file it is in. Files are sized by their one idea instead.
const MAX_FUNCTION_LINES: usize = 70;

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

fn all_sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    for dir in ["src", "tests", "benches", "examples"] {
        sources(&root.join(dir), &mut paths);
    }
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let relative = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            (relative, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// The core's files that name an AWS or Lambda crate, with the first such line.
fn violations(files: &[(String, String)]) -> Vec<String> {
    files
        .iter()
        .filter(|(path, _)| path.starts_with("src/"))
        .filter(|(path, _)| !MAY_NAME_AWS.iter().any(|allowed| path.starts_with(allowed)))
        .filter_map(|(path, text)| {
            text.lines()
                .find(|line| {
                    let code = line.trim_start();
                    !code.starts_with("//") && AWS_NAMES.iter().any(|n| code.contains(n))
                })
                .map(|line| format!("{path}: {}", line.trim()))
        })
        .collect()
}

/// The shipped files that name a fake, with the first such line.
fn fakes_shipped(files: &[(String, String)]) -> Vec<String> {
    files
        .iter()
        .filter(|(path, _)| SHIPPED.iter().any(|dir| path.starts_with(dir)))
        .filter_map(|(path, text)| {
            text.lines()
                .find(|line| {
                    let code = line.trim_start();
                    !code.starts_with("//") && FAKES.iter().any(|n| code.contains(n))
                })
                .map(|line| format!("{path}: {}", line.trim()))
        })
        .collect()
}

/// Where the fakes enter the crate: their modules, re-exports and the one fake declared
/// in its port's own file.
const FAKE_DECLARATIONS: [&str; 5] = [
    "pub mod memory;",
    "pub use memory::",
    "mod manual",
    "pub use manual::",
    "pub struct CountingRandom",
];

/// Declarations of a fake not directly under [`FAKES_ONLY`] (among the attributes and
/// doc comments just above it).
fn ungated_fakes(files: &[(String, String)]) -> Vec<String> {
    let mut found = Vec::new();
    for (path, text) in files.iter().filter(|(p, _)| p.starts_with("src/")) {
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for (i, line) in lines.iter().enumerate() {
            if !FAKE_DECLARATIONS.iter().any(|d| line.starts_with(d)) {
                continue;
            }
            let gated = lines[..i]
                .iter()
                .rev()
                .take_while(|l| l.starts_with("#[") || l.starts_with("///"))
                .any(|l| *l == FAKES_ONLY);
            if !gated {
                found.push(format!("{path}:{}: {line}", i + 1));
            }
        }
    }
    found
}

#[test]
fn the_fakes_are_built_only_for_tests_and_never_named_by_what_ships() {
    let files = all_sources();
    let shipped = fakes_shipped(&files);
    assert!(
        shipped.is_empty(),
        "shipped code naming a fake: {shipped:#?}"
    );
    let ungated = ungated_fakes(&files);
    assert!(
        ungated.is_empty(),
        "fakes outside `test-support`: {ungated:#?}"
    );
    let manifest = include_str!("../../Cargo.toml");
    assert!(
        !manifest.contains("default = [\"test-support\"]"),
        "test-support must not be a default feature"
    );
}

#[test]
fn the_fake_checks_see_a_violation() {
    let planted = vec![
        (
            "src/lambda/server.rs".to_string(),
            "use crate::store::memory::MemoryStore;".to_string(),
        ),
        (
            "src/bin/direct-oauth-admin/main.rs".to_string(),
            "// a ManualClock in a comment".to_string(),
        ),
        (
            "src/store/mod.rs".to_string(),
            "pub mod dynamodb;\npub mod memory;".to_string(),
        ),
        (
            "src/whitelist/mod.rs".to_string(),
            format!("{FAKES_ONLY}\npub mod memory;"),
        ),
    ];
    assert_eq!(
        fakes_shipped(&planted).len(),
        1,
        "{:?}",
        fakes_shipped(&planted)
    );
    assert_eq!(
        ungated_fakes(&planted),
        ["src/store/mod.rs:2: pub mod memory;"]
    );
}

#[test]
fn the_core_names_no_aws_or_lambda_crate() {
    let files = all_sources();
    assert!(files.iter().any(|(p, _)| p == "src/endpoints/mod.rs"));
    let found = violations(&files);
    assert!(found.is_empty(), "core files naming AWS: {found:#?}");
}

#[test]
fn the_check_sees_a_violation() {
    let planted = vec![
        (
            "src/endpoints/mod.rs".to_string(),
            "use crate::aws::AwsCalls;".to_string(),
        ),
        (
            "src/request.rs".to_string(),
            "use lambda_http::Body;".to_string(),
        ),
        (
            "src/store/memory.rs".to_string(),
            "// aws_sdk_dynamodb in a comment".to_string(),
        ),
        (
            "src/lambda/guard.rs".to_string(),
            "use lambda_http::Body;".to_string(),
        ),
    ];
    assert_eq!(violations(&planted).len(), 2, "{:?}", violations(&planted));
}

/// Every function (with a body) of `text` longer than [`MAX_FUNCTION_LINES`]: its name,
/// first line and length. Braces are counted outside comments, strings and characters,
/// which is enough for `rustfmt`ed code.
fn long_functions(path: &str, text: &str) -> Vec<String> {
    let lines: Vec<String> = text.lines().map(code_of).collect();
    let mut found = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let Some(name) = function_name(line) else {
            continue;
        };
        let mut depth = 0i32;
        let mut opened = false;
        for (end, line) in lines.iter().enumerate().skip(start) {
            if !opened && line.contains(';') && !line.contains('{') {
                break; // a declaration without a body
            }
            for c in line.chars() {
                match c {
                    '{' => (depth, opened) = (depth + 1, true),
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            if opened && depth <= 0 {
                let length = end - start + 1;
                if length > MAX_FUNCTION_LINES {
                    found.push(format!("{path}:{}: fn {name}, {length} lines", start + 1));
                }
                break;
            }
        }
    }
    found
}

/// `fn name` at the start of a line (after `pub`, `const`, `async`), if this line has one.
fn function_name(line: &str) -> Option<&str> {
    let mut words = line.split_whitespace();
    let mut word = words.next()?;
    while ["const", "async", "unsafe"].contains(&word) || word.starts_with("pub") {
        word = words.next()?;
    }
    if word != "fn" {
        return None;
    }
    let name = words.next()?;
    Some(name.split(['<', '(']).next().unwrap_or(name))
}

/// A line without its comment, its strings' and its characters' contents.
fn code_of(line: &str) -> String {
    let mut code = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => break,
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '\'' if matches!(chars.clone().nth(1), Some('\'')) => {
                chars.nth(1);
            }
            '\'' if chars.peek() == Some(&'\\') => {
                chars.by_ref().take_while(|c| *c != '\'').for_each(drop);
            }
            c => code.push(c),
        }
    }
    code
}

#[test]
fn no_function_is_longer_than_a_screen() {
    let long: Vec<String> = all_sources()
        .iter()
        .flat_map(|(path, text)| long_functions(path, text))
        .collect();
    assert!(long.is_empty(), "split these along their seams: {long:#?}");
}

#[test]
fn the_length_check_sees_a_long_function() {
    let body = "    let x = \"}\"; // }\n".repeat(MAX_FUNCTION_LINES - 1);
    let long = format!("pub(crate) async fn long<T>(t: T) {{\n{body}}}\n");
    let short = format!(
        "fn short() {{\n{}}}\n",
        "    x();\n".repeat(MAX_FUNCTION_LINES - 3)
    );
    let declaration = "    fn declared(&self) -> u8;\n";
    let text = format!("{long}{short}{declaration}");
    assert_eq!(
        long_functions("planted.rs", &text),
        [format!(
            "planted.rs:1: fn long, {} lines",
            MAX_FUNCTION_LINES + 1
        )]
    );
}

/// Public items of `src/` (`pub fn`, `struct`, `enum`, `trait`, `const`, `static`, `type`)
/// whose name appears nowhere in the code but at their definition: dead, or kept for
/// nobody. Comments do not count as a use.
fn unused_public_items(files: &[(String, String)]) -> Vec<String> {
    let mut uses = std::collections::HashMap::<String, usize>::new();
    for (_, text) in files {
        for line in text.lines() {
            for word in code_of(line).split(|c: char| !c.is_alphanumeric() && c != '_') {
                *uses.entry(word.to_string()).or_default() += 1;
            }
        }
    }
    let kinds = ["fn", "struct", "enum", "trait", "const", "static", "type"];
    let mut unused = Vec::new();
    for (path, text) in files.iter().filter(|(p, _)| p.starts_with("src/")) {
        for (number, line) in text.lines().enumerate() {
            let mut words = line.split_whitespace();
            if words.next() != Some("pub") {
                continue;
            }
            let mut word = words.next().unwrap_or_default();
            // `pub const fn`, `pub async fn`: the kind is the `fn` after them.
            while ["async", "unsafe"].contains(&word)
                || word == "const" && words.clone().next() == Some("fn")
            {
                word = words.next().unwrap_or_default();
            }
            if !kinds.contains(&word) {
                continue;
            }
            let name = words.next().unwrap_or_default();
            let name = name
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .next();
            let name = name.unwrap_or_default();
            if uses.get(name).copied().unwrap_or(0) <= 1 {
                unused.push(format!("{path}:{}: {name}", number + 1));
            }
        }
    }
    unused
}

#[test]
fn every_public_item_is_used() {
    let unused = unused_public_items(&all_sources());
    assert!(unused.is_empty(), "remove these or use them: {unused:#?}");
}

#[test]
fn the_use_check_sees_an_unused_public_item() {
    let planted = vec![
        (
            "src/token.rs".to_string(),
            "pub fn used_one() {}\npub fn forgotten() {}\npub struct Kept;\n\
             // forgotten, named in a comment only\n"
                .to_string(),
        ),
        (
            "tests/it/x.rs".to_string(),
            "fn t() { used_one(); let _ = Kept; }".to_string(),
        ),
    ];
    assert_eq!(unused_public_items(&planted), ["src/token.rs:2: forgotten"]);
}
