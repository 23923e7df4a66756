//! Request expiry: a request taken long after it was published (the nodes
//! were down, the client gave up) is answered with `ERROR_SESSION_STALE`,
//! never started, so a client that retried under a new id gets one signature.

use std::time::Duration;

/// How long ago JetStream stored a message (zero if its clock is ahead of ours).
pub(crate) fn age_of(published: time::OffsetDateTime) -> Duration {
    let age = time::OffsetDateTime::now_utc() - published;
    Duration::try_from(age).unwrap_or(Duration::ZERO)
}

/// A request older than the configured limit: it is answered, never started.
#[derive(Clone, Copy, Debug)]
pub struct Stale {
    pub age: Duration,
    pub limit: Duration,
}

impl Stale {
    pub fn reason(&self) -> String {
        format!(
            "request is {} s old, older than the {} s limit (limits.max_request_age); it was not started",
            self.age.as_secs(),
            self.limit.as_secs()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_is_measured_from_the_publish_time_and_never_negative() {
        let now = time::OffsetDateTime::now_utc();
        let age = age_of(now - time::Duration::seconds(400));
        assert!((400..402).contains(&age.as_secs()), "{age:?}");
        assert_eq!(age_of(now + time::Duration::seconds(30)), Duration::ZERO);
        let reason = Stale {
            age,
            limit: Duration::from_secs(300),
        }
        .reason();
        assert!(
            reason.contains("400 s old") && reason.contains("300 s limit"),
            "{reason}"
        );
    }
}
