//! CloudWatch metrics written as embedded metric format (EMF): the request's log line
//! carries the values as top-level fields and an `_aws` object naming them, and CloudWatch
//! Logs makes the metrics from the line. No API call, no extra latency, no IAM action.

use std::sync::LazyLock;

use serde_json::json;

/// The namespace of every metric the functions write.
pub const NAMESPACE: &str = "DirectOAuth";

#[derive(Debug, Clone, Copy)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// The metrics on authorize-app's request line.
pub const AUTHORIZE_APP: [(&str, Unit); 8] = [
    ("TokensIssued", Unit::Count),
    ("Status401", Unit::Count),
    ("Status403", Unit::Count),
    ("Status429", Unit::Count),
    ("Status503", Unit::Count),
    ("SsmCalls", Unit::Count),
    ("SsmThrottles", Unit::Count),
    ("HashingMs", Unit::Milliseconds),
];

/// The metrics on authorize-app's start-up line: the whitelist is read before the first
/// request.
pub const STARTED: [(&str, Unit); 2] = [("SsmCalls", Unit::Count), ("SsmThrottles", Unit::Count)];

/// The metrics on the token authorizer's line.
pub const TOKEN_AUTHORIZER: [(&str, Unit); 2] = [
    ("AuthorizerAllowed", Unit::Count),
    ("AuthorizerDenied", Unit::Count),
];

/// The `_aws` metadata for lines that carry `metrics` and a `Function` field (the one
/// dimension, so the two functions' figures stay apart). All but the timestamp is the same
/// on every line, so it is serialized once per cold start.
pub struct Metadata {
    cloudwatch_metrics: String,
}

impl Metadata {
    pub fn new(metrics: &[(&str, Unit)]) -> Self {
        let metrics: Vec<_> = metrics
            .iter()
            .map(|(name, unit)| json!({ "Name": name, "Unit": unit.as_str() }))
            .collect();
        let sets = json!([{
            "Namespace": NAMESPACE,
            "Dimensions": [["Function"]],
            "Metrics": metrics,
        }]);
        Metadata {
            cloudwatch_metrics: sets.to_string(),
        }
    }

    /// The metadata of a line written at `timestamp_ms`.
    pub fn at(&self, timestamp_ms: u64) -> String {
        format!(
            r#"{{"Timestamp":{timestamp_ms},"CloudWatchMetrics":{}}}"#,
            self.cloudwatch_metrics
        )
    }
}

/// authorize-app's metadata, made at its first request line.
pub static AUTHORIZE_APP_METADATA: LazyLock<Metadata> =
    LazyLock::new(|| Metadata::new(&AUTHORIZE_APP));

/// The start-up line's metadata.
pub static STARTED_METADATA: LazyLock<Metadata> = LazyLock::new(|| Metadata::new(&STARTED));

/// The token authorizer's metadata, made at its first line.
pub static TOKEN_AUTHORIZER_METADATA: LazyLock<Metadata> =
    LazyLock::new(|| Metadata::new(&TOKEN_AUTHORIZER));

/// 1 when `yes`, else 0: a count that is also written when nothing happened, so sums and
/// rates are over every request.
pub fn count(yes: bool) -> u32 {
    u32::from(yes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metadata_names_each_metric_under_the_function_dimension() {
        let meta: serde_json::Value =
            serde_json::from_str(&AUTHORIZE_APP_METADATA.at(1_700_000_000_000)).unwrap();
        assert_eq!(meta["Timestamp"], 1_700_000_000_000u64);
        let set = &meta["CloudWatchMetrics"][0];
        assert_eq!(set["Namespace"], "DirectOAuth");
        assert_eq!(set["Dimensions"], json!([["Function"]]));
        let names: Vec<_> = set["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names.len(), 8);
        assert!(names.contains(&"TokensIssued") && names.contains(&"SsmThrottles"));
        assert_eq!(set["Metrics"][7]["Unit"], "Milliseconds");
    }
}
