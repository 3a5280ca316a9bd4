//! The figures of a gossip run: when the honest nodes got each message (CDF), and, under
//! attack, how many honest mesh links still lead to attackers.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::figures::cdf_steps;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Entry, Figure, LEGEND_ROW, Sample, milliseconds, share, text};
use crate::gossip::GossipSummary;

const MARGIN: u32 = 20;
const X_LABELS: u32 = 60;
const Y_LABELS: u32 = 80;
const GRID: RGBColor = RGBColor(220, 220, 220);
const CURVE: RGBColor = RGBColor(31, 119, 180);
/// The 1 s target and the 4 s Ethereum anchor, drawn as upright lines.
const MARKS: RGBColor = RGBColor(214, 39, 40);

/// Splits `root` into the chart above and a legend of one entry a row below it: these
/// figures' labels are sentences, too long for the two columns of the other figures.
fn split_for_rows<B: DrawingBackend>(
    root: &DrawingArea<B, Shift>,
    entries: &[Entry],
) -> (DrawingArea<B, Shift>, DrawingArea<B, Shift>) {
    let height = root.dim_in_pixel().1;
    root.split_vertically(height.saturating_sub(entries.len() as u32 * LEGEND_ROW + 16))
}

/// Draws `entries` one a row, aligned with the plotting area (`left` pixels in).
fn draw_rows<B: DrawingBackend>(
    area: &DrawingArea<B, Shift>,
    entries: &[Entry],
    left: i32,
) -> DrawResult<(), B> {
    for (index, entry) in entries.iter().enumerate() {
        let y = index as i32 * LEGEND_ROW as i32 + LEGEND_ROW as i32 / 2;
        if let Sample::Line(style) = entry.sample {
            area.draw(&PathElement::new([(left, y), (left + 36, y)], style))?;
        }
        let style = text(17).pos(Pos::new(HPos::Left, VPos::Center));
        area.draw(&Text::new(entry.label.as_str(), (left + 46, y), style))?;
    }
    Ok(())
}

fn chart_builder<'a, 'b, B: DrawingBackend>(
    area: &'a DrawingArea<B, Shift>,
    title: &str,
) -> ChartBuilder<'a, 'b, B> {
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(title, text(26))
        .margin(MARGIN)
        .x_label_area_size(X_LABELS)
        .y_label_area_size(Y_LABELS);
    builder
}

/// `delivery-cdf`: the share of expected deliveries (every valid message at every honest
/// node but its publisher) made within x ms of publication. Deliveries never made keep the
/// curve below 1.
pub(super) struct DeliveryCdf {
    title: String,
    label: String,
    points: Vec<(f64, f64)>,
    high: f64,
}

impl DeliveryCdf {
    pub(super) fn new(title: &str, summary: &GossipSummary, latencies_ms: &[f64]) -> DeliveryCdf {
        let made = summary.delivery_ratio;
        // Scale the CDF of the deliveries made to the share of the expected ones.
        let points: Vec<(f64, f64)> = cdf_steps(latencies_ms.to_vec())
            .into_iter()
            .map(|(x, y)| (x, y * made))
            .collect();
        let high = latencies_ms.iter().fold(0.0f64, |high, x| high.max(*x));
        let label = match summary.latency_ms {
            Some(latency) => format!(
                "{:.2} % delivered; median {}, p90 {}, p99 {}, max {}",
                made * 100.0,
                milliseconds(latency.p50),
                milliseconds(latency.p90),
                milliseconds(latency.p99),
                milliseconds(latency.max)
            ),
            None => "nothing delivered".to_owned(),
        };
        DeliveryCdf {
            title: format!("Delivery latency of valid messages (CDF) \u{2014} {title}"),
            label,
            points,
            // At least past the 1 s mark.
            high: (high * 1.05).max(1100.0),
        }
    }
}

impl Figure for DeliveryCdf {
    const STEM: &'static str = "delivery-cdf";

