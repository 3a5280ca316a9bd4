//! Plots of a run: latency CDFs, hop-rounds and success over time, one figure each.
//!
//! Every figure is written as SVG, and as PNG when a TrueType font is found at a system path
//! ([`FONT_PATHS`]). plotters draws PNG text with a font it is handed (`ab_glyph`) rather
//! than through the system's font libraries, which keeps the build free of C dependencies;
//! without a font the PNGs are skipped and [`Written::png_skipped`] says why.

mod figures;
mod gossip;
mod svg;

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::gossip::GossipSummary;
use crate::report::{OperationRecord, Summary};
use figures::{HopShares, LatencyCdf, SuccessOverTime};
use svg::TextMeasuringSvg;

/// Where the font for PNG text is looked for, in order (DejaVu Sans: Debian and Ubuntu's
/// `fonts-dejavu-core`, Fedora's `dejavu-sans-fonts`, Arch's `ttf-dejavu`).
pub const FONT_PATHS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

/// Pixels of every figure (SVG and PNG alike).
const SIZE: (u32, u32) = (1200, 800);

/// The kinds of operation in the order they are drawn, each with its colour in every figure.
const KINDS: [(&str, RGBColor); 5] = [
    ("find_node", RGBColor(31, 119, 180)),
    ("get_providers", RGBColor(255, 127, 14)),
    ("provide", RGBColor(44, 160, 44)),
    ("get", RGBColor(214, 39, 40)),
    ("put", RGBColor(148, 103, 189)),
];

/// The family the font is registered as; plotters' default, so every text uses it.
const FAMILY: &str = "sans-serif";

/// What [`write_all`] wrote.
#[derive(Debug)]
pub struct Written {
    /// The files, in the order written.
    pub files: Vec<PathBuf>,
    /// Why the PNGs were not written, if they were not.
    pub png_skipped: Option<&'static FontError>,
}

/// Why no font could be used for PNG text.
#[derive(Debug, thiserror::Error)]
pub enum FontError {
    /// None of [`FONT_PATHS`] exists.
    #[error("no font at {} (install fonts-dejavu-core)", FONT_PATHS.join(", "))]
    NotFound,
    /// The font file exists but could not be read.
    #[error("reading the font {path}: {source}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What reading it gave.
        source: std::io::Error,
    },
    /// The file is not a font plotters can use.
    #[error("{path} is not a TrueType or OpenType font")]
    Invalid {
        /// The file.
        path: PathBuf,
    },
}

/// Why a figure could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// plotters failed to draw it.
    #[error("drawing {path}: {source}")]
    Draw {
        /// The file it was for.
        path: PathBuf,
        /// plotters' error (its type depends on the backend).
        source: Box<dyn Error + Send + Sync>,
    },
    /// The PNG encoder failed.
    #[error("encoding {path}: {source}")]
    Encode {
        /// The file it was for.
        path: PathBuf,
        /// The encoder's error.
        source: png::EncodingError,
    },
    /// The file could not be written.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What writing it gave.
        source: std::io::Error,
    },
}

/// Writes every figure of a run into `dir` (which must exist): `latency-cdf`, `hops` and
/// `success-over-time`, each as `.svg` and, if a font is found, `.png`.
pub fn write_all(
    dir: &Path,
    summary: &Summary,
    records: &[OperationRecord],
) -> Result<Written, PlotError> {
    let title = format!(
        "{}, {} nodes, seed {}",
        summary.scenario, summary.nodes, summary.seed
    );
    let png_skipped = register_font().err();
    let is_png = png_skipped.is_none();
    let mut files = Vec::new();
    files.extend(render(dir, &LatencyCdf::new(&title, records), is_png)?);
    files.extend(render(dir, &HopShares::new(&title, records), is_png)?);
    files.extend(render(dir, &SuccessOverTime::new(&title, records), is_png)?);
    Ok(Written { files, png_skipped })
}

/// Writes the figures of a gossip run into `dir` (which must exist): `delivery-cdf` and,
/// under attack, `attacker-links`, each as `.svg` and, if a font is found, `.png`.
pub fn write_gossip(
    dir: &Path,
    summary: &GossipSummary,
    latencies_ms: &[f64],
) -> Result<Written, PlotError> {
    let title = format!(
        "{}, {} nodes, seed {}",
        summary.scenario, summary.nodes, summary.seed
    );
    let png_skipped = register_font().err();
    let is_png = png_skipped.is_none();
    let mut files = Vec::new();
    let delivery = gossip::DeliveryCdf::new(&title, summary, latencies_ms);
    files.extend(render(dir, &delivery, is_png)?);
    if let Some(links) = gossip::AttackerLinks::new(&title, summary) {
        files.extend(render(dir, &links, is_png)?);
    }
    Ok(Written { files, png_skipped })
}

/// Registers the first font of [`FONT_PATHS`] with plotters, once per process (plotters
/// keeps fonts in a global table and wants them `'static`, so the bytes are leaked once).
fn register_font() -> Result<&'static Path, &'static FontError> {
    static FONT: OnceLock<Result<PathBuf, FontError>> = OnceLock::new();
    let found = FONT.get_or_init(|| {
        let path = FONT_PATHS
            .iter()
            .map(PathBuf::from)
            .find(|path| path.exists())
            .ok_or(FontError::NotFound)?;
        let bytes = std::fs::read(&path).map_err(|source| FontError::Unreadable {
            path: path.clone(),
            source,
        })?;
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        plotters::style::register_font(FAMILY, FontStyle::Normal, bytes)
            .map_err(|_| FontError::Invalid { path: path.clone() })?;
        Ok(path)
    });
    found.as_deref()
}

