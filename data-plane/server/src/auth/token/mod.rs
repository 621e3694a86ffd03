//! Vault's token auth method: the token store (`store.rs`, persistence and lifecycle) and the
//! `auth/token/*` API (`handlers.rs`).

mod cache;
pub mod entry;
pub mod handlers;
pub mod roles;
pub mod store;

pub use entry::TokenEntry;
pub use store::TokenStore;
