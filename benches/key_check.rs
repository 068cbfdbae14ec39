//! Micro-benchmarks of each stage of the API key check, in nanoseconds per call:
//! `cargo bench --bench key_check`. Plain loops with `black_box` (no extra framework);
//! each stage runs for about a second after a warm-up, best of three.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use latchkey::api::auth::bearer_token;
use latchkey::domain::api_key_secret::{ApiKeySecret, KeyDigest, KeyMode};
use latchkey::keycheck::key_cache::{Entry, KeyCache};
use latchkey::keycheck::tally::Tallies;
use latchkey::models::api_key::{ApiKey, KeyLookup};

fn measure(name: &str, mut f: impl FnMut(u64)) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..3 {
        let mut n: u64 = 0;
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(350) {
            for _ in 0..1000 {
                f(n);
                n += 1;
            }
        }
        best = best.min(start.elapsed().as_nanos() as f64 / n as f64);
    }
    println!("{name:<44} {best:>9.1} ns");
    best
}

fn main() {
    let keys: Vec<String> = (0..10_000)
        .map(|_| {
            ApiKeySecret::generate(KeyMode::Live, None)
                .expose()
                .to_owned()
        })
        .collect();
    let digests: Vec<KeyDigest> = keys
        .iter()
        .filter_map(|k| KeyDigest::of_presented(k).ok())
        .collect();
    let pick = |n: u64| (n % 10_000) as usize;

    let mut total = 0.0;
    let req = actix_web::test::TestRequest::get()
        .insert_header(("authorization", format!("Bearer {}", keys[0])))
        .to_http_request();
    total += measure("Authorization header parse", |_| {
        black_box(bearer_token(black_box(&req)).ok());
    });
    total += measure("format + checksum + SHA-256 (KeyDigest)", |n| {
        black_box(KeyDigest::of_presented(black_box(&keys[pick(n)])).is_ok());
    });
    let cache = KeyCache::new(true, 1);
    let tallies = Tallies::default();
    for (i, d) in digests.iter().enumerate() {
        let mut key = ApiKey::blank(&format!("key_{i:020}"), "team_AAAAAAAAAAAAAAAAAAAA");
        key.secret_digest = *d;
        let lookup = KeyLookup {
            key,
            team_rate_limit: 600,
            team_slug: "bench".into(),
            team_name: "Bench".into(),
            team_suspended: false,
        };
        let tally = tallies.of(&lookup.key.id);
        cache.insert(*d, Arc::new(Entry::new(lookup, tally)), cache.generation());
    }
    total += measure("key cache hit (10,000 entries)", |n| {
        black_box(cache.get(black_box(&digests[pick(n)])));
    });
    let entries: Vec<_> = digests.iter().filter_map(|d| cache.get(d)).collect();
    let ip = "203.0.113.7".parse().ok();
    total += measure("rate limit and usage in the key's tally", |n| {
        black_box(
            entries[pick(n)]
                .tally
                .limit(1_000_000_000, ip, 1_768_471_200),
        );
    });
    println!(
        "{:<44} {total:>9.1} ns  (cache hit path, without the HTTP layer)",
        "sum"
    );
}
