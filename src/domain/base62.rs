//! Base62 (`0-9A-Za-z`) helpers for secrets, checksums and ids.

/// The alphabet, in value order.
pub const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` characters drawn uniformly from the OS CSPRNG (rejection sampling: no modulo bias).
pub fn random(n: usize) -> String {
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        fill_random(&mut buf);
        for b in buf {
            // 248 = 4 × 62: values at or above it would favour the first characters.
            if b < 248 && out.len() < n {
                out.push(ALPHABET[usize::from(b % 62)] as char);
            }
        }
    }
    out
}

/// A seeded byte stream (SHA-256 of seed and counter) that replaces the OS CSPRNG in demo mode
/// only, so the demo's ids and secrets are the same on every run.
struct DemoStream {
    seed: [u8; 32],
    counter: u64,
}

static DEMO_STREAM: std::sync::OnceLock<std::sync::Mutex<DemoStream>> = std::sync::OnceLock::new();

/// Switches this process to the reproducible demo stream. Called by `latchkey demo` alone,
/// before anything is generated; secrets made afterwards are predictable by design.
pub fn use_demo_stream(seed: &str) {
    use sha2::Digest;
    let _ = DEMO_STREAM.set(std::sync::Mutex::new(DemoStream {
        seed: sha2::Sha256::digest(seed.as_bytes()).into(),
        counter: 0,
    }));
}

/// Fills `buf` from the operating system's CSPRNG (or, in demo mode, the demo stream).
pub fn fill_random(buf: &mut [u8]) {
    if let Some(stream) = DEMO_STREAM.get()
        && let Ok(mut s) = stream.lock()
    {
        use sha2::Digest;
        for chunk in buf.chunks_mut(32) {
            let block = sha2::Sha256::new()
                .chain_update(s.seed)
                .chain_update(s.counter.to_le_bytes())
                .finalize();
            s.counter += 1;
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
        return;
    }
    // Without OS randomness no secret can be made safely; there is nothing to fall back to.
    #[allow(clippy::expect_used)]
    getrandom::fill(buf).expect("the operating system's random number generator failed");
}

/// Fixed-width base62 of `value` (most significant first), left-padded with `0`.
pub fn encode_fixed(value: u64, width: usize) -> String {
    let mut chars = vec![b'0'; width];
    encode_into(value, &mut chars);
    String::from_utf8_lossy(&chars).into_owned()
}

/// Fixed-width base62 of `value` into `out` (its length is the width), without allocating:
/// the key check runs it on every API request.
pub fn encode_into(mut value: u64, out: &mut [u8]) {
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(value % 62) as usize];
        value /= 62;
    }
}

/// `n` characters that sort after every earlier call's in this process (11 characters of a
/// strictly increasing counter seeded from the system clock in nanoseconds, so the order also
/// holds across restarts and roughly across nodes), then random ones. In demo mode the
/// counter starts at zero, so demo ids stay the same on every run. Used for ids that are
/// keyset cursors, where "newest first" must hold within one second too.
pub fn ordered(n: usize) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let clock = if DEMO_STREAM.get().is_some() {
        0
    } else {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    };
    let mut last = LAST.load(Ordering::Relaxed);
    let next = loop {
        let next = clock.max(last.saturating_add(1));
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => break next,
            Err(seen) => last = seen,
        }
    };
    let mut out = encode_fixed(next, 11);
    out.push_str(&random(n.saturating_sub(11)));
    out
}

/// True when every byte is in the alphabet.
pub fn is_base62(s: &str) -> bool {
    // Every byte, without an early exit: the compiler checks them sixteen at a time (a key's
    // body is checked on every API request).
    s.bytes().fold(true, |ok, b| ok & b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_width_encoding_pads_and_orders_digits() {
        assert_eq!(encode_fixed(0, 6), "000000");
        assert_eq!(encode_fixed(61, 2), "0z");
        assert_eq!(encode_fixed(62, 2), "10");
        assert_eq!(encode_fixed(u64::from(u32::MAX), 6), "4gfFC3");
    }

    #[test]
    fn ordered_strings_sort_in_the_order_they_were_made() {
        let made: Vec<String> = (0..100).map(|_| ordered(20)).collect();
        let mut sorted = made.clone();
        sorted.sort();
        assert_eq!(made, sorted);
        assert!(made.iter().all(|s| s.len() == 20 && is_base62(s)));
    }

    #[test]
    fn random_strings_have_the_requested_length_and_alphabet() {
        let s = random(100);
        assert_eq!(s.len(), 100);
        assert!(is_base62(&s));
    }
}
