//! Buffer pool.
