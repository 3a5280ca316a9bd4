//! The plots of a run: each figure is an SVG that draws every kind's series in its colour and
//! names it in a legend, and a PNG of the figure's size with those colours in it.
//!
//! The PNGs need DejaVu Sans (`fonts-dejavu-core`, which CI installs); without it these tests
//! fail and say so rather than skip the PNGs silently.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use hyphae_sim::plot::{FONT_PATHS, PlotError, write_all};
use hyphae_sim::report::OperationRecord;
use hyphae_sim::scenario::{Run, Scenario, run};

/// Every kind with the colour its series is drawn in (as SVG writes it).
const KINDS: [(&str, &str); 5] = [
    ("find_node", "#1F77B4"),
    ("get_providers", "#FF7F0E"),
    ("provide", "#2CA02C"),
    ("get", "#D62728"),
    ("put", "#9467BD"),
];

const STEMS: [&str; 3] = ["latency-cdf", "hops", "success-over-time"];

/// One small run shared by the tests (runs are deterministic, so which test runs it first
/// does not matter).
fn small_run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let scenario: Scenario = toml::from_str(
            r#"
        name = "plots-test"
        nodes = 150
        seed = 5
        [bootstrap]
        self_lookup = true
        window_ms = 3000
        [operations]
        count = 120
        interval_ms = 50
        find_node = 2
        get_providers = 1
        provide = 1
        get = 1
        put = 1
        [network]
        loss = 0.02
        unreachable_share = 0.2
        "#,
        )
        .unwrap();
        run(&scenario, |_, _| {})
    })
}

/// The elements named `tag` (`<tag ...>` or `<tag .../>`), each as its text up to `>`.
fn elements<'a>(svg: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag} ");
    svg.match_indices(&open)
        .filter_map(|(start, _)| {
            let end = svg[start..].find('>')?;
            Some(&svg[start..=start + end])
        })
        .collect()
}

/// The texts of the `<text>` elements, trimmed and with XML's entities replaced.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|element| {
            let start = element.find('>')? + 1;
            let end = element.find("</text>")?;
            let text = element[start..end].trim();
            Some(
                text.replace("&apos;", "'")
                    .replace("&quot;", "\"")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&"),
            )
        })
        .collect()
}

/// The value of `attribute` in `element`.
fn attribute<'a>(element: &'a str, attribute: &str) -> Option<&'a str> {
    let key = format!(" {attribute}=\"");
    let start = element.find(&key)? + key.len();
    let length = element[start..].find('"')?;
    Some(&element[start..start + length])
}

fn successes(records: &[OperationRecord], kind: &str) -> usize {
    records
        .iter()
        .filter(|r| r.kind == kind && r.is_success)
        .count()
}

/// Checks what every figure's SVG has: one root element, closed, the title with the scenario
/// and node count, axis labels, and the legend naming every kind.
fn read_svg(dir: &Path, stem: &str, axis_labels: &[&str]) -> String {
    let svg = std::fs::read_to_string(dir.join(format!("{stem}.svg"))).unwrap();
    assert!(
        svg.starts_with("<svg "),
        "{stem}: {}",
        &svg[..80.min(svg.len())]
    );
    assert!(svg.trim_end().ends_with("</svg>"), "{stem}: not closed");
    assert_eq!(svg.matches("<svg").count(), 1, "{stem}");
    assert_eq!(
        svg.matches("<text").count(),
        svg.matches("</text>").count(),
        "{stem}: unbalanced text elements"
    );
    let texts = texts(&svg);
    assert!(
        texts[0].ends_with("plots-test, 150 nodes, seed 5"),
        "{stem}: the title is {:?}",
        texts[0]
    );
    for label in axis_labels {
        assert!(
            texts.iter().any(|t| t == label),
            "{stem}: no axis label {label:?}"
        );
    }
    for (kind, _) in KINDS {
        let prefix = format!("{kind}: ");
        let entries = texts.iter().filter(|t| t.starts_with(&prefix)).count();
        assert_eq!(entries, 1, "{stem}: legend entries for {kind}");
    }
    svg
}

#[test]
fn the_latency_cdf_draws_a_curve_per_kind_through_every_success() {
    let result = small_run();
    let dir = tempfile::tempdir().unwrap();
    write_all(dir.path(), &result.summary, &result.records).unwrap();
    let svg = read_svg(
        dir.path(),
        "latency-cdf",
        &[
            "virtual latency (log scale)",
            "share of successful operations",
        ],
    );
    let polylines = elements(&svg, "polyline");
    for (kind, color) in KINDS {
        let mut of_kind: Vec<usize> = polylines
            .iter()
            .filter(|p| attribute(p, "stroke") == Some(color))
            .map(|p| attribute(p, "points").unwrap().split_whitespace().count())
            .collect();
        of_kind.sort_unstable();
        // The curve (two points a success: the CDF steps) and its legend sample.
        assert_eq!(of_kind.len(), 2, "{kind}: {of_kind:?}");
        let ok = successes(&result.records, kind);
        assert!(ok > 0, "{kind} never succeeded");
        assert_eq!(of_kind, [2, 2 * ok], "{kind}");
    }
}

