//! Shamir secret sharing over GF(2^8), byte-compatible with Vault's `shamir` package layout.
//!
//! Each share is the polynomial values for every secret byte followed by one byte holding the
//! share's x coordinate (non-zero, distinct, chosen by a random permutation of 1..=255 so that
//! share order reveals nothing). Any `threshold` shares interpolate the secret at x = 0; fewer
//! give a value independent of the secret.

mod gf256;

use rand::{rngs::OsRng, seq::SliceRandom, RngCore};
use zeroize::Zeroizing;

/// Invalid split parameters or share sets.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShamirError {
    /// Nothing to split.
    #[error("secret must not be empty")]
    EmptySecret,
    /// Threshold must be between 1 and 255.
    #[error("threshold must be at least 1")]
    InvalidThreshold,
    /// More shares are needed than are produced.
    #[error("shares ({shares}) must be at least the threshold ({threshold})")]
    TooFewShares {
        /// Requested number of shares.
        shares: u8,
        /// Requested threshold.
        threshold: u8,
    },
    /// `combine` got no shares.
    #[error("no shares given")]
    NoShares,
    /// A share is shorter than 2 bytes (at least one value byte plus the x byte).
    #[error("share too short")]
    ShareTooShort,
    /// Shares have different lengths, so they cannot come from the same split.
    #[error("shares have inconsistent lengths")]
    InconsistentLength,
    /// Two shares have the same x coordinate.
    #[error("duplicate share")]
    DuplicateShare,
    /// A share has x = 0, which would be the secret itself; never produced by `split`.
    #[error("invalid share x coordinate 0")]
    ZeroX,
}

/// Splits `secret` into `shares` shares, any `threshold` of which recover it.
pub fn split(secret: &[u8], shares: u8, threshold: u8) -> Result<Vec<Vec<u8>>, ShamirError> {
    if secret.is_empty() {
        return Err(ShamirError::EmptySecret);
    }
    if threshold == 0 {
        return Err(ShamirError::InvalidThreshold);
    }
    if shares < threshold {
        return Err(ShamirError::TooFewShares { shares, threshold });
    }
    let mut xs: Vec<u8> = (1..=255).collect();
    xs.shuffle(&mut OsRng);
    xs.truncate(usize::from(shares));

    // Coefficients of degree 1..threshold-1 for every byte, laid out per byte.
    let degree = usize::from(threshold) - 1;
    let mut coeffs = Zeroizing::new(vec![0u8; degree * secret.len()]);
    OsRng.fill_bytes(&mut coeffs);

    let mut out: Vec<Vec<u8>> = xs.iter().map(|_| Vec::with_capacity(secret.len() + 1)).collect();
    for (i, &intercept) in secret.iter().enumerate() {
        let poly = &coeffs[i * degree..(i + 1) * degree];
        for (share, &x) in out.iter_mut().zip(&xs) {
            // Horner: ((c_d x + c_{d-1}) x + ... + c_1) x + intercept.
            let mut y = 0u8;
            for &c in poly.iter().rev() {
                y = gf256::add(gf256::mul(y, x), c);
            }
            share.push(gf256::add(gf256::mul(y, x), intercept));
        }
    }
    for (share, &x) in out.iter_mut().zip(&xs) {
        share.push(x);
    }
    Ok(out)
}

/// Recovers the secret from shares produced by [`split`]. With fewer than the threshold the
/// result is a wrong value, not an error: shares do not record the threshold.
pub fn combine(shares: &[Vec<u8>]) -> Result<Vec<u8>, ShamirError> {
    let first = shares.first().ok_or(ShamirError::NoShares)?;
    let len = first.len();
    if len < 2 {
        return Err(ShamirError::ShareTooShort);
    }
    let mut xs = Vec::with_capacity(shares.len());
    for share in shares {
        if share.len() != len {
            return Err(ShamirError::InconsistentLength);
        }
        let x = share[len - 1];
        if x == 0 {
            return Err(ShamirError::ZeroX);
        }
        if xs.contains(&x) {
            return Err(ShamirError::DuplicateShare);
        }
        xs.push(x);
    }
    // Lagrange basis at 0: w_i = prod_{m != i} x_m / (x_m - x_i). The weights do not depend on
    // the byte position, so compute them once.
    let weights: Vec<u8> = xs
        .iter()
        .enumerate()
        .map(|(i, &xi)| {
            xs.iter()
                .enumerate()
                .filter(|&(m, _)| m != i)
                .fold(1u8, |w, (_, &xm)| gf256::mul(w, gf256::div(xm, gf256::add(xm, xi))))
        })
        .collect();
    let mut secret = vec![0u8; len - 1];
    for (share, &w) in shares.iter().zip(&weights) {
        for (s, &y) in secret.iter_mut().zip(&share[..len - 1]) {
            *s = gf256::add(*s, gf256::mul(y, w));
        }
    }
    Ok(secret)
}

#[cfg(test)]
mod tests;
