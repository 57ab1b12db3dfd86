//! `dtmf-compare`: scores [`ramal_media::InbandDetector`] against spandsp on the vectors
//! written by `shared/bench/dtmf/run-dtmf-bench.sh --dump` (`OUT/vectors/*.s16` +
//! `manifest.tsv`, plus the talk-off files `OUT/talkoff_*.s16`), and compares CPU per 20 ms
//! frame with spandsp's `dtmf_rx`, both measured in this invocation.
//!
//! ```sh
//! cargo run --release -p ramal-media --bin dtmf-compare -- OUT/vectors [--frames N]
//! ```
//!
//! A case's verdict depends on its zone: where a Q.24 receiver must operate, the answer must
//! be the expected digits exactly; where it must not, nothing; in between ("grey"), more of
//! the expected digits is better and any digit that is not expected is wrong.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use ramal_media::InbandDetector;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Zone {
    MustDetect,
    MustReject,
    Grey,
}

/// The zone of a case, by category and parameter (see the module docs).
fn zone(category: &str, param: f64) -> Zone {
    let within = |low: f64, high: f64| param >= low - 1e-9 && param <= high + 1e-9;
    match category {
        "level_dBm0" if within(-33.0, 3.0) => Zone::MustDetect,
        "level_dBm0" if param <= -55.0 => Zone::MustReject,
        "freq_off_%" if within(-1.5, 1.5) => Zone::MustDetect,
        "freq_off_%" if param.abs() >= 3.5 - 1e-9 => Zone::MustReject,
        "twist_dB" if within(-3.0, 7.0) => Zone::MustDetect,
        "twist_dB" if param <= -6.0 || param >= 10.0 => Zone::MustReject,
        "on_ms" if param >= 40.0 - 1e-9 => Zone::MustDetect,
        "on_ms" if param <= 20.0 + 1e-9 => Zone::MustReject,
        "off_ms" if param >= 20.0 - 1e-9 => Zone::MustDetect,
        "snr_dB" if param >= 12.0 - 1e-9 => Zone::MustDetect,
        _ => Zone::Grey,
    }
}

/// Longest common subsequence length.
fn lcs(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut table = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            table[i][j] = if a[i - 1] == b[j - 1] {
                table[i - 1][j - 1] + 1
            } else {
                table[i - 1][j].max(table[i][j - 1])
            };
        }
    }
    table[a.len()][b.len()]
}

/// (correct, hits, extra) of an answer in a zone.
fn score(zone: Zone, expected: &str, got: &str) -> (bool, usize, usize) {
    let hits = lcs(expected, got);
    let extra = got.chars().count() - hits;
    let correct = match zone {
        Zone::MustDetect => got == expected,
        Zone::MustReject => got.is_empty(),
        Zone::Grey => extra == 0,
    };
    (correct, hits, extra)
}

fn read_s16(path: &Path) -> Result<Vec<i16>, String> {
    let bytes = std::fs::read(path).map_err(|error| format!("{}: {error}", path.display()))?;
    Ok(bytes
        .chunks_exact(2)
        .map(|pair| i16::from_le_bytes([pair[0], pair[1]]))
        .collect())
}

fn detect(samples: &[i16]) -> String {
    let mut detector = InbandDetector::new();
    let mut got = String::new();
    for frame in samples.chunks(160) {
        got.extend(detector.push_samples(frame));
    }
    got
}

fn ulaw_round_trip(samples: &mut [i16]) {
    let codec = ramal_media::Codec::Pcmu;
    for sample in samples {
        *sample = codec.decode_sample(codec.encode_sample(*sample));
    }
}

/// Our CPU per 20 ms frame (ns), looping over `samples` like the C bench does.
fn our_ns_per_frame(samples: &[i16], frames: usize) -> f64 {
    let mut detector = InbandDetector::new();
    let mut digits = 0usize;
    let span = samples.len() - 160;
    let started = Instant::now();
    for frame in 0..frames {
        let offset = (frame * 160) % span;
        digits += detector
            .push_samples(std::hint::black_box(&samples[offset..offset + 160]))
            .count();
    }
    let elapsed = started.elapsed();
    std::hint::black_box(digits);
    elapsed.as_secs_f64() * 1e9 / frames as f64
}

