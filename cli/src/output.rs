//! What the CLI prints: progress on stderr, results and verdicts on stdout
//! (a verdict's last line says what it was checked against).

use std::net::TcpListener;
use std::path::Path;
use std::time::Instant;
use zkinf_compiler::Compiled;
use zkinf_prover::{Export, Folder, Progress, ProveSummary, SetupSummary};
use zkinf_verifier::{Report, ShardStatus};

/// Prints `[zkinf] step ...` and `[zkinf]   done in S s` to stderr.
#[derive(Default)]
pub struct Stderr {
    started: Vec<Instant>,
}

impl Progress for Stderr {
    fn step(&mut self, what: &str) {
        eprintln!("[zkinf] {what} ...");
        self.started.push(Instant::now());
    }
    fn done(&mut self) {
        if let Some(t) = self.started.pop() {
            eprintln!("[zkinf]   done in {:.2} s", t.elapsed().as_secs_f64());
        }
    }
    fn note(&mut self, msg: &str) {
        eprintln!("[zkinf] {msg}");
    }
}

pub fn print_compile(compiled: &Compiled, out: &Path, quiet: bool, secs: f64) {
    let report = &compiled.report;
    if !quiet {
        print!("{}", report.table());
    }
    match (&report.shards.shards, &report.shards.error) {
        (Some(shards), _) => {
            for (i, s) in shards.iter().enumerate() {
                let names: Vec<&str> = report
                    .ops
                    .iter()
                    .filter(|o| o.shard == Some(i))
                    .map(|o| o.node.as_str())
                    .collect();
                let mut ops = names.join(", ");
                if ops.len() > 60 {
                    let mut cut = 57;
                    while !ops.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    ops.truncate(cut);
                    ops += "...";
                }
                println!(
                    "shard {i}: nodes {}..{}, {} rows, k = {} ({ops})",
                    s.start, s.end, s.rows, s.k
                );
            }
        }
        (None, Some(e)) => println!("note: this model cannot be proven yet: {e}"),
        (None, None) => {}
    }
    let rows = report
        .total_rows
        .map_or("no circuit yet".to_string(), |r| format!("{r} rows"));
    println!(
        "compiled {} in {secs:.2} s: {} ops, {rows}",
        report.source,
        report.ops.len(),
    );
    println!("model hash:  {}", report.model_hash);
    let q = &report.quantization;
    println!(
        "quantization: {} on {} sample(s) of {}: max |error| {:.6}, argmax agreement {:.1}%",
        q.mode,
        q.samples,
        q.data,
        q.max_abs_error,
        100.0 * q.argmax_agreement
    );
    for w in &q.warnings {
        eprintln!("WARNING: {w}");
    }
    println!("wrote {}", out.display());
}

pub fn print_setup(s: &SetupSummary, folder: &Folder) {
    let keys = folder.keys_dir();
    if s.cached {
        println!(
            "keys for {} shard(s) are cached in {}",
            s.shards,
            keys.display()
        );
        if s.upgraded {
            println!(
                "recorded the SRS verifier part in {}",
                folder.setup_path().display()
            );
        }
    } else {
        println!(
            "wrote keys for {} shard(s) to {} in {:.1} s (largest k = {})",
            s.shards,
            keys.display(),
            s.secs,
            s.max_k
        );
    }
    println!("model hash:  {}", s.record.model_hash);
    println!(
        "keys digest: {} (publish both: verifiers of bundles check them)",
        s.keys_digest()
    );
}

pub fn print_prove(s: &ProveSummary) {
    for (i, bytes) in &s.proved {
        println!("shard {i}: proved and self-verified ({bytes} bytes)");
    }
    println!(
        "proved {} of {} shard(s) in {:.1} s -> {}",
        s.proved.len(),
        s.shards,
        s.secs,
        s.proofs_dir.display()
    );
}

pub fn print_export(e: &Export, out: &Path) {
    let r = &e.report;
    println!(
        "wrote {} ({} bytes): {} bundle of {} shard(s)",
        out.display(),
        e.bytes,
        r.kind,
        r.shards.len()
    );
    println!("model hash:  {}", r.model_hash);
    println!("keys digest: {}", r.keys_digest);
    if let Some(a) = &r.audit {
        println!(
            "audit: shards {:?} proven of {}, drawn from record {} and randomness {:?}; one wrong shard is caught with probability {:.3}",
            a.sample, a.shards, a.record_hash, a.randomness, a.detection_one
        );
    }
}

