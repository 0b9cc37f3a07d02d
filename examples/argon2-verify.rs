//! `make bench`'s argon2id figure beside the C reference: the function's own verifier
//! (`PasswordHasherArgon`, m=19456 KiB t=2 p=1, its working memory kept between runs)
//! verifying one password `RUNS` times (first argument, default 20) on one core. Prints
//! the median and the minimum in milliseconds as JSON, for benches/bench/argon2.py.

use std::time::Instant;

use direct_oauth::password::{PasswordHasherArgon, Passwords};

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);
    let argon = PasswordHasherArgon::new().expect("argon2 parameters");
    let stored = argon.hash("passwordhere").expect("a hash");
    // One verification first, so the kept memory is faulted in as on a warm function.
    assert!(argon.verify(&stored, "passwordhere").is_valid());
    let mut ms: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let start = Instant::now();
            assert!(argon.verify(&stored, "passwordhere").is_valid());
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    println!(
        "{{\"median_ms\": {:.3}, \"min_ms\": {:.3}, \"runs\": {}}}",
        ms[ms.len() / 2],
        ms[0],
        ms.len()
    );
}
