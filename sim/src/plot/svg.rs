//! The SVG backend for figures, measuring text without a font when none is registered.

use plotters::prelude::*;
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};

/// The SVG backend, measuring text without a font when none is registered.
///
/// plotters lays out labels by measuring text with the registered font even for SVG (whose
/// text the viewer renders in a font of its own), and fails when there is none; so that the
/// SVGs are written without a font, text is then measured as DejaVu Sans roughly is: 0.6 em
/// a character.
pub(super) struct TextMeasuringSvg<'a>(pub(super) SVGBackend<'a>);

impl DrawingBackend for TextMeasuringSvg<'_> {
    type ErrorType = std::io::Error;

    fn get_size(&self) -> (u32, u32) {
        self.0.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vertices: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.fill_polygon(vertices, style)
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        position: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_text(text, style, position)
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        Ok(match style.layout_box(text) {
            Ok(((left, top), (right, bottom))) => {
                ((right - left).unsigned_abs(), (bottom - top).unsigned_abs())
            }
            Err(_) => {
                let em = style.size();
                let width = 0.6 * em * text.chars().count() as f64;
                (width.round() as u32, em.round() as u32)
            }
        })
    }

    fn blit_bitmap(
        &mut self,
        position: BackendCoord,
        size: (u32, u32),
        pixels: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.blit_bitmap(position, size, pixels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_measured_roughly_when_its_font_is_not_registered() {
        let mut svg = String::new();
        let backend = TextMeasuringSvg(SVGBackend::with_string(&mut svg, (100, 100)));
        let style = TextStyle::from(("no-such-family", 20).into_font());
        assert_eq!(
            backend.estimate_text_size("abcde", &style).unwrap(),
            (60, 20)
        );
    }
}
