//! The QR code of the otpauth URI for the terminal: qr2term's coloured blocks, or, when the
//! user set NO_COLOR, plain half-block characters (which qr2term would turn into an unreadable
//! grid of identical glyphs).

use qr2term::render::{Color, QrLight};

/// Width of the light border around the code, in modules.
const QUIET_ZONE: usize = 2;

/// What to print above the URI: the QR block and, for the plain form, a line saying so.
pub fn render(uri: &str) -> Result<String, String> {
    if no_color() {
        let mut text = plain(uri)?;
        text.push_str(
            "(NO_COLOR is set: the QR code above is drawn in the terminal's text colour and scans \
             best on a light background; if your app cannot read it, unset NO_COLOR or type the key.)\n",
        );
        Ok(text)
    } else {
        qr2term::generate_qr_string(uri).map_err(|e| e.to_string())
    }
}

/// True when the user asked for no colour (no-color.org: set and not empty).
fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// The code drawn with `█ ▀ ▄` for dark modules, two module rows per text line, no escapes.
fn plain(uri: &str) -> Result<String, String> {
    let mut matrix = qr2term::qr::Qr::from(uri)
        .map_err(|e| e.to_string())?
        .to_matrix();
    matrix.surround(QUIET_ZONE, QrLight);
    let size = matrix.size();
    let pixels = matrix.pixels();
    let dark = |x: usize, y: usize| y < size && matches!(pixels[y * size + x], Color::Dark);
    let mut out = String::with_capacity((size + 1) * size.div_ceil(2) * 3);
    for y in (0..size).step_by(2) {
        for x in 0..size {
            out.push(match (dark(x, y), dark(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push('\n');
    }
    Ok(out)
}
