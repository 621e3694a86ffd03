//! The engine's own SQL: leases, step progress, tracked resources, cluster observed state and
//! the image catalog. Kept apart from `crate::store` (the API's repositories) because only the
//! engine writes these columns; errors still map through [`crate::store::StoreError`] so
//! database failures are classified in one place.
//!
//! Every write made on behalf of a claimed operation is fenced by the lease: it only applies
//! while this replica still owns the operation, so a replica that lost its lease (paused,
//! partitioned) cannot overwrite the progress of the replica that took over.

pub mod clusters;
pub mod images;
pub mod leases;
pub mod resources;
pub mod steps;
