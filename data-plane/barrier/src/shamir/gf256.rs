//! Arithmetic in GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1 (0x11b).
//!
//! Multiplication and division go through log/exp tables built at compile time with generator
//! 3. The `exp` table is doubled so `log a + log b` never needs a modulo.

const fn build_tables() -> ([u8; 512], [u8; 256]) {
    let mut exp = [0u8; 512];
    let mut log = [0u8; 256];
    let mut x: u8 = 1;
    let mut i = 0;
    while i < 255 {
        exp[i] = x;
        exp[i + 255] = x;
        log[x as usize] = i as u8;
        // x * 3 = x * 2 + x, where x * 2 is a shift reduced by the polynomial.
        let doubled = (x << 1) ^ if x & 0x80 != 0 { 0x1b } else { 0 };
        x = doubled ^ x;
        i += 1;
    }
    exp[510] = exp[0];
    exp[511] = exp[1];
    (exp, log)
}

const TABLES: ([u8; 512], [u8; 256]) = build_tables();
const EXP: [u8; 512] = TABLES.0;
const LOG: [u8; 256] = TABLES.1;

/// Field addition (and subtraction): XOR.
#[inline]
pub(crate) fn add(a: u8, b: u8) -> u8 {
    a ^ b
}

/// Field multiplication.
#[inline]
pub(crate) fn mul(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        return 0;
    }
    EXP[LOG[a as usize] as usize + LOG[b as usize] as usize]
}

/// Field division `a / b`; `b` must be non-zero (callers guarantee distinct share x values).
#[inline]
pub(crate) fn div(a: u8, b: u8) -> u8 {
    debug_assert!(b != 0, "division by zero in GF(256)");
    if a == 0 || b == 0 {
        return 0;
    }
    EXP[LOG[a as usize] as usize + 255 - LOG[b as usize] as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference multiplication: shift-and-add with reduction, no tables.
    fn slow_mul(mut a: u8, mut b: u8) -> u8 {
        let mut p = 0u8;
        while b != 0 {
            if b & 1 != 0 {
                p ^= a;
            }
            a = (a << 1) ^ if a & 0x80 != 0 { 0x1b } else { 0 };
            b >>= 1;
        }
        p
    }

    #[test]
    fn tables_match_reference_for_all_pairs() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let p = mul(a, b);
                assert_eq!(p, slow_mul(a, b), "{a} * {b}");
                if b != 0 {
                    assert_eq!(div(p, b), a, "({a} * {b}) / {b}");
                }
            }
        }
    }

    #[test]
    fn known_values() {
        // FIPS-197 section 4.2 example: {57} x {83} = {c1}.
        assert_eq!(mul(0x57, 0x83), 0xc1);
        assert_eq!(mul(0x57, 0x13), 0xfe);
        assert_eq!(add(0x57, 0x83), 0xd4);
        assert_eq!(div(1, 1), 1);
    }
}
