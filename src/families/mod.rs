//! One module per family of the catalog, named after its id.

pub mod handler;
