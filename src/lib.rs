//! exactly: exactly-once message processing algorithms, each specified twice (a TLA+ module
//! checked by TLC and a Stateright actor model) and checked twice against one model file.

pub mod actors;
pub mod cfg;
pub mod check;
pub mod cli;
pub mod expect;
pub mod families;
pub mod bench;
pub mod measure;
pub mod family;
pub mod new;
pub mod serve;
pub mod tla;
pub mod tlc;
pub mod trace;
