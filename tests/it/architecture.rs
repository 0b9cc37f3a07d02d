//! The layering of `src/lib.rs`, checked: the core never names the AWS SDK, its
//! configuration, the round-trip counters or the Lambda runtime; only adapters and glue
//! may. And no source file grows past what a reader can hold.

use std::path::{Path, PathBuf};

/// Where AWS and Lambda crates may be named: adapters, their support, the glue, binaries.
const MAY_NAME_AWS: [&str; 6] = [
    "src/aws.rs",
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

/// About as long as a reader can hold; split a file along its seams before this.
const MAX_LINES: usize = 400;

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

#[test]
fn the_core_names_no_aws_or_lambda_crate() {
    let files = all_sources();
    assert!(files.iter().any(|(p, _)| p == "src/flow/mod.rs"));
    let found = violations(&files);
    assert!(found.is_empty(), "core files naming AWS: {found:#?}");
}

#[test]
fn the_check_sees_a_violation() {
    let planted = vec![
        (
            "src/flow/mod.rs".to_string(),
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

#[test]
fn no_source_file_is_over_400_lines() {
    let long: Vec<String> = all_sources()
        .into_iter()
        .filter(|(_, text)| text.lines().count() > MAX_LINES)
        .map(|(path, text)| format!("{path}: {} lines", text.lines().count()))
        .collect();
    assert!(long.is_empty(), "{long:#?}");
}
