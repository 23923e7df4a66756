//! Fault injection for end-to-end tests, compiled into debug builds only.
//!
//! `TESSERA_FAULT_ROUND_DELAY_MS=<n>` makes every protocol step of every
//! session wait `n` ms on its worker thread, so that a test can kill a node
//! while a session is surely in flight. Release builds ignore the variable
//! (the function is empty there), so it can never slow a production node.

#[cfg(debug_assertions)]
fn delay() -> Option<std::time::Duration> {
    use std::sync::OnceLock;
    use std::time::Duration;
    static DELAY: OnceLock<Option<Duration>> = OnceLock::new();
    *DELAY.get_or_init(|| {
        std::env::var("TESSERA_FAULT_ROUND_DELAY_MS")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .map(Duration::from_millis)
    })
}

/// Whether a delay is configured: protocol steps then run on the blocking
/// pool, so the sleep never holds an async worker.
#[cfg(debug_assertions)]
pub(crate) fn active() -> bool {
    delay().is_some()
}

/// Called before each protocol step.
#[cfg(debug_assertions)]
pub(crate) fn before_step() {
    if let Some(d) = delay() {
        std::thread::sleep(d);
    }
}

/// Never in release builds.
#[cfg(not(debug_assertions))]
pub(crate) fn active() -> bool {
    false
}

/// Called before each protocol step: nothing in release builds.
#[cfg(not(debug_assertions))]
pub(crate) fn before_step() {}
