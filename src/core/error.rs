//! How a command ends: exit codes, the one-line error that ends it, and progress lines.

/// Exit codes, the same for every subcommand.
pub mod code {
    pub const OK: i32 = 0;
    /// A result that is wrong: a missed expectation, a disagreement, a violation.
    pub const WRONG: i32 = 1;
    /// Bad input or usage.
    pub const USAGE: i32 = 2;
    /// The environment failed: Java or TLC missing, TLC crashed.
    pub const ENV: i32 = 3;
    /// A run stopped at --max-states or --timeout before deciding everything.
    pub const LIMIT: i32 = 4;
    /// Interrupted (Ctrl-C).
    pub const INTERRUPTED: i32 = 130;
}

/// An error that ends the command: its one-line message and exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

/// Bad input (exit code 2).
pub fn usage(message: impl Into<String>) -> Failure {
    Failure { code: code::USAGE, message: message.into() }
}

impl Failure {
    /// A broken environment (exit code 3).
    pub fn env(message: impl Into<String>) -> Failure {
        Failure { code: code::ENV, message: message.into() }
    }
    /// Ctrl-C (exit code 130).
    pub fn interrupted() -> Failure {
        Failure { code: code::INTERRUPTED, message: "interrupted".into() }
    }
}

/// A socket listening on `host:port` (`--host`, `--port`; port 0: a free one), or the one-line
/// usage error (exit code 2) for an address that is not an IP address or a port in use.
pub fn listen(host: &str, port: u16) -> Result<std::net::TcpListener, Failure> {
    let ip: std::net::IpAddr = host.parse().map_err(|_| usage(format!("--host {host}: not an IP address (e.g. 127.0.0.1)")))?;
    let addr = std::net::SocketAddr::new(ip, port);
    std::net::TcpListener::bind(addr).map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => usage(format!("port {port} on {host} is in use: pick another with --port")),
        _ => usage(format!("cannot listen on {addr}: {e}")),
    })
}

/// A progress line, on stderr.
pub fn progress(msg: &str) {
    eprintln!("{msg}");
}
