//! The `hyphae-sim` command: runs a scenario file and writes its JSON summary and plots.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use hyphae_sim::plot;
use hyphae_sim::scenario::{Scenario, run};

#[derive(Parser)]
#[command(about = "A deterministic simulator of hyphae's protocol cores at scale")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a scenario and writes DIR/summary.json and its plots (SVG, and PNG given a font).
    Run {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// Nodes, instead of the file's.
        #[arg(long)]
        nodes: Option<usize>,
        /// Seed, instead of the file's.
        #[arg(long)]
        seed: Option<u64>,
        /// Operations, instead of the file's.
        #[arg(long)]
        operations: Option<usize>,
        /// Where to write the results.
        #[arg(long, default_value = "sim-out")]
        out: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    let Command::Run {
        scenario,
        nodes,
        seed,
        operations,
        out,
    } = Cli::parse().command;
    let mut settings = Scenario::from_file(&scenario)
        .with_context(|| format!("reading {}", scenario.display()))?;
    if let Some(nodes) = nodes {
        settings.nodes = nodes;
    }
    if let Some(seed) = seed {
        settings.seed = seed;
    }
    if let Some(count) = operations {
        settings.operations.count = count;
    }
    eprintln!(
        "{}: {} nodes, seed {}, {} operations",
        settings.name, settings.nodes, settings.seed, settings.operations.count
    );
    let result = run(&settings, |done, total| {
        let width = 40;
        let filled = (done * width)
            .checked_div(total)
            .unwrap_or(width)
            .min(width);
        eprint!(
            "\r[{}{}] {done}/{total}",
            "#".repeat(filled),
            " ".repeat(width - filled)
        );
        let _ = std::io::stderr().flush();
    });
    eprintln!();
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let path = out.join("summary.json");
    let json = serde_json::to_string_pretty(&result.summary)?;
    std::fs::write(&path, &json).with_context(|| format!("writing {}", path.display()))?;
    println!("{json}");
    eprintln!("wrote {}", path.display());
    let plots = plot::write_all(&out, &result.summary, &result.records)?;
    if let Some(reason) = plots.png_skipped {
        eprintln!("PNG plots skipped: {reason}");
    }
    for file in &plots.files {
        eprintln!("wrote {}", file.display());
    }
    Ok(())
}
