//! Waiting for a child process while watching for Ctrl-C or a deadline, and what it cost: its
//! peak resident memory, from the kernel's accounting of the reaped child (`wait4`).

use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ExitStatus};
use std::time::Duration;

/// How a child process ended.
pub struct Ended {
    pub status: ExitStatus,
    /// The child's peak resident set size (Linux reports kibibytes; this is bytes).
    pub peak_memory_bytes: u64,
    /// Whether `stop` asked for it to be killed.
    pub killed: bool,
}

/// Waits for `child`, asking `stop` every 20 ms whether to kill it.
pub fn wait(child: &mut Child, mut stop: impl FnMut() -> bool) -> std::io::Result<Ended> {
    let pid = child.id() as libc::pid_t;
    let mut killed = false;
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: `rusage` is plain old data, and wait4 only writes into the two out-pointers.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let flags = if killed { 0 } else { libc::WNOHANG };
        let r = unsafe { libc::wait4(pid, &mut status, flags, &mut usage) };
        if r == pid {
            return Ok(Ended {
                status: ExitStatus::from_raw(status),
                peak_memory_bytes: (usage.ru_maxrss.max(0) as u64) * 1024,
                killed,
            });
        }
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if !killed && stop() {
            let _ = child.kill();
            killed = true;
            continue;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads a child's output stream to its end on a thread of its own (so that a full pipe never
/// blocks the child), as text.
pub fn drain(stream: Option<impl std::io::Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut s) = stream {
            let _ = s.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// [`drain`], also copying each line to this process's stdout as it comes (when `echo`), and
/// raising the flag once a line contains `needle`.
pub fn drain_watching(
    stream: Option<impl std::io::Read + Send + 'static>,
    needle: &'static str,
    echo: bool,
) -> (std::thread::JoinHandle<String>, std::sync::Arc<std::sync::atomic::AtomicBool>) {
    use std::io::BufRead;
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = seen.clone();
    let handle = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(s) = stream {
            for line in std::io::BufReader::new(s).lines() {
                let Ok(line) = line else { break };
                if line.contains(needle) {
                    flag.store(true, std::sync::atomic::Ordering::SeqCst);
                }
                if echo {
                    println!("{line}");
                }
                text.push_str(&line);
                text.push('\n');
            }
        }
        text
    });
    (handle, seen)
}

/// What one checker cost on one model file: its counts, wall time and peak memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Measure {
    pub distinct_states: u64,
    pub generated_states: u64,
    pub seconds: f64,
    pub peak_memory_bytes: u64,
}
