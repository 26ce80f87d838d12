//! `zkinf`: compile ONNX models to integer plans and run them.

mod artifacts;
mod proving;
mod web;

use clap::{Parser, Subcommand};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use zkinf_circuits::{dequantize_output, execute, quantize_input};
use zkinf_compiler::{compile_file, parse_inputs, CompileError, CompileOptions, InputError};

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

#[derive(Subcommand)]
enum Command {
    /// Lower an ONNX model to an integer plan (written atomically to --out).
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
        /// Activation bits when quantizing a float model.
        #[arg(long, default_value_t = 8)]
        bits: u32,
        /// Largest shard: at most 2^K rows (K = 18 takes about 4 GB to prove).
        #[arg(long = "max-log-rows", value_name = "K", default_value_t = 18,
              value_parser = clap::value_parser!(u32).range(9..=26))]
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
    },
    /// Run a compiled plan on an input with the exact integer executor.
    Infer {
        /// A folder written by `zkinf compile`.
        dir: PathBuf,
        /// {"input name": nested array of the input's shape}.
        #[arg(long)]
        input: PathBuf,
        /// Where to write {"output name": nested array} (floats).
        #[arg(long)]
        output: PathBuf,
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
    },
    /// Prove an inference (every shard, or only --shard N) into DIR/proofs.
    Prove {
        dir: PathBuf,
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        shard: Option<u32>,
        /// Refuse shards whose estimated memory exceeds SIZE (e.g. 8G; default $ZKINF_MEMORY_BUDGET or 90% of RAM).
        #[arg(long, value_name = "SIZE")]
        memory_budget: Option<String>,
    },
    /// Verify the proofs in DIR/proofs: every shard, the links, the input and the claimed output.
    Verify {
        dir: PathBuf,
        /// Check that the proofs are of this input.
        #[arg(long)]
        input: Option<PathBuf>,
        /// The claimed output (default: the one recorded when proving).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Write one self-contained bundle (plan, SRS verifier part, keys, proofs, claimed input and output) for the web page or any verifier.
    ExportWeb {
        /// A proven folder (after `zkinf prove`).
        dir: PathBuf,
        /// The bundle file to write.
        #[arg(long)]
        out: PathBuf,
        /// An audit bundle: keep the proofs of M shards sampled by a hash of every boundary commitment.
        #[arg(long, value_name = "M")]
        sample: Option<u32>,
        /// The input the proofs are of (default: the one recorded when proving).
        #[arg(long)]
        input: Option<PathBuf>,
    },
    /// Verify a bundle natively: every shard, the links, the claimed input and output.
    VerifyBundle {
        bundle: PathBuf,
        /// The model hash the bundle must carry (SHA-256 of the plan).
        #[arg(long, value_name = "HASH")]
        model: Option<String>,
        /// The keys digest the bundle must carry (SHA-256 of the SRS verifier part and the verifying keys).
        #[arg(long, value_name = "DIGEST")]
        keys: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Serve the web verifier and a bundle on 127.0.0.1 (Ctrl-C to stop).
    ServeWeb {
        bundle: PathBuf,
        /// Port on 127.0.0.1 (0: any free port).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// The built page (default: $ZKINF_WEB_DIR, ./web, or web/ above the executable).
        #[arg(long)]
        web: Option<PathBuf>,
    },
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Proving(#[from] proving::ProvingError),
    #[error(transparent)]
    Compile(#[from] CompileError),
    #[error(transparent)]
    Artifact(#[from] artifacts::ArtifactError),
    #[error("{path}: {source}")]
    Input { path: String, source: InputError },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("--input-shape '{0}': expected NAME=D1,D2,... with positive integers")]
    ShapeArg(String),
    #[error(transparent)]
    Exec(#[from] zkinf_circuits::ExecError),
    #[error("the model needs about {rows} constraint rows, over the budget of {max} (--max-rows); nothing written")]
    TooLarge { rows: u64, max: u64 },
    #[error("the bundle is not verified: {0}")]
    NotVerified(String),
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

fn nested(values: &[f64], shape: &[usize]) -> serde_json::Value {
    if shape.is_empty() {
        return serde_json::json!(values.first().copied().unwrap_or(0.0));
    }
    let step = shape[1..].iter().product::<usize>().max(1);
    serde_json::Value::Array(
        (0..shape[0])
            .map(|i| nested(&values[i * step..(i + 1) * step], &shape[1..]))
            .collect(),
    )
}

fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Compile {
            model,
            out,
            calibration,
            input_shape,
            bits,
            max_log_rows,
            shards,
            max_rows,
            quiet,
        } => {
            let opts = CompileOptions {
                input_shapes: parse_shapes(&input_shape)?,
                calibration,
                samples: None,
                bits,
            };
            let started = std::time::Instant::now();
            let compiled = compile_file(&model, &opts)?;
            let report = &compiled.report;
            if report.total_rows as u64 > max_rows {
                return Err(CliError::TooLarge {
                    rows: report.total_rows as u64,
                    max: max_rows,
                });
            }
            let partition = if shards > 1 {
                zkinf_circuits::shard::partition_into(&compiled.plan, max_log_rows, shards as usize)
            } else {
                zkinf_circuits::shard::partition(&compiled.plan, max_log_rows)
            };
            let shards_json = match &partition {
                Ok(p) => serde_json::json!({ "max_log_rows": max_log_rows, "shards": p }),
                Err(e) => {
                    serde_json::json!({ "max_log_rows": max_log_rows, "error": e.to_string() })
                }
            };
            let mut report_json = serde_json::to_value(report).expect("report serializes");
            report_json["shards"] = shards_json.clone();
            artifacts::write_dir_atomic(
                &out,
                &[
                    (artifacts::PLAN_FILE, compiled.plan.to_bytes()),
                    (
                        artifacts::REPORT_FILE,
                        serde_json::to_vec_pretty(&report_json).expect("json"),
                    ),
                    (
                        artifacts::SHARDS_FILE,
                        serde_json::to_vec_pretty(&shards_json).expect("json"),
                    ),
                ],
            )?;
            if !quiet {
                print!("{}", report.table());
            }
            match &partition {
                Ok(p) => {
                    for (i, s) in p.iter().enumerate() {
                        let names: Vec<&str> = compiled.plan.nodes[s.start..s.end]
                            .iter()
                            .filter(|n| {
                                !matches!(
                                    n.op,
                                    zkinf_circuits::Op::Const { .. }
                                        | zkinf_circuits::Op::Input { .. }
                                )
                            })
                            .map(|n| n.name.as_str())
                            .collect();
                        let mut ops = names.join(", ");
                        if ops.len() > 60 {
                            ops.truncate(57);
                            ops += "...";
                        }
                        println!(
                            "shard {i}: nodes {}..{}, {} rows, k = {} ({ops})",
                            s.start, s.end, s.rows, s.k
                        );
                    }
                }
                Err(e) => println!("note: this model cannot be proven yet: {e}"),
            }
            let q = &report.quantization;
            println!(
                "compiled {} in {:.2} s: {} ops, ~{} rows, model hash {}",
                report.source,
                started.elapsed().as_secs_f64(),
                report.ops.len(),
                report.total_rows,
                &report.model_hash[..16]
            );
            println!("quantization: {} on {} sample(s) of {}: max |error| {:.6}, argmax agreement {:.1}%", q.mode, q.samples, q.data, q.max_abs_error, 100.0 * q.argmax_agreement);
            println!("wrote {}", out.display());
            Ok(())
        }
        Command::Setup {
            dir,
            srs,
            dev_srs,
            memory_budget,
        } => {
            let budget = proving::memory_budget(memory_budget.as_deref())?;
            Ok(proving::setup(&dir, srs, dev_srs, budget)?)
        }
        Command::Prove {
            dir,
            input,
            shard,
            memory_budget,
        } => {
            let budget = proving::memory_budget(memory_budget.as_deref())?;
            Ok(proving::prove(&dir, &input, shard, budget)?)
        }
        Command::Verify { dir, input, output } => {
            Ok(proving::verify(&dir, input.as_deref(), output.as_deref())?)
        }
        Command::ExportWeb {
            dir,
            out,
            sample,
            input,
        } => Ok(web::export_web(&dir, &out, sample, input.as_deref())?),
        Command::VerifyBundle {
            bundle,
            model,
            keys,
            json,
        } => {
            let pins = zkinf_verifier::Pins {
                model_hash: model,
                keys_digest: keys,
            };
            let report = web::verify_bundle_file(&bundle, pins, json)?;
            match report.error {
                None => Ok(()),
                Some(e) => Err(CliError::NotVerified(e)),
            }
        }
        Command::ServeWeb { bundle, port, web } => {
            Ok(web::serve_web(&bundle, port, web.as_deref())?)
        }
        Command::Infer { dir, input, output } => {
            let plan = artifacts::load_plan(&dir)?;
            let text = std::fs::read_to_string(&input).map_err(|source| CliError::Read {
                path: input.display().to_string(),
                source,
            })?;
            let expected: Vec<(String, Vec<usize>)> = plan
                .inputs
                .iter()
                .map(|i| (i.name.clone(), i.shape.clone()))
                .collect();
            let values = parse_inputs(&text, &expected).map_err(|source| CliError::Input {
                path: input.display().to_string(),
                source,
            })?;
            let q = plan
                .inputs
                .iter()
                .map(|pi| quantize_input(pi, &values[&pi.name]))
                .collect::<Result<Vec<_>, _>>()?;
            let trace = execute(&plan, q)?;
            let mut obj = serde_json::Map::new();
            for out in &plan.outputs {
                let t = trace.get(out.tensor);
                let vals: Vec<f64> = dequantize_output(out, t).iter().copied().collect();
                obj.insert(out.name.clone(), nested(&vals, t.shape()));
            }
            let bytes =
                serde_json::to_vec(&serde_json::Value::Object(obj)).expect("json serializes");
            artifacts::write_file_atomic(&output, &bytes)?;
            println!("wrote {}", output.display());
            Ok(())
        }
    }
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