    fn draw<B: DrawingBackend>(&self, root: &DrawingArea<B, Shift>) -> DrawResult<(), B> {
        root.fill(&WHITE)?;
        let style = ShapeStyle::from(CURVE).stroke_width(3);
        let marks = ShapeStyle::from(MARKS).stroke_width(1);
        let entries = [
            Entry {
                label: self.label.clone(),
                sample: Sample::Line(style),
            },
            Entry {
                label: "1 s (target p99) and 4 s (Ethereum: 98 %)".to_owned(),
                sample: Sample::Line(marks),
            },
        ];
        let (upper, lower) = split_for_rows(root, &entries);
        let mut chart =
            chart_builder(&upper, &self.title).build_cartesian_2d(0.0..self.high, 0.0..1.02)?;
        chart
            .configure_mesh()
            .x_desc("virtual time from publication")
            .y_desc("share of expected deliveries")
            .axis_desc_style(text(20))
            .label_style(text(16))
            .x_label_formatter(&|x| milliseconds(*x))
            .y_labels(11)
            .y_label_formatter(&|y| share(*y))
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .draw()?;
        for mark in [1000.0, 4000.0] {
            if mark < self.high {
                chart.draw_series(LineSeries::new([(mark, 0.0), (mark, 1.02)], marks))?;
            }
        }
        chart.draw_series(LineSeries::new(self.points.iter().copied(), style))?;
        draw_rows(&lower, &entries, (MARGIN + Y_LABELS) as i32)
    }
}

/// `attacker-links`: mesh links from honest nodes to attackers over virtual time.
pub(super) struct AttackerLinks {
    title: String,
    label: String,
    points: Vec<(f64, f64)>,
    attack_s: (f64, f64),
}

impl AttackerLinks {
    /// `None` without attackers.
    pub(super) fn new(title: &str, summary: &GossipSummary) -> Option<AttackerLinks> {
        let attack = summary.attack.as_ref()?;
        let label = match (attack.time_to_prune_ms, attack.heartbeats_to_prune) {
            (Some(times), Some(heartbeats)) => format!(
                "{} attackers; each out of every honest mesh within {} ({heartbeats} heartbeats) of its own first invalid message (median {})",
                summary.attackers,
                milliseconds(times.max),
                milliseconds(times.p50)
            ),
            _ => format!(
                "{} attackers; {} of {} that published still in honest meshes at the end",
                summary.attackers,
                attack.attackers_published - attack.attackers_pruned,
                attack.attackers_published
            ),
        };
        Some(AttackerLinks {
            title: format!("Honest mesh links to attackers \u{2014} {title}"),
            label,
            points: attack
                .mesh_links_over_time
                .iter()
                .map(|&(at, links)| (at, links as f64))
                .collect(),
            attack_s: (attack.attack_start_s, attack.attack_end_s),
        })
    }
}

impl Figure for AttackerLinks {
    const STEM: &'static str = "attacker-links";

    fn draw<B: DrawingBackend>(&self, root: &DrawingArea<B, Shift>) -> DrawResult<(), B> {
        root.fill(&WHITE)?;
        let style = ShapeStyle::from(CURVE).stroke_width(3);
        let marks = ShapeStyle::from(MARKS).stroke_width(1);
        let entries = [
            Entry {
                label: self.label.clone(),
                sample: Sample::Line(style),
            },
            Entry {
                label: "first and last invalid messages".to_owned(),
                sample: Sample::Line(marks),
            },
        ];
        let (upper, lower) = split_for_rows(root, &entries);
        let (first, last, top) = self.points.iter().fold(
            (f64::INFINITY, 0.0f64, 0.0f64),
            |(first, last, top), &(x, y)| (first.min(x), last.max(x), top.max(y)),
        );
        let first = if first.is_finite() { first } else { 0.0 };
        let last = last.max(first + 1.0);
        let top = (top * 1.08).max(1.0);
        let mut chart =
            chart_builder(&upper, &self.title).build_cartesian_2d(first..last, 0.0..top)?;
        chart
            .configure_mesh()
            .x_desc("virtual time (s)")
            .y_desc("mesh links from honest nodes to attackers")
            .axis_desc_style(text(20))
            .label_style(text(16))
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .draw()?;
        for at in [self.attack_s.0, self.attack_s.1] {
            chart.draw_series(LineSeries::new([(at, 0.0), (at, top)], marks))?;
        }
        chart.draw_series(LineSeries::new(self.points.iter().copied(), style))?;
        draw_rows(&lower, &entries, (MARGIN + Y_LABELS) as i32)
    }
}
