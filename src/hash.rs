//! FNV-1a, the 64-bit hash gil-lab uses where a value must be the same on
//! every platform, Rust version and language (unlike `DefaultHasher`): the
//! seed of a cell's bootstrap (`bench`) and the text hash of the LLM
//! answers, which the Python agents compute the same way (`llm`).
//!
//! It depends on nothing else in the crate.

/// FNV-1a 64's offset basis.
const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a 64's prime.
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// The FNV-1a 64 hash of `bytes`.
pub fn fnv1a_64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(OFFSET_BASIS, |h, &byte| {
        (h ^ u64::from(byte)).wrapping_mul(PRIME)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_test_vectors() {
        assert_eq!(fnv1a_64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a_64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a_64(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