#[test]
fn the_hops_figure_draws_a_bar_per_kind_and_hop_count() {
    let result = small_run();
    let dir = tempfile::tempdir().unwrap();
    write_all(dir.path(), &result.summary, &result.records).unwrap();
    let svg = read_svg(
        dir.path(),
        "hops",
        &["hop-rounds", "share of the kind's successful operations"],
    );
    let rectangles = elements(&svg, "rect");
    for (kind, color) in KINDS {
        let mut hop_counts = BTreeMap::new();
        for record in result
            .records
            .iter()
            .filter(|r| r.kind == kind && r.is_success)
        {
            *hop_counts.entry(record.hops).or_insert(0) += 1;
        }
        let bars = rectangles
            .iter()
            .filter(|r| attribute(r, "fill") == Some(color))
            .count();
        // One bar per hop count seen, and the legend's sample.
        assert_eq!(bars, hop_counts.len() + 1, "{kind}: {hop_counts:?}");
    }
}

#[test]
fn success_over_time_draws_all_operations_and_each_kind() {
    let result = small_run();
    let dir = tempfile::tempdir().unwrap();
    write_all(dir.path(), &result.summary, &result.records).unwrap();
    let svg = read_svg(
        dir.path(),
        "success-over-time",
        &[
            "start time (virtual s)",
            "share of operations that succeeded",
        ],
    );
    let total = result.records.len();
    let ok = result.records.iter().filter(|r| r.is_success).count();
    let legend = format!("all: {ok} of {total} ok");
    assert!(texts(&svg).contains(&legend), "no legend entry {legend:?}");
    let polylines = elements(&svg, "polyline");
    let all: Vec<usize> = polylines
        .iter()
        .filter(|p| attribute(p, "stroke") == Some("#000000"))
        .map(|p| attribute(p, "points").unwrap().split_whitespace().count())
        .collect();
    // 120 operations: 10 bins, each holding some.
    assert!(all.contains(&10), "the line of all: {all:?}");
    for (kind, color) in KINDS {
        let lines = polylines
            .iter()
            .filter(|p| attribute(p, "stroke") == Some(color))
            .count();
        assert_eq!(lines, 2, "{kind}: its line and its legend sample");
    }
}

#[test]
fn pngs_are_written_at_1200_by_800_with_every_kind_drawn() {
    let result = small_run();
    let dir = tempfile::tempdir().unwrap();
    let written = write_all(dir.path(), &result.summary, &result.records).unwrap();
    if let Some(reason) = written.png_skipped {
        panic!(
            "no PNGs: {reason}. Install fonts-dejavu-core (`apt-get install fonts-dejavu-core`) \
             so that {} exists; CI installs it",
            FONT_PATHS[0]
        );
    }
    let names: Vec<String> = written
        .files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let expected: Vec<String> = STEMS
        .iter()
        .flat_map(|stem| [format!("{stem}.svg"), format!("{stem}.png")])
        .collect();
    assert_eq!(names, expected);
    for stem in STEMS {
        let bytes = std::fs::read(dir.path().join(format!("{stem}.png"))).unwrap();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{stem}: not a PNG");
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let frame = reader.next_frame(&mut pixels).unwrap();
        assert_eq!((frame.width, frame.height), (1200, 800), "{stem}");
        assert_eq!(frame.color_type, png::ColorType::Rgb, "{stem}");
        // The legend takes the bottom 100 rows; the chart is above it.
        let chart = &pixels[..1200 * 3 * 700];
        let drawn = |hex: &str| {
            let rgb = [1, 3, 5].map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap());
            chart.chunks_exact(3).filter(|p| **p == rgb).count()
        };
        if stem == "success-over-time" {
            // Lines at equal shares cover each other (here most are at 1), so only some of
            // the kinds' lines show (the SVG test counts them all).
            let kinds: usize = KINDS.iter().map(|(_, hex)| drawn(hex)).sum();
            assert!(kinds > 200, "{stem}: {kinds} pixels of the kinds' lines");
        } else {
            for (kind, hex) in KINDS {
                let pixels = drawn(hex);
                assert!(
                    pixels > 50,
                    "{stem}: {pixels} pixels of {kind} in the chart"
                );
            }
        }
        // Text is anti-aliased: many shades of grey, not only the lines' colours.
        let colors: std::collections::HashSet<&[u8]> = pixels.chunks_exact(3).collect();
        assert!(colors.len() > 50, "{stem}: {} colours", colors.len());
    }
}

#[test]
fn a_missing_directory_is_an_error_naming_the_file() {
    let result = small_run();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let error = write_all(&missing, &result.summary, &result.records).unwrap_err();
    assert!(matches!(error, PlotError::Write { .. }), "{error:?}");
    assert!(
        error.to_string().contains("missing/latency-cdf.svg"),
        "{error}"
    );
}