/// A figure that can be drawn on any plotters backend.
trait Figure {
    /// Its file name without extension.
    const STEM: &'static str;

    /// Draws it on `root`.
    fn draw<B: DrawingBackend>(&self, root: &DrawingArea<B, Shift>) -> DrawResult<(), B>;
}

/// Writes `figure` as SVG and, if `is_png`, as PNG; returns the paths.
fn render<F: Figure>(dir: &Path, figure: &F, is_png: bool) -> Result<Vec<PathBuf>, PlotError> {
    let mut written = Vec::new();
    let path = dir.join(format!("{}.svg", F::STEM));
    let mut svg = String::new();
    {
        let root = TextMeasuringSvg(SVGBackend::with_string(&mut svg, SIZE)).into_drawing_area();
        figure
            .draw(&root)
            .and_then(|()| root.present())
            .map_err(|error| drawing_failed(&path, error))?;
    }
    write(&path, svg.as_bytes())?;
    written.push(path);

    if is_png {
        let path = dir.join(format!("{}.png", F::STEM));
        let mut pixels = vec![0u8; SIZE.0 as usize * SIZE.1 as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area();
            figure
                .draw(&root)
                .and_then(|()| root.present())
                .map_err(|error| drawing_failed(&path, error))?;
        }
        let png = encode_png(&pixels, SIZE).map_err(|source| PlotError::Encode {
            path: path.clone(),
            source,
        })?;
        write(&path, &png)?;
        written.push(path);
    }
    Ok(written)
}

fn drawing_failed<E: Error + Send + Sync + 'static>(
    path: &Path,
    error: DrawingAreaErrorKind<E>,
) -> PlotError {
    PlotError::Draw {
        path: path.to_owned(),
        source: Box::new(error),
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), PlotError> {
    std::fs::write(path, bytes).map_err(|source| PlotError::Write {
        path: path.to_owned(),
        source,
    })
}

/// Encodes 8-bit RGB pixels as PNG.
fn encode_png(pixels: &[u8], (width, height): (u32, u32)) -> Result<Vec<u8>, png::EncodingError> {
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(pixels)?;
    writer.finish()?;
    Ok(png)
}

/// The colour of a kind in every figure.
fn color_of(kind: &str) -> RGBColor {
    KINDS
        .iter()
        .find(|(name, _)| *name == kind)
        .map_or(BLACK, |(_, color)| *color)
}

fn text(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&BLACK)
}

/// One entry of a figure's legend.
struct Entry {
    label: String,
    sample: Sample,
}

/// How a legend entry shows its series.
#[derive(Clone, Copy)]
enum Sample {
    Line(ShapeStyle),
    Bar(RGBColor),
}

/// Legend rows are this tall, two entries a row.
const LEGEND_ROW: u32 = 28;

/// Splits `root` into the chart above and the legend of `entries` below it. The legend sits
/// outside the chart so that it never hides data, wherever the data lies.
fn split_for_legend<B: DrawingBackend>(
    root: &DrawingArea<B, Shift>,
    entries: &[Entry],
) -> (DrawingArea<B, Shift>, DrawingArea<B, Shift>) {
    let rows = entries.len().div_ceil(2) as u32;
    let height = root.dim_in_pixel().1;
    root.split_vertically(height.saturating_sub(rows * LEGEND_ROW + 16))
}

/// Draws `entries` in two columns, aligned with the chart's plotting area (which starts
/// `left` pixels in).
fn draw_legend<B: DrawingBackend>(
    area: &DrawingArea<B, Shift>,
    entries: &[Entry],
    left: i32,
) -> DrawResult<(), B> {
    let column = (area.dim_in_pixel().0 as i32 - left) / 2;
    for (index, entry) in entries.iter().enumerate() {
        let x = left + column * (index % 2) as i32;
        let y = (index / 2) as i32 * LEGEND_ROW as i32 + LEGEND_ROW as i32 / 2;
        match entry.sample {
            Sample::Line(style) => area.draw(&PathElement::new([(x, y), (x + 36, y)], style))?,
            Sample::Bar(color) => area.draw(&Rectangle::new(
                [(x + 6, y - 8), (x + 30, y + 8)],
                color.filled(),
            ))?,
        }
        let style = text(17).pos(Pos::new(HPos::Left, VPos::Center));
        area.draw(&Text::new(entry.label.as_str(), (x + 46, y), style))?;
    }
    Ok(())
}

/// A share (0..1) for an axis: "0", "0.25", "1".
fn share(y: f64) -> String {
    if y.abs() < 0.005 {
        return "0".to_owned();
    }
    let text = format!("{y:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// `x` ms, written briefly: "2.5 ms", "250 ms", "1.5 s".
fn milliseconds(x: f64) -> String {
    if x >= 1000.0 {
        format!("{} s", one_decimal(x / 1000.0))
    } else if x >= 100.0 {
        format!("{x:.0} ms")
    } else {
        format!("{} ms", one_decimal(x))
    }
}

/// `x` with at most one decimal and no trailing ".0".
fn one_decimal(x: f64) -> String {
    let text = format!("{x:.1}");
    match text.strip_suffix(".0") {
        Some(whole) => whole.to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_times_are_written_briefly() {
        assert_eq!(share(0.0), "0");
        assert_eq!(share(-0.0), "0");
        assert_eq!(share(0.5), "0.5");
        assert_eq!(share(0.25), "0.25");
        assert_eq!(share(1.0), "1");
        assert_eq!(milliseconds(2.5), "2.5 ms");
        assert_eq!(milliseconds(250.4), "250 ms");
        assert_eq!(milliseconds(1260.0), "1.3 s");
        assert_eq!(milliseconds(2000.0), "2 s");
    }
}
