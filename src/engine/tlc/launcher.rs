//! The launcher that binds every RMI socket TLC opens to one address (`ExactlyRmi.java`). TLC
//! opens them with Java's default socket factory, which listens on every interface, and Java has
//! no option for the address: the distributed mode's registry and remote objects, and, in a
//! single process too, the fingerprint set (TLC's `FPSet` is an RMI remote object, exported on a
//! port of its own as soon as it is made).

use super::{Tlc, TlcError};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

const LAUNCHER_SOURCE: &str = include_str!("ExactlyRmi.java");
const LAUNCHER_FILE: &str = "ExactlyRmi.java";
/// The launcher's class: `java -cp <jar>:<its folder> ExactlyRmi <address> <main class> <args>...`.
pub(super) const LAUNCHER: &str = "ExactlyRmi";
/// How the error of a Java that cannot compile the launcher begins.
const NO_COMPILER: &str = "cannot compile the launcher that binds TLC's RMI sockets";

impl Tlc {
    /// The folder of the compiled launcher (`ExactlyRmi.class`), compiled once per process with
    /// Java's own compiler module (`jdk.compiler`).
    pub(super) fn launcher(&self) -> Result<PathBuf, TlcError> {
        static COMPILED: OnceLock<Result<PathBuf, TlcError>> = OnceLock::new();
        COMPILED
            .get_or_init(|| {
                // One folder per version of the launcher, shared by every run of exactly.
                let version = LAUNCHER_SOURCE.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
                let done = std::env::temp_dir().join(format!("exactly-rmi-{version:016x}"));
                if done.join(format!("{LAUNCHER}.class")).is_file() {
                    return Ok(done);
                }
                let dir = std::env::temp_dir().join(format!("exactly-rmi-{version:016x}.{}", std::process::id()));
                let env_err = |e: std::io::Error| TlcError(format!("cannot prepare TLC's launcher in {}: {e}", dir.display()));
                std::fs::create_dir_all(&dir).map_err(env_err)?;
                std::fs::write(dir.join(LAUNCHER_FILE), LAUNCHER_SOURCE).map_err(env_err)?;
                let out = Command::new(&self.java)
                    .current_dir(&dir)
                    .args(["-m", "jdk.compiler/com.sun.tools.javac.Main", "-nowarn", "-d", "."])
                    .arg("-cp")
                    .arg(&self.jar)
                    .arg(LAUNCHER_FILE)
                    .output()
                    .map_err(|e| TlcError(format!("cannot start Java ({}): {e}", self.java.display())))?;
                if !out.status.success() || !dir.join(format!("{LAUNCHER}.class")).is_file() {
                    let text = String::from_utf8_lossy(&out.stderr);
                    let lines: Vec<&str> = text.lines().take(6).collect();
                    return Err(TlcError(format!("{NO_COMPILER} (Java's jdk.compiler module is needed; Debian: default-jdk-headless):\n  {}", lines.join("\n  "))));
                }
                // Another run may have got there first: either copy will do.
                if std::fs::rename(&dir, &done).is_err() {
                    let _ = std::fs::remove_dir_all(&dir);
                }
                Ok(done)
            })
            .clone()
    }


    /// The class path and the launcher's arguments that run a single-process TLC with its
    /// fingerprint set's RMI socket on the loopback address only. Without Java's compiler module
    /// (a JRE) the launcher cannot be built: TLC then runs as it is, and a note says once that
    /// the socket listens on every interface.
    pub(super) fn on_loopback(&self) -> (std::ffi::OsString, Vec<&'static str>) {
        match self.launcher() {
            Ok(folder) => (self.with_launcher(&folder), vec![LAUNCHER, "127.0.0.1"]),
            // A Java that cannot start says so when TLC does not start either.
            Err(e) if !e.0.starts_with(NO_COMPILER) => (self.jar.clone().into_os_string(), Vec::new()),
            Err(_) => {
                static NOTED: std::sync::Once = std::sync::Once::new();
                NOTED.call_once(|| {
                    eprintln!("note: TLC's fingerprint set listens on every interface (binding it to 127.0.0.1 needs Java's jdk.compiler module; Debian: default-jdk-headless)");
                });
                (self.jar.clone().into_os_string(), Vec::new())
            }
        }
    }

    /// The class path of TLC's jar and the launcher's folder.
    pub(super) fn with_launcher(&self, folder: &std::path::Path) -> std::ffi::OsString {
        std::env::join_paths([self.jar.as_path(), folder]).unwrap_or_else(|_| self.jar.clone().into_os_string())
    }
}
