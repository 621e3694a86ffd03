//! Lookup throughput for a realistic policy set (run with `--release`):
//! `cargo run --release -p coffer-acl --example lookup_bench`.
#![allow(clippy::print_stdout)] // A benchmark's output is its purpose.

use std::time::Instant;

use coffer_acl::{Acl, Operation, ParseError, Policy};

fn main() -> Result<(), ParseError> {
    let mut text = String::new();
    for i in 0..200 {
        text.push_str(&format!(
            "path \"app{i}/config\" {{ capabilities = [\"read\"] }}\n\
             path \"app{i}/data/*\" {{ capabilities = [\"read\", \"list\"] }}\n\
             path \"app{i}/+/team/*\" {{ capabilities = [\"update\"] }}\n"
        ));
    }
    let policies = [Policy::parse("bench", &text)?, Policy::default_policy()];
    let acl = Acl::new(&policies);
    let paths =
        ["app150/config", "app150/data/a/b", "app7/zz/team/q", "nomatch/x/y", "cubbyhole/x"];
    let n = 2_000_000usize;
    let start = Instant::now();
    let mut granted = 0usize;
    for i in 0..n {
        granted += usize::from(acl.allows(paths[i % paths.len()], Operation::Read));
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    println!("{rate:.0} lookups/s over 600 rules + default policy ({granted} granted)");
    Ok(())
}
