//! The three figures: what each shows (prepared from the records) and how it is drawn.

use std::collections::BTreeMap;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{
    Entry, Figure, KINDS, Sample, color_of, draw_legend, milliseconds, one_decimal, share,
    split_for_legend, text,
};
use crate::report::{Distribution, OperationRecord};

/// Space around a chart, and for the labels of its axes (so the plotting area starts
/// `MARGIN + Y_LABELS` pixels in, where the legend is aligned).
const MARGIN: u32 = 20;
const X_LABELS: u32 = 60;
const Y_LABELS: u32 = 80;

/// The grid: light enough to read values by, never to compete with the data.
const GRID: RGBColor = RGBColor(220, 220, 220);

/// The successful operations of `kind`.
fn successes<'a>(
    records: &'a [OperationRecord],
    kind: &'a str,
) -> impl Iterator<Item = &'a OperationRecord> + 'a {
    records
        .iter()
        .filter(move |r| r.kind == kind && r.is_success)
}

/// A chart on `area` titled `title`, with room for axis labels.
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

/// Says in the middle of `area` that there is nothing to draw.
fn draw_nothing_to_show<B: DrawingBackend>(
    area: &DrawingArea<B, Shift>,
    what: &str,
) -> DrawResult<(), B> {
    let (width, height) = area.dim_in_pixel();
    let style = text(22).pos(Pos::new(HPos::Center, VPos::Center));
    area.draw(&Text::new(
        what,
        (width as i32 / 2, height as i32 / 2),
        style,
    ))
}

/// The empirical CDF of `values` as a step curve: `(value, share of values <= it)`, from
/// `(smallest, 0)` up to `(largest, 1)`.
pub(super) fn cdf_steps(mut values: Vec<f64>) -> Vec<(f64, f64)> {
    values.sort_by(f64::total_cmp);
    let count = values.len() as f64;
    let mut points = Vec::with_capacity(values.len() * 2);
    for (index, value) in values.into_iter().enumerate() {
        points.push((value, index as f64 / count));
        points.push((value, (index + 1) as f64 / count));
    }
    points
}

/// One kind's latencies of its successful operations, as a CDF.
struct LatencyCurve {
    kind: &'static str,
    label: String,
    points: Vec<(f64, f64)>,
}

/// `latency-cdf`: for each kind, the share of its successful operations done within x ms.
pub(super) struct LatencyCdf {
    title: String,
    curves: Vec<LatencyCurve>,
}

impl LatencyCdf {
    pub(super) fn new(title: &str, records: &[OperationRecord]) -> LatencyCdf {
        let curves = KINDS
            .iter()
            .filter_map(|(kind, _)| {
                let latencies: Vec<f64> = successes(records, kind).map(|r| r.latency_ms).collect();
                let figures = Distribution::of(latencies.iter().copied())?;
                Some(LatencyCurve {
                    kind,
                    label: format!(
                        "{kind}: {} ok, median {}, p90 {}",
                        figures.count,
                        milliseconds(figures.p50),
                        milliseconds(figures.p90)
                    ),
                    points: cdf_steps(latencies),
                })
            })
            .collect();
        LatencyCdf {
            title: format!("Latency of successful operations (CDF) \u{2014} {title}"),
            curves,
        }
    }

    /// The x range: every latency, with a margin on the log scale, and a decade at least.
    /// Latencies of 0 ms are drawn at the left edge.
    fn x_range(&self) -> (f64, f64) {
        let latencies = self
            .curves
            .iter()
            .flat_map(|c| c.points.iter().map(|p| p.0));
        let (low, high) = latencies.fold((f64::INFINITY, 0.0f64), |(low, high), x| {
            (if x > 0.0 { low.min(x) } else { low }, high.max(x))
        });
        if !low.is_finite() || high <= 0.0 {
            return (1.0, 1000.0);
        }
        (low / 1.25, (high * 1.25).max(low * 10.0))
    }
}

