//! `exactly explore`: Stateright's Explorer for one model file.

use crate::catalog;
use crate::core::error::{code, listen, usage, Failure};
use std::path::Path;

/// `exactly explore`: Stateright's Explorer for a model file, on loopback unless `host` says otherwise.
pub fn explore(root: &Path, model: &Path, consts: &[String], host: &str, port: u16) -> Result<i32, Failure> {
    let overrides = catalog::parse_overrides(consts)?;
    let job = catalog::load_job(root, model, &overrides)?;
    let addr = listen(host, port)?.local_addr().map_err(|e| usage(format!("cannot listen on {host}:{port}: {e}")))?;
    eprintln!("Stateright Explorer for {} on http://{addr}/ (Ctrl-C to stop)", job.name);
    job.family.explore(&job.consts, &job.props, addr);
    Ok(code::OK)
}
