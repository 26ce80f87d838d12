//! `zkinf`: the command line over `zkinf_prover`'s pipeline. This crate
//! parses arguments, calls the library and prints (`output.rs`); what the
//! commands do lives in the library.

mod output;

use clap::{Parser, Subcommand};
use output::{print_compile, print_report, Stderr};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use zkinf_compiler::{CompileOptions, DEFAULT_MAX_LOG_ROWS, MAX_LOG_ROWS};
use zkinf_prover::{budget, hybrid, serve, Folder, Progress, ProveError, SrsSource};
use zkinf_verifier::{Failure, Pins, Report};

#[derive(Parser)]
#[command(
    name = "zkinf",
    version,
    about = "Zero-knowledge verifiable inference for quantized ONNX models"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// What a verdict must be checked against (published by the model owner).
#[derive(clap::Args)]
struct PinArgs {
    /// The model hash the proofs must be of (SHA-256 of the plan, published by the model owner).
    #[arg(long, value_name = "HASH")]
    model: Option<String>,
    /// The keys digest the proofs must be under (SHA-256 of the SRS verifier part and the verifying keys).
    #[arg(long, value_name = "DIGEST")]
    keys: Option<String>,
    /// An audit's commitment record hash, as the verifier kept it before giving its randomness.
    #[arg(long, value_name = "SHA256")]
    record_hash: Option<String>,
    /// An audit's randomness, as the verifier gave it (`zkinf sample --seed`).
    #[arg(long, value_name = "S")]
    randomness: Option<String>,
    /// The smallest sample the verifier accepts in an audit.
    #[arg(long, value_name = "M")]
    min_sample: Option<u32>,
    /// Exit non-zero unless the verdict is pinned (model hash pinned, keys pinned or rebuilt; an audit's record hash and randomness pinned).
    #[arg(long)]
    require_pinned: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

impl PinArgs {
    fn pins(&self) -> Pins {
        Pins {
            model_hash: self.model.clone(),
            keys_digest: self.keys.clone(),
            record_hash: self.record_hash.clone(),
            randomness: self.randomness.clone(),
            min_sample: self.min_sample,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Lower an ONNX model to an integer plan cut into shards (written atomically to --out).
    Compile {
        /// The ONNX model.
        model: PathBuf,
        /// Output folder for the compiled artifacts.
        #[arg(long)]
        out: PathBuf,
        /// Calibration data for float models: {"input": [sample, ...]}.
        #[arg(long)]
        calibration: Option<PathBuf>,
        /// Fix an input's shape, e.g. --input-shape x=1,64 (repeatable).
        #[arg(long = "input-shape", value_name = "NAME=D1,D2,...")]
        input_shape: Vec<String>,
        /// Activation bits when quantizing a float model (2 to 16).
        #[arg(long, default_value_t = 8)]
        bits: u32,
        /// Weight bits when quantizing a float model (2 to 16; symmetric, per output channel).
        #[arg(long = "weight-bits", default_value_t = 8)]
        weight_bits: u32,
        /// Largest shard: at most 2^K rows (K = 18 takes about 4 GB to prove).
        #[arg(long = "max-log-rows", value_name = "K", default_value_t = DEFAULT_MAX_LOG_ROWS,
              value_parser = clap::value_parser!(u32).range(9..=MAX_LOG_ROWS as i64))]
        max_log_rows: u32,
        /// Cut into at least N shards, to prove them on N machines.
        #[arg(long, value_name = "N", default_value_t = 1,
              value_parser = clap::value_parser!(u32).range(1..=4096))]
        shards: u32,
        /// Refuse models of more than N constraint rows in all (the proving budget).
        #[arg(long, value_name = "N", default_value_t = 1 << 30)]
        max_rows: u64,
        /// Do not print the per-layer table.
        #[arg(long)]
        quiet: bool,
        /// Refuse to guess ranges: a float model needs --calibration.
        #[arg(long)]
        strict: bool,
    },
    /// Run a compiled plan on an input with the exact integer executor.
    Infer {
        /// A folder written by `zkinf compile`.
        dir: PathBuf,
        /// {"input name": nested array of the input's shape}.
        #[arg(long)]
        input: PathBuf,
        /// Where to write {"output name": nested array} (floats); the values clamped outside their calibrated ranges go to OUT.saturation.json beside it.
        #[arg(long)]
        output: PathBuf,
        /// Refuse an input any value of which falls outside its calibrated range (and would be clamped).
        #[arg(long)]
        strict: bool,
    },
    /// Generate (or reuse cached) proving and verifying keys for every shard.
    Setup {
        /// A folder written by `zkinf compile`.
        dir: PathBuf,
        /// A KZG SRS file (halo2 raw format); larger ones are downsized.
        #[arg(long, conflicts_with = "dev_srs")]
        srs: Option<PathBuf>,
        /// Generate a development SRS locally (NOT for production), cached in $ZKINF_CACHE or ~/.cache/zkinf.
        #[arg(long)]
        dev_srs: bool,
        /// Refuse shards whose estimated memory exceeds SIZE (e.g. 8G; default $ZKINF_MEMORY_BUDGET or 90% of RAM).
        #[arg(long, value_name = "SIZE")]
        memory_budget: Option<String>,
        /// Write the verifying keys (and the keys digest) only: `prove` makes a shard's proving key when it first proves it, and keeps it (models whose proving keys do not fit on disk; the hybrid mode).
        #[arg(long)]
        verifying_keys_only: bool,
    },
    /// Prove an inference (every shard, only --shard N, or the shards of a sample against a commitment record) into DIR/proofs.
    Prove {
        dir: PathBuf,
        #[arg(long)]
        input: PathBuf,
        #[arg(long, conflicts_with = "record")]
        shard: Option<u32>,
        /// Hybrid mode: the commitment record (`zkinf commit`) the proofs must start and end at.
        #[arg(long, requires = "shards_of")]
        record: Option<PathBuf>,
        /// Hybrid mode: prove the shards of this sample file (`zkinf sample`) only.
        #[arg(long, requires = "record", value_name = "SAMPLE")]
        shards_of: Option<PathBuf>,
        /// Refuse shards whose estimated memory exceeds SIZE (e.g. 8G; default $ZKINF_MEMORY_BUDGET or 90% of RAM).
        #[arg(long, value_name = "SIZE")]
        memory_budget: Option<String>,
        /// Refuse an input any value of which falls outside its calibrated range (and would be clamped).
        #[arg(long)]
        strict: bool,
    },
    /// Verify the proofs in DIR/proofs: every shard, the links, and the claimed input and output (or, with --record and --sample, the audit of the sampled shards).
    Verify {
        dir: PathBuf,
        /// Hybrid mode: the commitment record the verifier kept.
        #[arg(long, requires = "sample")]
        record: Option<PathBuf>,
        /// Hybrid mode: the sample the verifier drew (`zkinf sample`).
        #[arg(long, requires = "record")]
        sample: Option<PathBuf>,
        /// Check that the proofs are of this input.
        #[arg(long)]
        input: Option<PathBuf>,
        /// Check that the proofs are of this output (floats, as `zkinf infer` writes).
        #[arg(long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        pins: PinArgs,
    },
    /// Write one self-contained bundle (plan, SRS verifier part, keys, proofs, claimed input and output) for the web page or any verifier.
    ExportWeb {
        /// A proven folder (after `zkinf prove`).
        dir: PathBuf,
        /// The bundle file to write.
        #[arg(long)]
        out: PathBuf,
        /// An audit bundle: the commitment record (`zkinf commit`) ...
        #[arg(long, requires = "sample")]
        record: Option<PathBuf>,
        /// ... and the sample drawn from it with the verifier's randomness (`zkinf sample`): the bundle holds the sampled shards' proofs.
        #[arg(long, requires = "record")]
        sample: Option<PathBuf>,
        /// Check that the proofs are of this input first.
        #[arg(long)]
        input: Option<PathBuf>,
    },
    /// Verify a bundle natively: every shard, the links, the claimed input and output.
    VerifyBundle {
        bundle: PathBuf,
        #[command(flatten)]
        pins: PinArgs,
        /// Rebuild every verifying key from the bundle's model and --srs, and check they are the bundle's.
        #[arg(long, requires = "srs")]
        recompute_keys: bool,
        /// The SRS to rebuild the keys with (a ceremony file, halo2 raw format).
        #[arg(long, requires = "recompute_keys")]
        srs: Option<PathBuf>,
        /// With --recompute-keys: refuse shards whose key generation would exceed SIZE (default $ZKINF_MEMORY_BUDGET or 90% of RAM).
        #[arg(long, value_name = "SIZE")]
        memory_budget: Option<String>,
    },
    /// Hybrid mode: run the model and commit to every shard boundary (no proof); writes the commitment record.
    Commit {
        dir: PathBuf,
        #[arg(long)]
        input: PathBuf,
        /// The record file (default DIR/commitment.rec).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Name a public randomness beacon in the record (drand `quicknet`): the sample is then drawn from that round's signature, with no randomness from the verifier.
        #[arg(long, value_name = "CHAIN")]
        beacon: Option<String>,
        /// The beacon round (default: the first one emitted --beacon-delay seconds from now; publish the record hash before it).
        #[arg(long, requires = "beacon")]
        beacon_round: Option<u64>,
        /// Seconds from now to the default beacon round (time to publish the record hash).
        #[arg(long, requires = "beacon", default_value_t = 60)]
        beacon_delay: u64,
        /// Refuse an input any value of which falls outside its calibrated range (and would be clamped); refuse a beacon round already emitted.
        #[arg(long)]
        strict: bool,
    },
    /// Hybrid mode (verifier): draw the shards to prove from a record and your randomness, given after you kept the record's hash.
    Sample {
        record: PathBuf,
        /// Your randomness (a fresh random string, or the block hash after the claim was posted).
        #[arg(
            long,
            required_unless_present = "beacon_signature",
            conflicts_with = "beacon_signature"
        )]
        seed: Option<String>,
        /// For a record that names a beacon round: that round's signature (hex, from the beacon's relays).
        #[arg(long, value_name = "HEX")]
        beacon_signature: Option<String>,
        /// How many shards to sample.
        #[arg(long, value_name = "M")]
        size: u32,
        /// The sample file (default: RECORD.sample.json).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Hybrid mode (verifier): challenge an unproven shard of a record.
    Challenge {
        record: PathBuf,
        #[arg(long)]
        shard: u32,
        /// The challenge file (default: RECORD.challenge-J.json).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Hybrid mode (prover): answer a challenge with the shard's proof against the record.
    Respond {
        dir: PathBuf,
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        record: PathBuf,
        #[arg(long)]
        challenge: PathBuf,
        /// The response (a proof file; default DIR/proofs/response-J.proof).
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, value_name = "SIZE")]
        memory_budget: Option<String>,
        #[arg(long)]
        strict: bool,
    },
    /// Hybrid mode (verifier): check a response against the record and the challenge.
    VerifyResponse {
        dir: PathBuf,
        #[arg(long)]
        record: PathBuf,
        #[arg(long)]
        challenge: PathBuf,
        #[arg(long)]
        response: PathBuf,
    },
    /// Serve the web verifier and a bundle on 127.0.0.1 (Ctrl-C to stop).
    ServeWeb {
        bundle: PathBuf,
        /// Port on 127.0.0.1 (0: any free port).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// The built page (default: $ZKINF_WEB_DIR, ./web, or the web/ of the checkout zkinf was built from).
        #[arg(long)]
        web: Option<PathBuf>,
    },
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Prove(#[from] ProveError),
    #[error("--input-shape '{0}': expected NAME=D1,D2,... with positive integers")]
    ShapeArg(String),
    #[error("give --srs FILE (a KZG ceremony file) or --dev-srs")]
    NoSrs,
    #[error("not verified: {0}")]
    NotVerified(Failure),
    #[error("the verdict is not pinned ({0}); --require-pinned")]
    NotPinned(String),
    #[error("{0}")]
    Beacon(#[from] zkinf_verifier::BeaconError),
    #[error("beacon round {round} of {chain} was emitted at {at}, before now: a sample drawn from it binds nothing (--strict)")]
    BeaconPast {
        chain: &'static str,
        round: u64,
        at: String,
    },
    #[error("this record names no beacon round: give your own randomness with --seed")]
    NoBeacon,
}

/// The beacon round a record names: `round`, or the first one emitted
/// `delay` seconds from now. A round already emitted is refused under
/// `strict`, else warned about.
fn beacon_round_for(
    name: &str,
    round: Option<u64>,
    delay: u64,
    strict: bool,
) -> Result<zkinf_verifier::BeaconRound, CliError> {
    let chain = zkinf_verifier::BeaconChain::by_name(name)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let round = match round {
        Some(0) => return Err(zkinf_verifier::BeaconError::RoundZero.into()),
        Some(r) => r,
        None => chain.first_round_at_or_after(now.saturating_add(delay)),
    };
    let at = chain.round_time(round);
    if at <= now {
        let past = CliError::BeaconPast {
            chain: chain.name,
            round,
            at: zkinf_verifier::utc(at),
        };
        if strict {
            return Err(past);
        }
        eprintln!("[zkinf] WARNING: {past}");
    }
    Ok(zkinf_verifier::BeaconRound {
        chain: chain.chain_hash,
        round,
    })
}

fn parse_shapes(args: &[String]) -> Result<BTreeMap<String, Vec<usize>>, CliError> {
    let mut out = BTreeMap::new();
    for a in args {
        let (name, dims) = a
            .split_once('=')
            .ok_or_else(|| CliError::ShapeArg(a.clone()))?;
        let dims = dims
            .split(',')
            .map(|d| d.trim().parse::<usize>().ok().filter(|&v| v > 0))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| CliError::ShapeArg(a.clone()))?;
        if name.is_empty() || dims.is_empty() {
            return Err(CliError::ShapeArg(a.clone()));
        }
        out.insert(name.to_string(), dims);
    }
    Ok(out)
}