pub fn print_commit(s: &zkinf_prover::hybrid::CommitSummary, out: &Path) {
    let n = s.record.shards();
    println!(
        "wrote {} in {:.1} s: the commitments at the {} boundaries of {n} shard(s); nothing proven yet",
        out.display(),
        s.secs,
        n + 1
    );
    println!("model hash:  {}", zkinf_verifier::hex(&s.record.model_hash));
    println!(
        "keys digest: {}",
        zkinf_verifier::hex(&s.record.keys_digest)
    );
    match s.record.beacon {
        None => println!(
            "record hash: {} (the verifier keeps it, then gives its randomness: `zkinf sample RECORD --seed S --size M`)",
            zkinf_verifier::hex(&s.hash)
        ),
        Some(b) => {
            let (name, at) = zkinf_verifier::BeaconChain::by_hash(&b.chain)
                .map_or(("an unknown chain", String::new()), |c| {
                    (c.name, zkinf_verifier::utc(c.round_time(b.round)))
                });
            println!("record hash: {}", zkinf_verifier::hex(&s.hash));
            println!(
                "beacon:      drand {name} round {} (emitted {at}): publish the record hash before then; the sample is drawn from that round's signature (`zkinf sample RECORD --beacon-signature HEX --size M`)",
                b.round
            );
        }
    }
}

pub fn print_sample(s: &zkinf_prover::hybrid::SampleFile, out: &Path, n: usize) {
    let (p90, p99) = (
        zkinf_verifier::sample_size_for(n, 1, 0.9),
        zkinf_verifier::sample_size_for(n, 1, 0.99),
    );
    println!(
        "wrote {}: prove shards {:?} ({} of {n}), drawn from record {} and randomness {:?}",
        out.display(),
        s.shards,
        s.sample_size,
        s.record_sha256,
        s.randomness
    );
    println!(
        "a run with one wrong shard is caught with probability {:.3}; {p90} sampled shards catch it with 0.9, {p99} with 0.99; the others stay open to challenge",
        s.detection_one
    );
}

/// A verification report: one line per shard, the claim, then the verdict.
pub fn print_report(r: &Report, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(r).unwrap_or_default());
        return;
    }
    println!("model hash:  {}", r.model_hash);
    println!("keys digest: {}", r.keys_digest);
    for s in &r.shards {
        let k = s.k.map_or("?".to_string(), |k| k.to_string());
        match (s.status, &s.error) {
            (ShardStatus::Verified, _) => {
                println!("shard {}: verified (k = {k}, {:.1} ms)", s.index, s.ms)
            }
            (ShardStatus::NotSampled, _) => {
                println!("shard {}: not sampled (open to challenge)", s.index)
            }
            (ShardStatus::Rejected, e) => println!(
                "shard {}: REJECTED: {}",
                s.index,
                e.as_ref().map(|e| e.to_string()).unwrap_or_default()
            ),
        }
    }
    // a transformer's hidden states are thousands of values: the first 64
    let n = r.output.values.len();
    let mut shown: Vec<String> = r
        .output
        .values
        .iter()
        .take(64)
        .map(|v| format!("{v:.3}"))
        .collect();
    if n > 64 {
        shown.push(format!("... ({n} values)"));
    }
    println!(
        "claimed output {}: [{}]{}",
        r.output.name,
        shown.join(", "),
        r.output
            .argmax
            .map(|a| format!(" (argmax {a})"))
            .unwrap_or_default()
    );
    if let Some(a) = &r.audit {
        println!(
            "audit: shards {:?} of {} proven, drawn from record {} and randomness {:?}; one wrong shard is caught with probability {:.3} ({} sampled shards catch it with 0.9, {} with 0.99)",
            a.sample, a.shards, a.record_hash, a.randomness, a.detection_one, a.for_90, a.for_99
        );
    }
    println!("{}", r.verdict);
}

pub fn print_serving(listener: &TcpListener, bundle: &Path) {
    use std::io::Write;
    match listener.local_addr() {
        Ok(addr) => println!(
            "serving the web verifier and {} at http://{addr}/?bundle=bundle.zkinf (Ctrl-C to stop)",
            bundle.display()
        ),
        Err(e) => println!("serving (address unknown: {e})"),
    }
    let _ = std::io::stdout().flush();
}

/// One warning line per tensor whose values were clamped outside their
/// calibrated range (stderr).
pub fn warn_clamped(clamped: &[zkinf_prover::Clamped]) {
    for c in clamped {
        eprintln!(
            "warning: {} value(s) of '{}' fell outside its calibrated range and were clamped ({} below, {} above): the result differs from the float model's; recompile with calibration data covering such inputs, or use --strict to refuse",
            c.count(),
            c.tensor,
            c.below,
            c.above
        );
    }
}
