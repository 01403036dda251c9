//! Helpers shared by the integration tests.
#![allow(dead_code)]

use exactly::cli::{self, Job};
use exactly::family;
use std::path::PathBuf;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every committed model file, as a job with its expectation.
pub fn all_jobs() -> Vec<Job> {
    let root = root();
    let mut jobs = Vec::new();
    for f in family::families() {
        let files = cli::model_files(&root, f);
        assert!(!files.is_empty(), "family {} has no model files", f.id());
        for p in files {
            let job = cli::load_job(&root, &p, &[]).unwrap_or_else(|e| panic!("{}: {}", p.display(), e.message));
            assert!(job.expectation.is_some(), "{} has no expectations file", job.name);
            jobs.push(job);
        }
    }
    jobs
}

/// Calls macro `$m` with each family of the shared world as `test_name: path`, one test per family.
#[allow(unused_macros)]
macro_rules! with_world_families {
    ($m:ident) => {
        $m! {
            handler: exactly::families::handler::HANDLER,
            idempotent_set: exactly::families::idempotent_set::IDEMPOTENT_SET,
            message_id: exactly::families::message_id::MESSAGE_ID,
            outbox: exactly::families::outbox::OUTBOX,
            state_based: exactly::families::state_based::STATE_BASED,
            inbox: exactly::families::inbox::INBOX,
            outbox_out_of_document: exactly::families::outbox_out_of_document::OUTBOX_OUT_OF_DOCUMENT,
            token: exactly::families::token::TOKEN,
            side_effects: exactly::families::side_effects::SIDE_EFFECTS,
            sync_async: exactly::families::sync_async::SYNC_ASYNC,
            http: exactly::families::http::HTTP,
            idempotency_key: exactly::families::idempotency_key::IDEMPOTENCY_KEY,
            outbox_relay: exactly::families::outbox_relay::OUTBOX_RELAY,
            // `exactly new` registers world families above this line.
        }
    };
}
