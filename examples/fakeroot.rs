//! Build a fake root for `netsettle --root` from scenario files, with the
//! same builder the integration tests use (tests/common/builder.rs).
//!
//!     cargo run --example fakeroot -- DIR [SCENARIO_FILE...]
//!
//! DIR is created if missing; without files the scenario is read from
//! stdin. A bad line exits 2 with `file:line: what is wrong`. The line
//! format is documented at `FakeRoot::apply`; shared scenarios live in
//! tests/roots/. `bench/run` and `tests/packaging/run` build their roots
//! with this.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

#[path = "../tests/common/builder.rs"]
mod builder;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((dir, files)) = args.split_first() else {
        eprintln!("usage: fakeroot DIR [SCENARIO_FILE...]");
        return ExitCode::from(2);
    };
    let mut scenarios = Vec::new();
    if files.is_empty() {
        let mut text = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut text) {
            eprintln!("fakeroot: stdin: {e}");
            return ExitCode::from(2);
        }
        scenarios.push(("-".to_string(), text));
    }
    for f in files {
        match std::fs::read_to_string(f) {
            Ok(text) => scenarios.push((f.clone(), text)),
            Err(e) => {
                eprintln!("fakeroot: {f}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let root = builder::FakeRoot::at(Path::new(dir));
    for (name, text) in &scenarios {
        if let Err(e) = root.apply(name, text) {
            eprintln!("fakeroot: {e}");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
