//! The integration tests, as modules of one test crate (one binary to build and link).
//!
//! `cargo test --release` runs them all but the browser test; `cargo test --release --test it --
//! --ignored web::` runs that one (`make test` does both).

mod common;

mod cli;
mod distributed;
mod fast;
mod fuzz;
mod limits;
mod new;
mod quiescence;
mod replay;
mod stateright;
mod symmetry;
mod tlc;
mod web;
