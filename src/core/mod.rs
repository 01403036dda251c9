//! The bottom layer: the words every other layer shares, and the text formats of TLA+ (values in
//! TLC's traces, model files) with one lexer for both.

pub mod cancel;
pub mod cfg;
pub mod error;
pub mod lexer;
pub mod outcome;
pub mod process;
pub mod tla;
pub mod trace;
pub mod vocab;
