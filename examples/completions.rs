//! Print the shell completion script for the shell named in argv[1]
//! (bash, zsh or fish), generated from the same clap definition the binary
//! parses, so completions cannot fall behind the options.
//!
//!     cargo run --example completions -- bash > netsettle.bash
//!
//! `make install` runs this for all three shells.

use std::io;
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::{generate, Shell};
use netsettle::cli::Cli;

fn main() -> ExitCode {
    let arg = std::env::args().nth(1).unwrap_or_default();
    // Only the shells whose vendor completion directories `make install` fills.
    let shell = match arg.as_str() {
        "bash" => Shell::Bash,
        "zsh" => Shell::Zsh,
        "fish" => Shell::Fish,
        _ => {
            eprintln!("usage: completions bash|zsh|fish");
            return ExitCode::from(2);
        }
    };
    let mut cmd = Cli::command();
    generate(shell, &mut cmd, "netsettle", &mut io::stdout());
    ExitCode::SUCCESS
}