impl Figure for LatencyCdf {
    const STEM: &'static str = "latency-cdf";

    fn draw<B: DrawingBackend>(&self, root: &DrawingArea<B, Shift>) -> DrawResult<(), B> {
        root.fill(&WHITE)?;
        let style = |kind| ShapeStyle::from(color_of(kind)).stroke_width(3);
        let entries: Vec<Entry> = self
            .curves
            .iter()
            .map(|curve| Entry {
                label: curve.label.clone(),
                sample: Sample::Line(style(curve.kind)),
            })
            .collect();
        let (upper, lower) = split_for_legend(root, &entries);
        let (low, high) = self.x_range();
        // Above 1 so that curves reaching 1 stay clear of the frame.
        let mut chart = chart_builder(&upper, &self.title).build_cartesian_2d(
            (low..high)
                .log_scale()
                .with_key_points(log_ticks(low, high)),
            0.0..1.02,
        )?;
        chart
            .configure_mesh()
            .x_desc("virtual latency (log scale)")
            .y_desc("share of successful operations")
            .axis_desc_style(text(20))
            .label_style(text(16))
            .x_label_formatter(&|x| milliseconds(*x))
            .y_labels(11)
            .y_label_formatter(&|y| share(*y))
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .draw()?;
        if self.curves.is_empty() {
            draw_nothing_to_show(
                &chart.plotting_area().strip_coord_spec(),
                "no successful operations",
            )?;
        }
        for curve in &self.curves {
            let points = curve.points.iter().map(|&(x, y)| (x.max(low), y));
            chart.draw_series(LineSeries::new(points, style(curve.kind)))?;
        }
        draw_legend(&lower, &entries, (MARGIN + Y_LABELS) as i32)
    }
}

/// The ticks of a log axis from `low` to `high`: 1, 2 and 5 times each power of ten, which
/// label a decade without crowding it.
pub(super) fn log_ticks(low: f64, high: f64) -> Vec<f64> {
    if !(low > 0.0 && high >= low) {
        return Vec::new();
    }
    let first = low.log10().floor() as i32;
    let last = high.log10().ceil() as i32;
    (first..=last)
        .flat_map(|power| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(power)))
        .filter(|tick| (low..=high).contains(tick))
        .collect()
}

/// The share of `hops` equal to each value present, by value.
pub(super) fn hop_shares(hops: &[u32]) -> Vec<(u32, f64)> {
    let mut counts = BTreeMap::new();
    for &hop in hops {
        *counts.entry(hop).or_insert(0usize) += 1;
    }
    counts
        .into_iter()
        .map(|(hop, count)| (hop, count as f64 / hops.len() as f64))
        .collect()
}

/// One kind's hop-rounds: the share of its successful operations that took each count.
struct HopGroup {
    kind: &'static str,
    label: String,
    shares: Vec<(u32, f64)>,
}

/// `hops`: for each kind, how many hop-rounds its successful operations took, as bars side
/// by side (shares, so that kinds run different numbers of times compare).
pub(super) struct HopShares {
    title: String,
    groups: Vec<HopGroup>,
}

impl HopShares {
    pub(super) fn new(title: &str, records: &[OperationRecord]) -> HopShares {
        let groups = KINDS
            .iter()
            .filter_map(|(kind, _)| {
                let hops: Vec<u32> = successes(records, kind).map(|r| r.hops).collect();
                let figures = Distribution::of(hops.iter().map(|&h| f64::from(h)))?;
                Some(HopGroup {
                    kind,
                    label: format!("{kind}: {} ok, mean {:.2}", figures.count, figures.mean),
                    shares: hop_shares(&hops),
                })
            })
            .collect();
        HopShares {
            title: format!("Hop-rounds of successful operations \u{2014} {title}"),
            groups,
        }
    }
}

impl Figure for HopShares {
    const STEM: &'static str = "hops";

