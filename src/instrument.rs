//! Prometheus metrics with constant names, made where they are counted (the pool, the key
//! cache, the cluster, the limits) and registered together by `metrics.rs`. Their names and
//! options are constants, so making them cannot fail at run time; the unit test below makes
//! every kind once, so a bad name fails the tests, not a start.

use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts};

/// A counter; `labels` are constant labels that set it apart from its siblings.
#[allow(clippy::expect_used)] // Constant name and options: see the module docs.
pub fn counter(name: &str, help: &str, labels: &[(&str, &str)]) -> IntCounter {
    let mut opts = Opts::new(name, help);
    for (k, v) in labels {
        opts = opts.const_label(*k, *v);
    }
    IntCounter::with_opts(opts).expect("a valid counter")
}

/// A counter with variable labels.
#[allow(clippy::expect_used)] // Constant name and options: see the module docs.
pub fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).expect("a valid counter family")
}

/// A histogram with these bucket bounds, in seconds.
#[allow(clippy::expect_used)] // Constant name and options: see the module docs.
pub fn histogram(name: &str, help: &str, buckets: &[f64]) -> Histogram {
    Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets.to_vec()))
        .expect("a valid histogram")
}

/// A histogram with variable labels.
#[allow(clippy::expect_used)] // Constant name and options: see the module docs.
pub fn histogram_vec(name: &str, help: &str, labels: &[&str], buckets: &[f64]) -> HistogramVec {
    HistogramVec::new(
        HistogramOpts::new(name, help).buckets(buckets.to_vec()),
        labels,
    )
    .expect("a valid histogram family")
}

/// Buckets for waits and request times: 100 µs to 10 s.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_metric_can_be_made() {
        counter("latchkey_test_total", "help", &[("kind", "a")]).inc();
        counter_vec("latchkey_test_vec_total", "help", &["a"])
            .with_label_values(&["x"])
            .inc();
        histogram("latchkey_test_seconds", "help", LATENCY_BUCKETS).observe(0.5);
        histogram_vec("latchkey_test_vec_seconds", "help", &["a"], LATENCY_BUCKETS)
            .with_label_values(&["x"])
            .observe(0.5);
    }
}
