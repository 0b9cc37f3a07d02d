//! JSON log lines on stdout, with a filter that keeps chatty libraries from logging
//! secrets whatever level is configured.

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Libraries that log whole events or signed AWS requests (Authorization headers, session
/// tokens) at debug or trace; they stay at info whatever the configured level.
const CAPPED_AT_INFO: [&str; 8] = [
    "lambda_runtime",
    "lambda_runtime_api_client",
    "lambda_http",
    "aws_sigv4",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "hyper_util",
    "h2",
];

/// The configured filter (`info`, `direct_oauth=debug,info`, ...), with
/// [`CAPPED_AT_INFO`] applied so it wins. `Targets` rather than `EnvFilter`: the same
/// directive syntax without span filters, and without a regex engine in the binary.
pub fn log_filter(configured: &str) -> Targets {
    let mut filter: Targets = configured
        .parse()
        .unwrap_or_else(|_| Targets::new().with_default(LevelFilter::INFO));
    for target in CAPPED_AT_INFO {
        let level = filter.iter().find(|(t, _)| *t == target).map(|(_, l)| l);
        let wanted = level.unwrap_or(filter.default_level().unwrap_or(LevelFilter::OFF));
        filter = filter.with_target(target, wanted.min(LevelFilter::INFO));
    }
    filter
}

/// JSON log lines on stdout (CloudWatch's JSON log format reads them as fields).
pub fn init_logging(configured: &str) {
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(false)
                .with_ansi(false),
        )
        .with(log_filter(configured))
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatty_libraries_are_capped_at_info() {
        let f = log_filter("trace");
        assert!(f.would_enable("direct_oauth::service", &tracing::Level::TRACE));
        assert!(!f.would_enable("lambda_runtime::runtime", &tracing::Level::DEBUG));
        assert!(f.would_enable("lambda_runtime::runtime", &tracing::Level::INFO));
        let f = log_filter("warn,aws_smithy_runtime=trace");
        assert!(!f.would_enable("aws_smithy_runtime::client", &tracing::Level::DEBUG));
        assert!(
            !f.would_enable("lambda_runtime", &tracing::Level::INFO),
            "not raised above the default"
        );
        let f = log_filter("not a filter ===");
        assert!(f.would_enable("direct_oauth", &tracing::Level::INFO));
    }
}
