//! A node holds key shares, its identity key and nonces in memory; a core
//! dump would write them to disk. At start the node sets its core file size
//! limit to zero and marks itself not dumpable, which on Linux also keeps
//! processes of the same user from attaching to it with ptrace.

/// Disables core dumps for this process (Linux; elsewhere nothing is done).
#[cfg(target_os = "linux")]
pub fn disable() -> std::io::Result<()> {
    use rustix::process::{set_dumpable_behavior, setrlimit, DumpableBehavior, Resource, Rlimit};
    setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    )?;
    set_dumpable_behavior(DumpableBehavior::NotDumpable)?;
    tracing::info!("core dumps disabled (core size 0, not dumpable)");
    Ok(())
}

/// Disables core dumps for this process (Linux; elsewhere nothing is done).
#[cfg(not(target_os = "linux"))]
pub fn disable() -> std::io::Result<()> {
    tracing::warn!("core dumps are not disabled on this platform");
    Ok(())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use rustix::process::{dumpable_behavior, getrlimit, DumpableBehavior, Resource};

    #[test]
    fn after_disable_no_core_is_written_and_the_process_is_not_dumpable() {
        super::disable().unwrap();
        let limit = getrlimit(Resource::Core);
        assert_eq!((limit.current, limit.maximum), (Some(0), Some(0)));
        assert_eq!(dumpable_behavior().unwrap(), DumpableBehavior::NotDumpable);
    }
}
