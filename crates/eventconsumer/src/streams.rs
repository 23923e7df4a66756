//! Whether the request streams answer: a small task asks JetStream for each
//! request stream's info every few seconds, so `/readyz` can say which one is
//! unavailable (a NATS cluster that lost the stream's quorum, a deleted stream).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tessera_transport::async_nats::jetstream;
use tessera_transport::mpc;
use tokio_util::sync::CancellationToken;

/// The request streams, in the order of [`StreamHealth`]'s flags.
const STREAMS: [&str; 2] = [mpc::KEYGEN_STREAM, mpc::SIGNING_STREAM];
/// Their shared request consumers, whose counts go to the metrics.
const CONSUMERS: [&str; 2] = [mpc::KEYGEN_CONSUMER, mpc::SIGNING_CONSUMER];

/// How long one stream info request may take before the stream counts as unavailable.
const INFO_TIMEOUT: Duration = Duration::from_secs(2);

/// Which request streams answered the last check. Cheap to clone.
#[derive(Clone, Debug)]
pub struct StreamHealth {
    available: Arc<[AtomicBool; 2]>,
}

impl Default for StreamHealth {
    /// Both available: the consumer started, so both answered just now.
    fn default() -> Self {
        Self {
            available: Arc::new([AtomicBool::new(true), AtomicBool::new(true)]),
        }
    }
}

impl StreamHealth {
    /// The names of the request streams that did not answer the last check.
    pub fn unavailable(&self) -> Vec<&'static str> {
        STREAMS
            .iter()
            .zip(self.available.iter())
            .filter(|(_, ok)| !ok.load(Ordering::Relaxed))
            .map(|(name, _)| *name)
            .collect()
    }

    /// Checks both streams every `every` until `cancel`; logs each change once.
    /// Their request consumers' counts go to the metrics.
    pub(crate) async fn watch(
        self,
        js: jetstream::Context,
        every: Duration,
        cancel: CancellationToken,
    ) {
        loop {
            for ((name, consumer), flag) in STREAMS.iter().zip(CONSUMERS).zip(self.available.iter())
            {
                let stream = tokio::time::timeout(INFO_TIMEOUT, js.get_stream(*name)).await;
                let ok = matches!(stream, Ok(Ok(_)));
                if let Ok(Ok(stream)) = stream {
                    let info = tokio::time::timeout(INFO_TIMEOUT, stream.consumer_info(consumer));
                    if let Ok(Ok(i)) = info.await {
                        crate::metrics::consumer(
                            consumer,
                            i.num_pending,
                            i.num_ack_pending,
                            i.num_redelivered,
                        );
                    }
                }
                let was = flag.swap(ok, Ordering::Relaxed);
                if was && !ok {
                    tracing::warn!(stream = name, "request stream unavailable");
                } else if !was && ok {
                    tracing::info!(stream = name, "request stream available again");
                }
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    }
}
