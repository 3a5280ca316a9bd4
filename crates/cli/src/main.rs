//! The `hyphae` command.

mod id;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "hyphae", version, about = "A libp2p node and tools")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a peer id: of a key file (created if missing) or of a fresh key.
    Id(id::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Id(args) => id::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
