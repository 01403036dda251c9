//! One module per family of the catalog, named after its id.

pub mod handler;
pub mod outbox;
pub mod ledger_world;
pub mod state_based;
