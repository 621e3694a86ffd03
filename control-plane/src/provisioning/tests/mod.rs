//! Engine tests: the workflow logic against an in-memory `Cloud` and a real database (the
//! server named by `COFFER_TEST_DATABASE_URL`, a fresh database per test).

mod harness;
mod memory_cloud;
mod recovery;
mod registration;
mod workflow;
