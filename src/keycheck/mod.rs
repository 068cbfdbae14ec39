//! The `/v1` hot path's own machinery, all in memory: the key cache, each key's tally (its rate
//! window and usage, flushed in batches by a background task, never written on the request
//! path), and the per-worker slots they share. Nothing here waits on the database.

pub mod key_cache;
pub mod lookup;
pub mod ratelimit;
pub mod shared_limits;
pub mod slots;
pub mod tally;
pub mod usage;
