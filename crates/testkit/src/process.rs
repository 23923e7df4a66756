//! A service child process: output goes to a log file in the service's own
//! directory, and the process is killed and reaped on drop.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::TestkitError;

#[derive(Debug)]
pub struct Service {
    name: String,
    child: Option<Child>,
    log: PathBuf,
}

impl Service {
    /// Spawns `cmd`, sending stdout and stderr to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<Self, TestkitError> {
        let out = File::create(log)?;
        let err = out.try_clone()?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .map_err(|source| TestkitError::Spawn {
                name: name.to_string(),
                source,
            })?;
        Ok(Self {
            name: name.to_string(),
            child: Some(child),
            log: log.to_path_buf(),
        })
    }

    /// The tail of the service's log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// An error if the process has already exited.
    pub fn check_running(&mut self) -> Result<(), TestkitError> {
        if let Some(child) = self.child.as_mut() {
            if let Some(status) = child.try_wait()? {
                return Err(TestkitError::Exited {
                    name: self.name.clone(),
                    status: status.to_string(),
                    log: self.log_tail(),
                });
            }
        }
        Ok(())
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the process (SIGKILL) and waits for it: a crash, as far as peers can tell.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Asks the process to stop (SIGTERM) and waits up to `grace` before killing it.
    pub fn terminate(&mut self, grace: std::time::Duration) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let deadline = std::time::Instant::now() + grace;
            while std::time::Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `ready` every 50 ms until it answers true, the process exits, or `secs` pass.
pub async fn wait_ready<F, Fut>(
    service: &mut Service,
    secs: u64,
    mut ready: F,
) -> Result<(), TestkitError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        service.check_running()?;
        if ready().await {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(TestkitError::NotReady {
                name: service.name.clone(),
                secs,
                log: service.log_tail(),
            });
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// One HTTP GET on loopback: true on a 2xx answer whose body satisfies `check`.
pub async fn http_ok(url: &str, check: impl Fn(&str) -> bool) -> bool {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(2))
        .build();
    let Ok(client) = client else { return false };
    match client.get(url).send().await {
        Ok(resp) if resp.status().is_success() => {
            resp.text().await.map(|b| check(&b)).unwrap_or(false)
        }
        _ => false,
    }
}
