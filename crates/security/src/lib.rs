//! Placeholder: filled in by the security work.
