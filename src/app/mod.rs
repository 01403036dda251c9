//! What the commands do, above the catalog and the checkers: compare both checkers, run one,
//! print counterexamples, benchmark, write a new family.

pub mod bench;
pub mod bench_cmd;
pub mod compare;
pub mod counterexamples;
pub mod explore;
pub mod list;
pub mod new;
pub mod report;
pub mod single;
pub mod trace;
