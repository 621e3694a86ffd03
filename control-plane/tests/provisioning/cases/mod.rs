//! The engine test cases, one concern per file.

mod bench;
mod crash;
mod faults;
mod lifecycle;
mod replicas;
mod spec;