/// spandsp's CPU per 20 ms frame (ns), from its bench binary.
fn spandsp_ns_per_frame(binary: &Path, frames: usize) -> Option<f64> {
    let seconds = (frames / 50).max(1);
    let output = Command::new(binary)
        .args(["--bench-secs", &seconds.to_string()])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find(|line| line.contains("ns per 20 ms frame"))?;
    let before = line.split(" ns per 20 ms frame").next()?;
    before.rsplit(' ').next()?.parse().ok()
}

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut vectors: Option<PathBuf> = None;
    let mut frames = 300_000usize;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--frames" => {
                frames = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or("--frames N")?;
            }
            _ => vectors = Some(PathBuf::from(arg)),
        }
    }
    let vectors = vectors.ok_or("usage: dtmf-compare VECTORS_DIR [--frames N]")?;
    let manifest = std::fs::read_to_string(vectors.join("manifest.tsv"))
        .map_err(|error| format!("{}/manifest.tsv: {error}", vectors.display()))?;

    // category -> (cases, ours correct, spandsp correct, ours hits, spandsp hits)
    let mut categories: Vec<(String, [usize; 5])> = Vec::new();
    let mut worse = Vec::new();
    let mut better = Vec::new();
    for line in manifest.lines().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        let [name, category, param, expected, spandsp] = fields[..] else {
            let [name, category, param, expected] = fields[..] else {
                continue;
            };
            return Err(format!(
                "{name} {category} {param} {expected}: no spandsp column"
            ));
        };
        let param: f64 = param.parse().map_err(|_| format!("bad param in {line}"))?;
        let samples = read_s16(&vectors.join(format!("{name}.s16")))?;
        let ours = detect(&samples);
        let zone = zone(category, param);
        let (our_ok, our_hits, our_extra) = score(zone, expected, &ours);
        let (their_ok, their_hits, their_extra) = score(zone, expected, spandsp);
        let entry = match categories.iter_mut().find(|(known, _)| known == category) {
            Some((_, counts)) => counts,
            None => {
                categories.push((category.to_string(), [0; 5]));
                &mut categories.last_mut().ok_or("empty")?.1
            }
        };
        entry[0] += 1;
        entry[1] += usize::from(our_ok);
        entry[2] += usize::from(their_ok);
        entry[3] += our_hits;
        entry[4] += their_hits;
        let describe = format!(
            "{name:<22} {zone:?}: ours {ours:?} ({our_hits} hits, {our_extra} extra), spandsp {spandsp:?} ({their_hits} hits, {their_extra} extra)"
        );
        let we_are_worse = (their_ok && !our_ok)
            || (zone == Zone::Grey && (our_hits < their_hits || our_extra > their_extra));
        let we_are_better = (our_ok && !their_ok)
            || (zone == Zone::Grey && our_extra == 0 && our_hits > their_hits);
        if we_are_worse {
            worse.push(describe);
        } else if we_are_better {
            better.push(describe);
        }
    }
    println!(
        "{:<12} {:>5} {:>12} {:>12} {:>10} {:>10}",
        "category", "cases", "ours ok", "spandsp ok", "our hits", "sp hits"
    );
    for (category, [cases, ours, theirs, our_hits, their_hits]) in &categories {
        println!(
            "{category:<12} {cases:>5} {ours:>12} {theirs:>12} {our_hits:>10} {their_hits:>10}"
        );
    }

    // Talk-off: every talkoff_*.s16 next to the vectors dir; spandsp found 0 in all of them.
    let parent = vectors.parent().unwrap_or(Path::new("."));
    let mut talkoff: Vec<PathBuf> = std::fs::read_dir(parent)
        .map_err(|error| format!("{}: {error}", parent.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("talkoff_") && name.ends_with(".s16"))
        })
        .collect();
    talkoff.sort();
    for path in &talkoff {
        let mut samples = read_s16(path)?;
        ulaw_round_trip(&mut samples);
        let got = detect(&samples);
        let seconds = samples.len() as f64 / 8000.0;
        println!(
            "talkoff {:<40} {seconds:7.1} s  false digits {} {got:?}",
            path.display(),
            got.len()
        );
        if !got.is_empty() {
            worse.push(format!(
                "talk-off {}: {got:?} (spandsp: none)",
                path.display()
            ));
        }
    }

    println!("\ncases where we are worse than spandsp: {}", worse.len());
    for line in &worse {
        println!("  {line}");
    }
    println!("cases where we are better: {}", better.len());
    for line in &better {
        println!("  {line}");
    }

    // CPU: same signal family as the C bench (-20 dBm0 digits, 50/50 ms, ~20 dB SNR).
    let bench = read_s16(&vectors.join("snr_dB_+21.00.s16"))?;
    let spandsp_binary = parent.join("dtmf-spandsp-bench");
    let mut ours_best = f64::INFINITY;
    let mut theirs_best = f64::INFINITY;
    for _ in 0..3 {
        ours_best = ours_best.min(our_ns_per_frame(&bench, frames));
        if let Some(ns) = spandsp_ns_per_frame(&spandsp_binary, frames) {
            theirs_best = theirs_best.min(ns);
        }
    }
    println!("\nCPU per 20 ms frame (best of 3, {frames} frames): ours {ours_best:.0} ns");
    if theirs_best.is_finite() {
        println!(
            "spandsp {theirs_best:.0} ns  ratio ours/spandsp = {:.2}",
            ours_best / theirs_best
        );
    } else {
        println!("spandsp: {} not found or failed", spandsp_binary.display());
    }
    Ok(())
}
