//! One module per family of the catalog, named after its id.

pub mod common;
pub mod handler;
pub mod http;
pub mod idempotency_key;
pub mod idempotent_set;
pub mod inbox;
pub mod message_id;
pub mod outbox;
pub mod outbox_out_of_document;
pub mod outbox_relay;
pub mod ledger_world;
pub mod side_effects;
pub mod state_based;
pub mod sync_async;
pub mod token;
