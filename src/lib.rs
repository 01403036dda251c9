//! exactly: exactly-once message processing algorithms, each specified twice (a TLA+ module
//! checked by TLC and a Stateright actor model) and checked twice against one model file.
//!
//! The crate is layered; each layer imports only the layers listed before it:
//!
//! - [`core`]: the shared vocabulary (kinds, verdicts, outcomes, limits, cancellation, exit
//!   codes), TLA+ values and the model-file syntax with their one lexer, the trace format;
//! - [`engine`]: the two checkers, each generic over what it checks: Stateright's runner for any
//!   model, and TLC for any spec and model file;
//! - [`world`]: the shared world as Stateright actors (broker, handlers, stores, downstream,
//!   the failure budget), its fast path, the view properties read, and its TLA+ mapping;
//! - [`families`]: the registry, the code families share, one module per family;
//! - [`catalog`]: model files on disk, validated against their family, their expectations,
//!   and the results store;
//! - [`app`]: what the commands do (compare, check, tlc, trace, bench, new), with one worker
//!   pool;
//! - [`cli`] and [`serve`]: the command line and the web page, on top; nothing imports them.

pub mod core;
pub mod engine;
pub mod world;
pub mod families;
pub mod catalog;
pub mod app;
pub mod cli;
pub mod serve;
