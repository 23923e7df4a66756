//! Fault injection for end-to-end tests, compiled into debug builds only.
//!
//! `TESSERA_FAULT_LEDGER_FINISH_FAILS=<kind>:<n>` makes the first `n` attempts
//! to record a result of `kind` (`sign` or `keygen`) in the ledger fail, as if
//! the ledger's stream were unreachable right after the result was published.
//! Release builds ignore the variable (the function is constant there).

/// Whether this attempt to record the result under `key` fails.
#[cfg(debug_assertions)]
pub(crate) fn ledger_finish_fails(key: &str) -> bool {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static PLAN: OnceLock<Option<(String, u64)>> = OnceLock::new();
    static FAILED: AtomicU64 = AtomicU64::new(0);
    let plan = PLAN.get_or_init(|| {
        let v = std::env::var("TESSERA_FAULT_LEDGER_FINISH_FAILS").ok()?;
        let (kind, n) = v.trim().split_once(':')?;
        Some((format!("{kind}."), n.parse().ok()?))
    });
    let Some((prefix, n)) = plan else {
        return false;
    };
    key.starts_with(prefix.as_str())
        && FAILED
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |f| {
                (f < *n).then_some(f + 1)
            })
            .is_ok()
}

/// Never in release builds.
#[cfg(not(debug_assertions))]
pub(crate) fn ledger_finish_fails(_key: &str) -> bool {
    false
}
