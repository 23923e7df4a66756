//! tessera-transport (being built).
