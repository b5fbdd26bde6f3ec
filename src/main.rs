use clap::Parser;

fn main() {
    let cli = netsettle::cli::Cli::parse();
    std::process::exit(netsettle::run(cli));
}
