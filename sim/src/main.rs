//! The `hyphae-sim` command: runs a scenario file and writes its JSON summary and plots.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand};
use hyphae_sim::gossip::{self, GossipScenario};
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
        /// Operations (for gossip scenarios, valid messages), instead of the file's.
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
    let text = std::fs::read_to_string(&scenario)
        .with_context(|| format!("reading {}", scenario.display()))?;
    if gossip::is_gossip_scenario(&text) {
        let mut settings: GossipScenario =
            toml::from_str(&text).with_context(|| format!("reading {}", scenario.display()))?;
        if let Some(nodes) = nodes {
            settings.nodes = nodes;
        }
        if let Some(seed) = seed {
            settings.seed = seed;
        }
        if let Some(count) = operations {
            settings.messages.count = count;
        }
        return run_gossip(&settings, &out);
    }
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
    let result = run(&settings, show_progress);
    eprintln!();
    write_summary(&out, &result.summary)?;
    report_plots(plot::write_all(&out, &result.summary, &result.records)?);
    Ok(())
}

/// Runs a gossip scenario and writes its summary and plots into `out`.
fn run_gossip(settings: &GossipScenario, out: &Path) -> anyhow::Result<()> {
    eprintln!(
        "{}: {} nodes, seed {}, {} messages of {} bytes",
        settings.name,
        settings.nodes,
        settings.seed,
        settings.messages.count,
        settings.messages.size
    );
    let result = gossip::run(settings, show_progress)?;
    eprintln!();
    write_summary(out, &result.summary)?;
    report_plots(plot::write_gossip(
        out,
        &result.summary,
        &result.latencies_ms,
    )?);
    Ok(())
}

/// Draws a progress bar on stderr.
fn show_progress(done: usize, total: usize) {
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
}

/// Writes `summary` as `out/summary.json` and prints it.
fn write_summary(out: &Path, summary: &impl serde::Serialize) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let path = out.join("summary.json");
    let json = serde_json::to_string_pretty(summary)?;
    std::fs::write(&path, &json).with_context(|| format!("writing {}", path.display()))?;
    println!("{json}");
    eprintln!("wrote {}", path.display());
    Ok(())
}

fn report_plots(plots: plot::Written) {
    if let Some(reason) = plots.png_skipped {
        eprintln!("PNG plots skipped: {reason}");
    }
    for file in &plots.files {
        eprintln!("wrote {}", file.display());
    }
}
