//! `exactly explore`: Stateright's Explorer for one model file.

use crate::catalog;
use crate::core::error::{code, usage, Failure};
use std::path::Path;

/// `exactly explore`: Stateright's Explorer for a model file, on loopback unless `host` says otherwise.
pub fn explore(root: &Path, model: &Path, consts: &[String], host: &str, port: u16) -> Result<i32, Failure> {
    let overrides = catalog::parse_overrides(consts)?;
    let job = catalog::load_job(root, model, &overrides)?;
    let ip: std::net::IpAddr = host
        .parse()
        .map_err(|_| usage(format!("--host {host}: not an IP address (e.g. 127.0.0.1)")))?;
    let addr = std::net::SocketAddr::new(ip, port);
    match std::net::TcpListener::bind(addr) {
        Ok(l) => drop(l),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            return Err(usage(format!("port {port} on {host} is in use: pick another with --port")))
        }
        Err(e) => return Err(usage(format!("cannot listen on {addr}: {e}"))),
    }
    eprintln!("Stateright Explorer for {} on http://{addr}/ (Ctrl-C to stop)", job.name);
    job.family.explore(&job.consts, &job.props, addr);
    Ok(code::OK)
}
