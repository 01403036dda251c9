//! The two checkers, each generic over what it checks: [`stateright`] runs any Stateright model,
//! [`tlc`] runs the real TLC on any spec and model file. Neither knows the world or a family.

pub mod pool;
pub mod stateright;
pub mod tlc;