    fn draw<B: DrawingBackend>(&self, root: &DrawingArea<B, Shift>) -> DrawResult<(), B> {
        root.fill(&WHITE)?;
        let entries: Vec<Entry> = self
            .groups
            .iter()
            .map(|group| Entry {
                label: group.label.clone(),
                sample: Sample::Bar(color_of(group.kind)),
            })
            .collect();
        let (upper, lower) = split_for_legend(root, &entries);
        let bars = self.groups.iter().flat_map(|g| g.shares.iter());
        let (first, last, top) = bars.fold((u32::MAX, 0, 0.0f64), |(first, last, top), bar| {
            (first.min(bar.0), last.max(bar.0), top.max(bar.1))
        });
        let (first, last) = if first > last { (0, 1) } else { (first, last) };
        let top = (top * 1.08).clamp(0.1, 1.05);
        let mut chart = chart_builder(&upper, &self.title)
            .build_cartesian_2d(f64::from(first) - 0.5..f64::from(last) + 0.5, 0.0..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("hop-rounds")
            .y_desc("share of the kind's successful operations")
            .axis_desc_style(text(20))
            .label_style(text(16))
            .x_labels((last - first + 2) as usize)
            .x_label_formatter(&|x| {
                if (x - x.round()).abs() < 1e-9 {
                    format!("{x:.0}")
                } else {
                    String::new()
                }
            })
            .y_labels(11)
            .y_label_formatter(&|y| share(*y))
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .draw()?;
        if self.groups.is_empty() {
            draw_nothing_to_show(
                &chart.plotting_area().strip_coord_spec(),
                "no successful operations",
            )?;
        }
        // Each hop count gets a slot 0.8 wide, shared by the kinds in a fixed order.
        let slot = 0.8 / self.groups.len().max(1) as f64;
        for (index, group) in self.groups.iter().enumerate() {
            let color = color_of(group.kind);
            let offset = -0.4 + slot * index as f64;
            chart.draw_series(group.shares.iter().map(|&(hop, share)| {
                let left = f64::from(hop) + offset;
                Rectangle::new([(left, 0.0), (left + slot * 0.9, share)], color.filled())
            }))?;
        }
        draw_legend(&lower, &entries, (MARGIN + Y_LABELS) as i32)
    }
}

/// Equal bins of time over the operations' start times.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Bins {
    /// The first start, virtual ms.
    pub(super) start_ms: f64,
    /// The width of one bin, ms.
    pub(super) width_ms: f64,
    /// How many.
    pub(super) count: usize,
}

impl Bins {
    /// Equal bins from `first_ms` to `last_ms` for `operations` operations: about 25 a bin,
    /// between 10 and 60 bins (fewer when there are fewer operations), so that a kind run
    /// rarely gets wider bins than all operations together, and points less noisy.
    pub(super) fn new((first_ms, last_ms): (f64, f64), operations: usize) -> Bins {
        let count = (operations / 25).clamp(10, 60).min(operations).max(1);
        // A hair wider, so that the last start falls in the last bin, not past it.
        let width_ms = ((last_ms - first_ms) / count as f64).max(f64::EPSILON) * (1.0 + 1e-9);
        Bins {
            start_ms: first_ms,
            width_ms,
            count,
        }
    }

    /// The middle of bin `index`, virtual s.
    fn middle_s(&self, index: usize) -> f64 {
        (self.start_ms + self.width_ms * (index as f64 + 0.5)) / 1000.0
    }

    /// The time the bins span, virtual s.
    fn span_s(&self) -> (f64, f64) {
        (
            self.start_ms / 1000.0,
            (self.start_ms + self.width_ms * self.count as f64) / 1000.0,
        )
    }

