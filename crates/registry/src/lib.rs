//! tessera-registry (being built).
