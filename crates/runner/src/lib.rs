//! tessera-runner (being built).