    /// `(middle of the bin in virtual s, share successful)` of each bin in which one of
    /// `records` started.
    pub(super) fn success_rates<'a>(
        &self,
        records: impl IntoIterator<Item = &'a OperationRecord>,
    ) -> Vec<(f64, f64)> {
        let mut bins = vec![(0usize, 0usize); self.count];
        for record in records {
            let index = ((record.started_ms - self.start_ms) / self.width_ms).floor();
            let index = (index.max(0.0) as usize).min(self.count - 1);
            bins[index].0 += 1;
            bins[index].1 += usize::from(record.is_success);
        }
        bins.into_iter()
            .enumerate()
            .filter(|(_, (operations, _))| *operations > 0)
            .map(|(index, (operations, ok))| (self.middle_s(index), ok as f64 / operations as f64))
            .collect()
    }
}

/// The first and the last start of `records`, virtual ms; `None` without records.
pub(super) fn start_span(records: &[OperationRecord]) -> Option<(f64, f64)> {
    let first = records
        .iter()
        .map(|r| r.started_ms)
        .min_by(f64::total_cmp)?;
    let last = records
        .iter()
        .map(|r| r.started_ms)
        .max_by(f64::total_cmp)?;
    Some((first, last))
}

/// One line of `success-over-time`.
struct SuccessLine {
    label: String,
    style: ShapeStyle,
    points: Vec<(f64, f64)>,
}

/// `success-over-time`: the share of operations that succeeded, by when they started; all
/// kinds together and each kind. This is what shows a DHT under churn.
pub(super) struct SuccessOverTime {
    title: String,
    /// The time axis, virtual s.
    span_s: (f64, f64),
    /// All kinds first, then each kind.
    lines: Vec<SuccessLine>,
}

impl SuccessOverTime {
    pub(super) fn new(title: &str, records: &[OperationRecord]) -> SuccessOverTime {
        let title = format!("Success by start time \u{2014} {title}");
        let Some(span) = start_span(records) else {
            return SuccessOverTime {
                title,
                span_s: (0.0, 1.0),
                lines: Vec::new(),
            };
        };
        let bins = Bins::new(span, records.len());
        let ok = records.iter().filter(|r| r.is_success).count();
        let mut lines = vec![SuccessLine {
            label: format!("all: {ok} of {} ok", records.len()),
            style: ShapeStyle::from(BLACK).stroke_width(4),
            points: bins.success_rates(records),
        }];
        for (kind, color) in KINDS {
            let of_kind: Vec<&OperationRecord> =
                records.iter().filter(|r| r.kind == kind).collect();
            if of_kind.is_empty() {
                continue;
            }
            let ok = of_kind.iter().filter(|r| r.is_success).count();
            lines.push(SuccessLine {
                label: format!("{kind}: {ok} of {} ok", of_kind.len()),
                style: ShapeStyle::from(color).stroke_width(2),
                points: Bins::new(span, of_kind.len()).success_rates(of_kind),
            });
        }
        SuccessOverTime {
            title,
            span_s: bins.span_s(),
            lines,
        }
    }
}

impl Figure for SuccessOverTime {
    const STEM: &'static str = "success-over-time";

