//! Process-wide tracing: human-readable or JSON logs filtered by config or `RUST_LOG`, plus
//! OpenTelemetry trace export over OTLP/HTTP when `telemetry.otlp_endpoint` is set (and the
//! crate is built with the `otlp` feature, which is off by default to keep builds small).
//!
//! Log hygiene is enforced at the sources (request spans record no headers or bodies; secret
//! types redact their `Debug`), not by filtering output here; the same spans feed OTLP, so the
//! exported traces are equally free of secrets.

use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{fmt, EnvFilter, Layer as _};

use crate::config::{LogFormat, TelemetrySettings};

/// Flushes exported traces when dropped; keep it alive for the life of the process.
#[must_use = "dropping the guard stops trace export"]
pub struct TelemetryGuard {
    #[cfg(feature = "otlp")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        #[cfg(feature = "otlp")]
        if let Some(provider) = self.provider.take() {
            if let Err(e) = provider.shutdown() {
                tracing::warn!(error = %e, "flushing traces at shutdown failed");
            }
        }
    }
}

/// Installs the global subscriber. Later calls are no-ops for logging (tests may build several
/// applications in one process).
pub fn init(settings: &TelemetrySettings) -> TelemetryGuard {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.log_filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = match settings.log_format {
        LogFormat::Json => fmt::layer().json().with_current_span(true).boxed(),
        LogFormat::Text => fmt::layer().boxed(),
    };
    let subscriber = tracing_subscriber::registry().with(logs).with(filter);

    #[cfg(feature = "otlp")]
    {
        let (layer, provider, error) = match settings.otlp_endpoint.as_deref() {
            Some(endpoint) => match otlp::layer(endpoint) {
                Ok((layer, provider)) => (Some(layer), Some(provider), None),
                Err(e) => (None, None, Some(e)),
            },
            None => (None, None, None),
        };
        let _ = subscriber.with(layer).try_init();
        if let Some(e) = error {
            tracing::error!(error = %e, "OTLP trace export disabled: exporter could not be built");
        }
        TelemetryGuard { provider }
    }
    #[cfg(not(feature = "otlp"))]
    {
        let _ = subscriber.try_init();
        if settings.otlp_endpoint.is_some() {
            tracing::warn!(
                "telemetry.otlp_endpoint is set but this binary was built without the `otlp` \
                 feature; traces are not exported"
            );
        }
        TelemetryGuard {}
    }
}

#[cfg(feature = "otlp")]
mod otlp {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::{SpanExporter, WithExportConfig as _};
    use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
    use opentelemetry_sdk::Resource;
    use tracing::Subscriber;
    use tracing_opentelemetry::OpenTelemetryLayer;
    use tracing_subscriber::registry::LookupSpan;

    const SERVICE: &str = "coffer-control-plane";

    /// `endpoint` is the collector's base URL (e.g. `http://otel-collector:4318`); the OTLP
    /// traces path is appended unless already present. Spans are batched on a background
    /// thread, so exporting never blocks request handling.
    pub(super) fn layer<S>(
        endpoint: &str,
    ) -> Result<(OpenTelemetryLayer<S, SdkTracer>, SdkTracerProvider), String>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let base = endpoint.trim_end_matches('/');
        let url = if base.ends_with("/v1/traces") {
            base.to_owned()
        } else {
            format!("{base}/v1/traces")
        };
        let exporter = SpanExporter::builder()
            .with_http()
            .with_endpoint(url)
            .build()
            .map_err(|e| e.to_string())?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(Resource::builder().with_service_name(SERVICE).build())
            .build();
        let tracer = provider.tracer(SERVICE);
        Ok((tracing_opentelemetry::layer().with_tracer(tracer), provider))
    }
}
