//! The suites' one seeded generator: SplitMix64 (Steele, Lea and Flood),
//! written out here so its sequence never changes with a crate upgrade and a
//! failing seed replays forever. Every suite draws from [`Rng`]; [`mix`] is
//! the same function used as a hash of one number.
//!
//! The library keeps its own private copy for `SimVfs` (`src/io/sim.rs`):
//! `src/` cannot depend on `tests/`, and the simulator's sequence is part of
//! what a seed replays.

/// SplitMix64's increment, the golden ratio in 64 bits.
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output of state `x`: `mix(s)` is what [`Rng::next`] returns
/// after its state became `s + GOLDEN`, so `mix` hashes one number with the
/// generator's quality.
pub fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A SplitMix64 generator; the field is its state (the seed at first).
#[derive(Clone, Debug)]
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    pub fn next(&mut self) -> u64 {
        let z = mix(self.0);
        self.0 = self.0.wrapping_add(GOLDEN);
        z
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// An index in `0..n` (0 when `n` is 0): [`Rng::below`] for lengths.
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// A number in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// A row id in `1..end` (1 when `end <= 1`).
    pub fn id(&mut self, end: i64) -> i64 {
        1 + self.below((end - 1).max(1) as u64) as i64
    }

    /// Fill `out` with random bytes, eight from each number.
    pub fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        self.fill(&mut v);
        v
    }

    /// Up to `max - 1` random bytes.
    pub fn some(&mut self, max: usize) -> Vec<u8> {
        let n = self.index(max);
        self.bytes(n)
    }
}
