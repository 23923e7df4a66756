//! Trace ids of requests (`tessera_types::trace`): the client's
//! `Tessera-Trace-Id` header when it is valid, else a fresh one; and the
//! tracing span that puts it on every log line about the request.

use tessera_transport::async_nats::HeaderMap;
use tessera_transport::mpc;
use tessera_types::TraceId;

/// The trace id of a request message: its header's, or a fresh one.
pub(crate) fn of_request(headers: Option<&HeaderMap>) -> TraceId {
    headers
        .and_then(|h| h.get(mpc::TRACE_ID_HEADER))
        .and_then(|v| TraceId::new(v.as_str()).ok())
        .unwrap_or_else(fresh)
}

/// A fresh random trace id.
pub(crate) fn fresh() -> TraceId {
    let mut bytes = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    TraceId::from_random(bytes)
}

/// The span of everything done for one request on this node: its log lines
/// carry `trace_id`, and so do those of the sessions started inside it. At
/// error level, so that it is enabled whatever `log.level` lets through.
pub(crate) fn span(trace: &TraceId) -> tracing::Span {
    tracing::error_span!("request", trace_id = %trace)
}

/// The span for a proposal from a peer: its trace id, or a fresh one for a
/// proposal from a node of the previous release.
pub(crate) fn span_of(trace: Option<&TraceId>) -> (TraceId, tracing::Span) {
    let trace = trace.cloned().unwrap_or_else(fresh);
    let span = span(&trace);
    (trace, span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_header_is_kept_and_anything_else_replaced() {
        let mut h = HeaderMap::new();
        h.insert(mpc::TRACE_ID_HEADER, "client-trace-1");
        assert_eq!(of_request(Some(&h)).as_str(), "client-trace-1");
        let mut bad = HeaderMap::new();
        bad.insert(mpc::TRACE_ID_HEADER, "not valid!");
        let made = of_request(Some(&bad));
        assert_eq!(made.as_str().len(), 32);
        assert_ne!(made, of_request(None));
    }
}
