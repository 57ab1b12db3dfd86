//! Check-digit algorithms: CPF, CNPJ and Luhn. Each takes ASCII digits only
//! (no dots, dashes, slashes or spaces) and never panics.

/// The digit values of `s`, or `None` if `s` has anything but ASCII digits.
fn digit_values(s: &str) -> Option<Vec<u32>> {
    s.bytes()
        .map(|b| b.is_ascii_digit().then(|| u32::from(b - b'0')))
        .collect()
}

/// Whether every element is the same (an all-same number passes the checksum
/// but is not a real document).
fn all_same(d: &[u32]) -> bool {
    d.windows(2).all(|w| matches!(w, [a, b] if a == b))
}

/// The modulo-11 check digit of `digits` with `weights` (Brazilian rule:
/// remainder below 2 gives 0, otherwise 11 minus the remainder).
fn mod11(digits: &[u32], weights: &[u32]) -> u32 {
    let sum: u32 = digits.iter().zip(weights).map(|(d, w)| d * w).sum();
    let r = sum % 11;
    if r < 2 { 0 } else { 11 - r }
}

/// Checks a Brazilian document of `N` digits whose last two are check digits
/// computed with `w1` (over the first `N-2`) and `w2` (over the first `N-1`).
fn brazilian(digits: &str, len: usize, w1: &[u32], w2: &[u32]) -> bool {
    let Some(d) = digit_values(digits) else {
        return false;
    };
    if d.len() != len || all_same(&d) {
        return false;
    }
    let (Some(body), Some(dv1), Some(dv2)) = (d.get(..len - 2), d.get(len - 2), d.get(len - 1))
    else {
        return false;
    };
    let first = mod11(body, w1);
    if first != *dv1 {
        return false;
    }
    let Some(body2) = d.get(..len - 1) else {
        return false;
    };
    mod11(body2, w2) == *dv2
}

/// Whether `digits` is a valid CPF: exactly 11 ASCII digits, both check
/// digits right, and not all the same digit (`000.000.000-00`, `111…`).
pub fn is_valid_cpf(digits: &str) -> bool {
    const W1: [u32; 9] = [10, 9, 8, 7, 6, 5, 4, 3, 2];
    const W2: [u32; 10] = [11, 10, 9, 8, 7, 6, 5, 4, 3, 2];
    brazilian(digits, 11, &W1, &W2)
}

/// Whether `digits` is a valid CNPJ: exactly 14 ASCII digits, both check
/// digits right, and not all the same digit.
pub fn is_valid_cnpj(digits: &str) -> bool {
    const W1: [u32; 12] = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
    const W2: [u32; 13] = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
    brazilian(digits, 14, &W1, &W2)
}

/// Whether `digits` passes the Luhn (mod 10) check used by card numbers:
/// at least 2 ASCII digits, nothing else.
pub fn is_valid_luhn(digits: &str) -> bool {
    let Some(d) = digit_values(digits) else {
        return false;
    };
    if d.len() < 2 {
        return false;
    }
    let sum = d.iter().rev().enumerate().fold(0u32, |acc, (i, &v)| {
        let x = if i % 2 == 1 {
            let x = v * 2;
            if x > 9 { x - 9 } else { x }
        } else {
            v
        };
        (acc + x) % 10
    });
    sum == 0
}