/// Prints a report; its error, or (with `--require-pinned`) an unpinned
/// verdict, is the command's failure.
fn conclude(report: Report, args: &PinArgs) -> Result<(), CliError> {
    print_report(&report, args.json);
    if let Some(e) = report.error {
        return Err(CliError::NotVerified(e));
    }
    if args.require_pinned && !report.trusted() {
        let audit = report
            .audit
            .as_ref()
            .map(|a| {
                let p = |b: bool| if b { "pinned" } else { "unpinned" };
                format!(
                    ", record hash {}, randomness {}",
                    p(a.record_pinned),
                    p(a.randomness_pinned)
                )
            })
            .unwrap_or_default();
        return Err(CliError::NotPinned(format!(
            "model hash {}, keys {}{audit}",
            report.trust.model, report.trust.keys
        )));
    }
    Ok(())
}

fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Compile {
            model,
            out,
            calibration,
            input_shape,
            bits,
            weight_bits,
            max_log_rows,
            shards,
            max_rows,
            quiet,
            strict,
        } => {
            let opts = CompileOptions {
                input_shapes: parse_shapes(&input_shape)?,
                calibration,
                samples: None,
                bits,
                weight_bits,
                strict,
                max_log_rows,
                shards,
            };
            let started = std::time::Instant::now();
            let compiled = zkinf_prover::compile_to_folder(&model, &opts, max_rows, &out)?;
            print_compile(&compiled, &out, quiet, started.elapsed().as_secs_f64());
            Ok(())
        }
        Command::Infer {
            dir,
            input,
            output,
            strict,
        } => {
            let folder = Folder::new(dir);
            let plan = folder.load_plan()?;
            let summary = zkinf_prover::infer(&folder, &plan, &input, &output, strict)?;
            output::warn_clamped(&summary.clamped);
            println!(
                "wrote {} (clamped values: {})",
                output.display(),
                summary.saturation_file.display()
            );
            Ok(())
        }
        Command::Setup {
            dir,
            srs,
            dev_srs,
            memory_budget,
            verifying_keys_only,
        } => {
            let budget = budget::memory_budget(memory_budget.as_deref())?;
            let source = match (srs, dev_srs) {
                (Some(f), _) => SrsSource::File(f),
                (None, true) => {
                    eprintln!("[zkinf] WARNING: --dev-srs generates a development SRS locally; proofs made with it are NOT secure (its creator can forge proofs). Use --srs with a ceremony file in production.");
                    SrsSource::dev()
                }
                (None, false) => return Err(CliError::NoSrs),
            };
            let folder = Folder::new(dir);
            let summary = zkinf_prover::setup_with(
                &folder,
                source,
                budget,
                verifying_keys_only,
                &mut Stderr::default(),
            )?;
            output::print_setup(&summary, &folder);
            Ok(())
        }
        Command::Prove {
            dir,
            input,
            shard,
            record,
            shards_of,
            memory_budget,
            strict,
        } => {
            let budget = budget::memory_budget(memory_budget.as_deref())?;
            let folder = Folder::new(dir);
            let mut progress = Stderr::default();
            let summary = match (record, shards_of) {
                (Some(r), Some(s)) => {
                    hybrid::prove_sample(&folder, &input, &r, &s, budget, strict, &mut progress)?
                }
                _ => zkinf_prover::prove_folder_with(
                    &folder,
                    &input,
                    shard,
                    budget,
                    strict,
                    &mut progress,
                )?,
            };
            output::warn_clamped(&summary.clamped);
            output::print_prove(&summary);
            Ok(())
        }
        Command::Verify {
            dir,
            record,
            sample,
            input,
            output,
            pins,
        } => {
            let folder = Folder::new(dir);
            let report = match (record, sample) {
                (Some(r), Some(s)) => zkinf_prover::verify_folder_audit(
                    &folder,
                    &r,
                    &s,
                    input.as_deref(),
                    &pins.pins(),
                )?,
                _ => zkinf_prover::verify_folder(
                    &folder,
                    input.as_deref(),
                    output.as_deref(),
                    &pins.pins(),
                )?,
            };
            conclude(report, &pins)
        }
        Command::ExportWeb {
            dir,
            out,
            record,
            sample,
            input,
        } => {
            let mut progress = Stderr::default();
            progress.step("verifying the bundle before writing it");
            let audit = record.as_deref().zip(sample.as_deref());
            let export =
                zkinf_prover::export_bundle(&Folder::new(dir), &out, audit, input.as_deref())?;
            progress.done();
            output::print_export(&export, &out);
            Ok(())
        }
        Command::VerifyBundle {
            bundle,
            pins,
            recompute_keys: _,
            srs,
            memory_budget,
        } => {
            let params = srs.as_deref().map(load_srs).transpose()?;
            let budget = budget::memory_budget(memory_budget.as_deref())?;
            let rebuild = params.as_ref().map(|p| (p, budget));
            let report = zkinf_prover::verify_bundle_file(&bundle, &pins.pins(), rebuild)?;
            conclude(report, &pins)
        }
        Command::Commit {
            dir,
            input,
            out,
            beacon,
            beacon_round,
            beacon_delay,
            strict,
        } => {
            let folder = Folder::new(dir);
            let out = out.unwrap_or_else(|| hybrid::default_record(&folder));
            let beacon = match beacon {
                None => None,
                Some(name) => Some(beacon_round_for(&name, beacon_round, beacon_delay, strict)?),
            };
            let summary = hybrid::commit(
                &folder,
                &input,
                &out,
                beacon,
                strict,
                &mut Stderr::default(),
            )?;
            output::warn_clamped(&summary.clamped);
            output::print_commit(&summary, &out);
            Ok(())
        }
        Command::Sample {
            record,
            seed,
            beacon_signature,
            size,
            out,
        } => {
            let out = out.unwrap_or_else(|| suffixed(&record, ".sample.json"));
            let names_beacon = hybrid::read_record(&record)?.beacon.is_some();
            let randomness = match (seed, beacon_signature) {
                (_, Some(_)) if !names_beacon => return Err(CliError::NoBeacon),
                (_, Some(sig)) => sig.to_ascii_lowercase(),
                (Some(seed), None) => seed,
                (None, None) => unreachable!("clap requires --seed or --beacon-signature"),
            };
            let s = hybrid::draw(&record, &randomness, size, &out)?;
            output::print_sample(&s, &out, hybrid::read_record(&record)?.shards());
            Ok(())
        }
        Command::Challenge { record, shard, out } => {
            let out = out.unwrap_or_else(|| suffixed(&record, &format!(".challenge-{shard}.json")));
            let c = hybrid::challenge(&record, shard, &out)?;
            println!(
                "wrote {}: shard {} of record {} challenged; the prover answers with `zkinf respond`",
                out.display(),
                c.shard,
                c.record_sha256
            );
            Ok(())
        }
        Command::Respond {
            dir,
            input,
            record,
            challenge,
            out,
            memory_budget,
            strict,
        } => {
            let budget = budget::memory_budget(memory_budget.as_deref())?;
            let folder = Folder::new(dir);
            let r = hybrid::read_record(&record)?;
            let j = hybrid::read_challenge(&challenge, &r)?.shard;
            let out =
                out.unwrap_or_else(|| folder.proofs_dir().join(format!("response-{j}.proof")));
            let (summary, c) = hybrid::respond(
                &folder,
                &input,
                &record,
                &challenge,
                &out,
                budget,
                strict,
                &mut Stderr::default(),
            )?;
            output::warn_clamped(&summary.clamped);
            println!(
                "shard {}: proved against the record and self-verified -> {}",
                c.shard,
                out.display()
            );
            Ok(())
        }
        Command::VerifyResponse {
            dir,
            record,
            challenge,
            response,
        } => {
            let r = hybrid::verify_response(&Folder::new(dir), &record, &challenge, &response)?;
            println!(
                "response verified: shard {} (k = {}) proven against record {}'s boundaries {} and {} in {:.1} ms",
                r.shard,
                r.k,
                r.record_hash,
                r.shard,
                r.shard + 1,
                r.ms
            );
            Ok(())
        }
        Command::ServeWeb { bundle, port, web } => {
            let dir = serve::find_web_dir(web.as_deref())?;
            let site = serve::Site::load(&bundle, &dir)?;
            let listener = serve::listen(port)?;
            output::print_serving(&listener, &bundle);
            serve::serve(listener, site);
            Ok(())
        }
    }
}

/// `path` with `suffix` appended to its file name.
fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Reads an SRS file for rebuilding keys.
fn load_srs(path: &Path) -> Result<zkinf_prover::srs::Params, CliError> {
    let mut progress = Stderr::default();
    progress.step(&format!("reading the SRS {}", path.display()));
    let params = zkinf_prover::srs::read(path)?;
    progress.done();
    Ok(params)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let msg = e.to_string().replace('\n', " ");
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}
