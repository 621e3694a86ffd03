//! Throughput check for the encrypt/decrypt hot path (run with `--release`):
//! `cargo run --release -p coffer-transit --example encrypt_bench`.
//! The server's target is >= 10,000 encrypt ops/s on 2 cores; this measures one core.
#![allow(clippy::print_stdout)] // A benchmark's output is its purpose.

use std::time::Instant;

use coffer_transit::{DecryptParams, EncryptParams, Key, KeyOptions, KeyType, TransitError};

fn main() -> Result<(), TransitError> {
    for kt in [KeyType::Aes256Gcm96, KeyType::ChaCha20Poly1305] {
        let key = Key::create("bench", KeyOptions::new(kt))?;
        let plaintext = [0x42u8; 128];
        let n = 200_000u32;
        let start = Instant::now();
        let mut last = String::new();
        for _ in 0..n {
            last = key.encrypt(&plaintext, &EncryptParams::default())?.ciphertext;
        }
        let enc = f64::from(n) / start.elapsed().as_secs_f64();
        let start = Instant::now();
        for _ in 0..n {
            key.decrypt(&last, &DecryptParams::default())?;
        }
        let dec = f64::from(n) / start.elapsed().as_secs_f64();
        println!(
            "{kt}: encrypt {enc:.0} ops/s, decrypt {dec:.0} ops/s (128-byte plaintext, 1 core)"
        );
    }
    Ok(())
}
