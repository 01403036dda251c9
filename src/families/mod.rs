//! One module per family of the catalog, named after its id.

pub mod common;
pub mod handler;