    fn draw<B: DrawingBackend>(&self, root: &DrawingArea<B, Shift>) -> DrawResult<(), B> {
        root.fill(&WHITE)?;
        let entries: Vec<Entry> = self
            .lines
            .iter()
            .map(|line| Entry {
                label: line.label.clone(),
                sample: Sample::Line(line.style),
            })
            .collect();
        let (upper, lower) = split_for_legend(root, &entries);
        // Past 0 and 1 so that lines at 0% and 100% stay clear of the axis and the frame.
        let mut chart = chart_builder(&upper, &self.title)
            .build_cartesian_2d(self.span_s.0..self.span_s.1, -0.02..1.04)?;
        chart
            .configure_mesh()
            .x_desc("start time (virtual s)")
            .y_desc("share of operations that succeeded")
            .axis_desc_style(text(20))
            .label_style(text(16))
            .x_label_formatter(&|x| one_decimal(*x))
            .y_labels(11)
            .y_label_formatter(&|y| share(*y))
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .draw()?;
        if self.lines.is_empty() {
            draw_nothing_to_show(&chart.plotting_area().strip_coord_spec(), "no operations")?;
        }
        // The thick line of all first: the kinds' thin lines on it never hide it.
        for line in &self.lines {
            chart.draw_series(LineSeries::new(line.points.iter().copied(), line.style))?;
        }
        draw_legend(&lower, &entries, (MARGIN + Y_LABELS) as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::super::render;
    use super::*;

    fn record(kind: &'static str, started_ms: f64, is_success: bool) -> OperationRecord {
        OperationRecord {
            kind,
            is_success,
            started_ms,
            latency_ms: 100.0,
            hops: 2,
            lookup_requests: 6,
            messages: 12,
            bytes: 1200,
            closest_fraction: None,
            stored_at_closest: None,
        }
    }

    /// The texts of an SVG's `<text>` elements, trimmed.
    fn texts(svg: &str) -> Vec<&str> {
        svg.split("<text")
            .skip(1)
            .filter_map(|element| {
                let start = element.find('>')? + 1;
                let end = element.find("</text>")?;
                Some(element[start..end].trim())
            })
            .collect()
    }

    #[test]
    fn a_cdf_steps_up_by_one_share_per_value_in_order() {
        let points = cdf_steps(vec![30.0, 10.0, 20.0, 20.0]);
        assert_eq!(
            points,
            [
                (10.0, 0.0),
                (10.0, 0.25),
                (20.0, 0.25),
                (20.0, 0.5),
                (20.0, 0.5),
                (20.0, 0.75),
                (30.0, 0.75),
                (30.0, 1.0),
            ]
        );
        assert!(cdf_steps(Vec::new()).is_empty());
    }

    #[test]
    fn the_latency_cdf_has_a_curve_per_kind_with_successes_only() {
        let mut records = vec![
            record("find_node", 0.0, true),
            record("find_node", 1.0, false),
            record("put", 2.0, false),
            record("get", 3.0, true),
        ];
        records[3].latency_ms = 1500.0;
        let figure = LatencyCdf::new("t", &records);
        let kinds: Vec<&str> = figure.curves.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, ["find_node", "get"]);
        assert_eq!(figure.curves[0].points, [(100.0, 0.0), (100.0, 1.0)]);
        assert_eq!(figure.curves[1].label, "get: 1 ok, median 1.5 s, p90 1.5 s");
        let (low, high) = figure.x_range();
        assert!(low < 100.0 && high > 1500.0, "{low}..{high}");
    }

    #[test]
    fn hop_shares_sum_to_one_by_hop_count() {
        assert_eq!(hop_shares(&[3, 1, 3, 3]), [(1, 0.25), (3, 0.75)]);
        assert!(hop_shares(&[]).is_empty());
    }

    #[test]
    fn bins_cover_every_start_and_give_the_share_that_succeeded() {
        // 100 operations, one every 10 ms from 1 s; the second half fails.
        let records: Vec<OperationRecord> = (0..100)
            .map(|i| record("find_node", 1000.0 + 10.0 * f64::from(i), i < 50))
            .collect();
        let span = start_span(&records).unwrap();
        assert_eq!(span, (1000.0, 1990.0));
        let bins = Bins::new(span, records.len());
        assert_eq!(bins.count, 10);
        let rates = bins.success_rates(&records);
        let shares: Vec<f64> = rates.iter().map(|r| r.1).collect();
        assert_eq!(shares, [1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        // Middles are in seconds and ascend through the span.
        assert!((rates[0].0 - 1.0495).abs() < 1e-3, "{rates:?}");
        assert!(rates[9].0 > 1.9 && rates[9].0 < 1.99, "{rates:?}");
        let (start, end) = bins.span_s();
        assert!(start == 1.0 && end > 1.99, "{start}..{end}");
    }

    #[test]
    fn bins_hold_about_25_operations_between_10_and_60_bins() {
        let span = (0.0, 10_000.0);
        assert_eq!(Bins::new(span, 10_000).count, 60);
        assert_eq!(Bins::new(span, 1000).count, 40);
        assert_eq!(Bins::new(span, 62).count, 10);
        assert_eq!(Bins::new(span, 3).count, 3);
        assert_eq!(Bins::new(span, 0).count, 1);
        assert!(start_span(&[]).is_none());
    }

    #[test]
    fn operations_started_at_one_instant_fill_one_bin() {
        let records = [record("get", 5.0, true), record("get", 5.0, false)];
        let bins = Bins::new(start_span(&records).unwrap(), records.len());
        assert_eq!(bins.success_rates(&records), [(bins.middle_s(0), 0.5)]);
    }

    #[test]
    fn bins_without_operations_give_no_point() {
        let records: Vec<OperationRecord> = [0.0, 1.0, 2.0, 97.0, 98.0, 99.0]
            .into_iter()
            .map(|at| record("get", at, at > 50.0))
            .collect();
        let bins = Bins::new(start_span(&records).unwrap(), records.len());
        assert_eq!(bins.count, 6);
        let rates = bins.success_rates(&records);
        assert_eq!(rates.len(), 2, "{rates:?}");
        assert_eq!((rates[0].1, rates[1].1), (0.0, 1.0));
    }

    #[test]
    fn a_rare_kind_gets_wider_bins_over_the_same_span() {
        let mut records: Vec<OperationRecord> = (0..1000)
            .map(|i| record("find_node", f64::from(i) * 10.0, true))
            .collect();
        for i in 0..50 {
            records[i * 20].kind = "get";
        }
        let figure = SuccessOverTime::new("t", &records);
        let points: Vec<usize> = figure.lines.iter().map(|l| l.points.len()).collect();
        // all, find_node, get
        assert_eq!(points, [40, 38, 10]);
        assert_eq!(figure.span_s.0, 0.0);
    }

    #[test]
    fn log_ticks_are_one_two_and_five_times_powers_of_ten_in_range() {
        assert_eq!(log_ticks(3.0, 250.0), [5.0, 10.0, 20.0, 50.0, 100.0, 200.0]);
        assert_eq!(log_ticks(0.4, 1.0), [0.5, 1.0]);
        assert!(log_ticks(0.0, 10.0).is_empty());
    }

    #[test]
    fn every_figure_is_written_as_svg_without_a_font() {
        // No test in this binary registers a font, so plotters has none to measure text with.
        let records: Vec<OperationRecord> = (0..40)
            .map(|i| record(KINDS[i % 5].0, i as f64 * 10.0, i % 7 != 0))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let mut written = render(dir.path(), &LatencyCdf::new("t", &records), false).unwrap();
        written.extend(render(dir.path(), &HopShares::new("t", &records), false).unwrap());
        written.extend(render(dir.path(), &SuccessOverTime::new("t", &records), false).unwrap());
        let names: Vec<String> = written
            .iter()
            .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            ["latency-cdf.svg", "hops.svg", "success-over-time.svg"]
        );
        for path in written {
            let svg = std::fs::read_to_string(&path).unwrap();
            assert!(svg.trim_end().ends_with("</svg>"), "{}", path.display());
            let texts = texts(&svg);
            let legend = texts.iter().find(|t| t.starts_with("find_node: "));
            assert!(legend.is_some(), "{}: {texts:?}", path.display());
        }
    }

    #[test]
    fn figures_of_no_operations_say_so() {
        let dir = tempfile::tempdir().unwrap();
        render(dir.path(), &LatencyCdf::new("t", &[]), false).unwrap();
        render(dir.path(), &HopShares::new("t", &[]), false).unwrap();
        render(dir.path(), &SuccessOverTime::new("t", &[]), false).unwrap();
        for (stem, note) in [
            ("latency-cdf", "no successful operations"),
            ("hops", "no successful operations"),
            ("success-over-time", "no operations"),
        ] {
            let svg = std::fs::read_to_string(dir.path().join(format!("{stem}.svg"))).unwrap();
            assert!(texts(&svg).contains(&note), "{stem}");
        }
    }
}
