//! Subprocesses under test (`winter-river …`, `mosquitto`): stdout and stderr go to
//! files in a temp dir of their own; the process is killed when its [`Proc`] drops,
//! and a panicking test prints the tail of both logs.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::{TempDir, TestkitError};

/// A running child process with captured output.
#[derive(Debug)]
pub struct Proc {
    name: String,
    child: Child,
    exited: Option<ExitStatus>,
    stdout: PathBuf,
    stderr: PathBuf,
    _dir: TempDir,
}

/// Sends `signal` (`INT`, `TERM`, `KILL`, …) to `pid` with kill(1).
pub fn signal(pid: u32, signal: &str) -> Result<(), TestkitError> {
    let status = Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| TestkitError::io(format!("kill -s {signal} {pid}"), e))?;
    if status.success() {
        Ok(())
    } else {
        Err(TestkitError::Process {
            what: format!("kill -s {signal} {pid} failed: {status}"),
        })
    }
}

impl Proc {
    /// Starts `program args…`; `name` labels its logs.
    pub fn spawn<S: AsRef<OsStr>>(
        name: &str,
        program: impl AsRef<OsStr>,
        args: &[S],
    ) -> Result<Proc, TestkitError> {
        let dir = TempDir::new(&format!("proc-{name}"))?;
        let stdout = dir.path().join("stdout.log");
        let stderr = dir.path().join("stderr.log");
        let open = |p: &PathBuf| {
            std::fs::File::create(p)
                .map_err(|e| TestkitError::io(format!("create {}", p.display()), e))
        };
        let mut cmd = Command::new(program.as_ref());
        // Hermetic: a developer's WR_BROKER must not send a test to their own broker.
        for var in ["WR_BROKER", "WR_USERNAME", "WR_PASSWORD", "WR_AUTH"] {
            cmd.env_remove(var);
        }
        // Hermetic too: `up` keeps a state file in its working directory by
        // default, and tests running at once must not resume each other's site. A
        // test of the state file names its own with `--state PATH`.
        cmd.env("WR_STATE", "none");
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(open(&stdout)?)
            .stderr(open(&stderr)?);
        let child = cmd.spawn().map_err(|e| {
            TestkitError::io(
                format!("spawn {name} ({})", program.as_ref().to_string_lossy()),
                e,
            )
        })?;
        Ok(Proc {
            name: name.to_string(),
            child,
            exited: None,
            stdout,
            stderr,
            _dir: dir,
        })
    }

    /// Runs `program args…` to its end (at most `timeout`): exit status, stdout, stderr.
    pub async fn run<S: AsRef<OsStr>>(
        name: &str,
        program: impl AsRef<OsStr>,
        args: &[S],
        timeout: Duration,
    ) -> Result<(ExitStatus, String, String), TestkitError> {
        let mut p = Proc::spawn(name, program, args)?;
        let status = p.wait_exit(timeout).await?;
        Ok((status, p.stdout(), p.stderr()))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it still runs (reaps it if it has ended).
    pub fn is_running(&mut self) -> bool {
        self.poll_exit().is_none()
    }

    fn poll_exit(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().ok().flatten();
        }
        self.exited
    }

    /// Fails if the process has ended.
    pub fn check_running(&mut self) -> Result<(), TestkitError> {
        match self.poll_exit() {
            None => Ok(()),
            Some(status) => Err(TestkitError::Process {
                what: format!(
                    "{} ended ({status}) but should still run; stderr tail:\n{}",
                    self.name,
                    tail(&self.stderr(), 30)
                ),
            }),
        }
    }

    /// Sends a signal by name (`INT`, `TERM`, `KILL`).
    pub fn signal(&mut self, sig: &str) -> Result<(), TestkitError> {
        if self.poll_exit().is_some() {
            return Err(TestkitError::Process {
                what: format!("{} already ended; cannot send SIG{sig}", self.name),
            });
        }
        signal(self.pid(), sig)
    }

    /// SIGKILL (no clean shutdown: sockets close without DISCONNECT) and reap.
    pub fn kill(&mut self) {
        if self.poll_exit().is_none() {
            let _ = self.child.kill();
            self.exited = self.child.wait().ok();
        }
    }

    /// Waits up to `timeout` for the process to end.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus, TestkitError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.poll_exit() {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                return Err(TestkitError::Timeout {
                    what: format!("{} to exit", self.name),
                    waited: timeout,
                    seen: format!("stderr tail:\n{}", tail(&self.stderr(), 20)),
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Everything it printed on stdout so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    /// Everything it printed on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Waits until stdout contains `text`.
    pub async fn wait_stdout(
        &mut self,
        text: &str,
        timeout: Duration,
    ) -> Result<String, TestkitError> {
        let deadline = Instant::now() + timeout;
        loop {
            let out = self.stdout();
            if out.contains(text) {
                return Ok(out);
            }
            self.check_running()?;
            if Instant::now() >= deadline {
                return Err(TestkitError::Timeout {
                    what: format!("`{text}` on the stdout of {}", self.name),
                    waited: timeout,
                    seen: format!("stdout:\n{out}\nstderr tail:\n{}", tail(&self.stderr(), 20)),
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The last `n` lines of `text`.
pub(crate) fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "---- {} (pid {}) stdout tail ----\n{}\n---- {} stderr tail ----\n{}",
                self.name,
                self.child.id(),
                tail(&self.stdout(), 40),
                self.name,
                tail(&self.stderr(), 60)
            );
        }
    }
}

/// Whether this process runs as uid 0 (read from /proc, no libc needed).
pub fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}
