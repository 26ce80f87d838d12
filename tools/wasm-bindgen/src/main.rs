//! `zkinf-wasm-bindgen MODULE.wasm OUT_DIR`: what `wasm-bindgen --target web
//! --no-typescript --out-dir OUT_DIR MODULE.wasm` does, built from a pinned
//! lockfile so that every machine generates the same glue.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 2 {
        eprintln!("usage: zkinf-wasm-bindgen MODULE.wasm OUT_DIR");
        return ExitCode::from(2);
    }
    let mut b = wasm_bindgen_cli_support::Bindgen::new();
    let run = b.input_path(&args[0]).web(true).and_then(|b| {
        b.typescript(false)
            .omit_default_module_path(false)
            .generate(&args[1])
    });
    match run {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
