//! JSON log lines on stdout, one object a line, with a filter that keeps chatty libraries
//! from logging secrets whatever level is configured. Every line written while an
//! invocation runs carries its `request_id` and `trace_id`, so CloudWatch can group a
//! request's lines and join them to X-Ray.

use std::fmt;
use std::sync::Mutex;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
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

/// The invocation under way: Lambda runs one at a time per process, so one slot serves.
static INVOCATION: Mutex<Option<Invocation>> = Mutex::new(None);

#[derive(Debug, Clone)]
struct Invocation {
    request_id: String,
    trace_id: Option<String>,
}

/// Marks the lines that follow as this invocation's, until [`end_invocation`].
pub fn begin_invocation(request_id: &str, trace_id: Option<&str>) {
    *INVOCATION.lock().unwrap_or_else(|e| e.into_inner()) = Some(Invocation {
        request_id: request_id.to_string(),
        trace_id: trace_id.map(str::to_string),
    });
}

pub fn end_invocation() {
    *INVOCATION.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// JSON log lines on stdout (CloudWatch's JSON log format reads them as fields).
pub fn init_logging(configured: &str) {
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .event_format(JsonLine)
                .with_ansi(false),
        )
        .with(log_filter(configured))
        .init();
}

/// One event as one JSON object: `timestamp`, `level`, `target`, the event's fields at the
/// top level, and the invocation's ids. A field named `_aws` holding JSON (the embedded
/// metric format's metadata, see [`super::metrics`]) is written as the object it is, as
/// CloudWatch requires.
pub struct JsonLine;

impl<S, N> FormatEvent<S, N> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        let mut line = Map::new();
        line.insert("timestamp".into(), timestamp.into());
        line.insert("level".into(), event.metadata().level().as_str().into());
        event.record(&mut Fields(&mut line));
        line.insert("target".into(), event.metadata().target().into());
        if let Some(invocation) = INVOCATION.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            line.insert("request_id".into(), invocation.request_id.into());
            if let Some(trace_id) = invocation.trace_id {
                line.insert("trace_id".into(), trace_id.into());
            }
        }
        writeln!(writer, "{}", Value::Object(line))
    }
}

/// An event's fields as JSON values: numbers and booleans stay numbers and booleans.
struct Fields<'a>(&'a mut Map<String, Value>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        let parsed = (field.name() == "_aws")
            .then(|| serde_json::from_str::<Value>(value).ok())
            .flatten();
        let value = parsed.unwrap_or_else(|| value.into());
        self.0.insert(field.name().into(), value);
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines `init_logging` would write for the events `emit` makes.
    fn lines(emit: impl FnOnce()) -> Vec<Value> {
        #[derive(Clone, Default)]
        struct Buffer(std::sync::Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let out = buffer.clone();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .event_format(JsonLine)
                .with_writer(move || out.clone()),
        );
        tracing::subscriber::with_default(subscriber, emit);
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn a_line_carries_its_invocation_typed_fields_and_embedded_metrics() {
        let got = lines(|| {
            tracing::info!(status = 302u16, aws_ms = 1.5, user = %"alice", "outside");
            begin_invocation("req-1", Some("Root=1-abc"));
            tracing::info!(_aws = r#"{"Timestamp":1}"#, TokensIssued = 1u32, "inside");
            end_invocation();
        });
        assert_eq!(got[0]["status"], 302);
        assert_eq!(got[0]["aws_ms"], 1.5);
        assert_eq!(got[0]["user"], "alice");
        assert_eq!(got[0]["message"], "outside");
        assert_eq!(got[0]["level"], "INFO");
        assert!(got[0].get("request_id").is_none(), "no invocation, no id");
        assert_eq!(got[1]["request_id"], "req-1");
        assert_eq!(got[1]["trace_id"], "Root=1-abc");
        assert_eq!(got[1]["_aws"]["Timestamp"], 1, "an object, not a string");
        assert_eq!(got[1]["TokensIssued"], 1);
    }

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
