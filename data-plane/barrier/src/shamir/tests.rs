use super::*;

/// All `k`-element subsets of `0..n`, in lexicographic order.
fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
    fn go(start: usize, n: usize, k: usize, cur: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if cur.len() == k {
            out.push(cur.clone());
            return;
        }
        for i in start..n {
            cur.push(i);
            go(i + 1, n, k, cur, out);
            cur.pop();
        }
    }
    let mut out = Vec::new();
    go(0, n, k, &mut Vec::new(), &mut out);
    out
}

fn pick(shares: &[Vec<u8>], idx: &[usize]) -> Vec<Vec<u8>> {
    idx.iter().map(|&i| shares[i].clone()).collect()
}

#[test]
fn any_threshold_subset_recovers_and_fewer_do_not() {
    let secret: Vec<u8> = (0..32u8).map(|b| b.wrapping_mul(37).wrapping_add(11)).collect();
    for k in 1..=5usize {
        for n in k..=7usize {
            let shares = split(&secret, n as u8, k as u8).unwrap();
            assert_eq!(shares.len(), n);
            for s in &shares {
                assert_eq!(s.len(), secret.len() + 1, "(n={n},k={k})");
            }
            for idx in subsets(n, k) {
                assert_eq!(combine(&pick(&shares, &idx)).unwrap(), secret, "n={n} k={k} {idx:?}");
            }
            // All n shares (more than needed) also interpolate the same polynomial.
            assert_eq!(combine(&shares).unwrap(), secret, "n={n} k={k} all");
            if k >= 2 {
                for idx in subsets(n, k - 1) {
                    // 2^-256 chance of a false failure for a 32-byte secret.
                    assert_ne!(combine(&pick(&shares, &idx)).unwrap(), secret, "n={n} k={k}");
                }
            }
        }
    }
}

#[test]
fn large_parameters() {
    let secret = [0xA5u8; 33];
    for (n, k) in [(255u8, 255u8), (255, 2), (255, 128), (10, 10)] {
        let shares = split(&secret, n, k).unwrap();
        // Every x is distinct and non-zero.
        let mut xs: Vec<u8> = shares.iter().map(|s| s[s.len() - 1]).collect();
        xs.sort_unstable();
        xs.dedup();
        assert_eq!(xs.len(), usize::from(n));
        assert!(!xs.contains(&0));
        // Take the last k shares (a subset that is not a prefix).
        let tail = &shares[usize::from(n - k)..];
        assert_eq!(combine(tail).unwrap(), secret, "n={n} k={k}");
        if k >= 2 {
            assert_ne!(combine(&tail[1..]).unwrap(), secret, "n={n} k={k} minus one");
        }
    }
}

#[test]
fn threshold_one_shares_each_hold_the_secret() {
    let shares = split(b"hi", 3, 1).unwrap();
    for s in &shares {
        assert_eq!(combine(std::slice::from_ref(s)).unwrap(), b"hi");
    }
}

#[test]
fn known_answer() {
    // f(x) = 0x42 + 0x05 x: f(1) = 0x47, f(2) = 0x42 ^ (0x05 * 2) = 0x48.
    assert_eq!(combine(&[vec![0x47, 1], vec![0x48, 2]]).unwrap(), [0x42]);
    assert_eq!(combine(&[vec![0x48, 2], vec![0x47, 1]]).unwrap(), [0x42]);
}

#[test]
fn split_rejects_bad_parameters() {
    let check = |secret: &[u8], n: u8, k: u8, expect: ShamirError| {
        assert_eq!(split(secret, n, k).unwrap_err(), expect, "split({secret:?}, {n}, {k})");
    };
    check(b"", 3, 2, ShamirError::EmptySecret);
    check(b"x", 3, 0, ShamirError::InvalidThreshold);
    check(b"x", 0, 0, ShamirError::InvalidThreshold);
    check(b"x", 2, 3, ShamirError::TooFewShares { shares: 2, threshold: 3 });
    check(b"x", 0, 1, ShamirError::TooFewShares { shares: 0, threshold: 1 });
}

#[test]
fn combine_rejects_bad_share_sets() {
    let check = |shares: &[Vec<u8>], expect: ShamirError| {
        assert_eq!(combine(shares).unwrap_err(), expect, "combine({shares:?})");
    };
    check(&[], ShamirError::NoShares);
    check(&[vec![1]], ShamirError::ShareTooShort);
    check(&[vec![]], ShamirError::ShareTooShort);
    check(&[vec![1, 2, 3], vec![1, 4]], ShamirError::InconsistentLength);
    check(&[vec![1, 2], vec![3, 2]], ShamirError::DuplicateShare);
    check(&[vec![1, 0], vec![3, 2]], ShamirError::ZeroX);
    let shares = split(b"secret", 3, 2).unwrap();
    check(&[shares[0].clone(), shares[0].clone()], ShamirError::DuplicateShare);
}
