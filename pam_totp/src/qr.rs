//! The QR code of an otpauth URI as plain text for the PAM conversation: Unicode half blocks
//! (`█ ▀ ▄` and space, two module rows per line), no escape sequences (sshd's client prints
//! control characters literally, so colours cannot be used).
//!
//! Terminals are mostly light text on a dark background, so the *light* modules (and the
//! quiet zone) are drawn as blocks and the dark modules are left blank: the code then has the
//! right polarity there. On a light background it shows inverted, which is why the URI and the
//! key are always shown as well.

use qrcode::render::unicode::Dense1x2;
use qrcode::QrCode;

/// Why no QR code could be made.
#[derive(Debug, thiserror::Error)]
#[error("cannot make a QR code of the otpauth URI ({0}); the user can type the key instead")]
pub struct QrError(String);

/// The QR code of `uri`, one text line per two module rows, lines ending in `\n`.
pub fn render(uri: &str) -> Result<String, QrError> {
    let code = QrCode::new(uri.as_bytes()).map_err(|e| QrError(e.to_string()))?;
    let mut text = code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build();
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The module grid (true = dark module) read back from the text: a block half is light.
    fn grid(text: &str) -> Vec<Vec<bool>> {
        let mut rows = Vec::new();
        for line in text.lines() {
            let (mut top, mut bottom) = (Vec::new(), Vec::new());
            for c in line.chars() {
                let (t, b) = match c {
                    '█' => (false, false),
                    '▀' => (false, true),
                    '▄' => (true, false),
                    ' ' => (true, true),
                    other => panic!("unexpected character {other:?}"),
                };
                top.push(t);
                bottom.push(b);
            }
            rows.push(top);
            rows.push(bottom);
        }
        rows
    }

    /// Decodes a module grid with rqrr (an independent decoder).
    fn decode(grid: &[Vec<bool>]) -> String {
        const SCALE: usize = 4;
        let (w, h) = (grid[0].len() * SCALE, grid.len() * SCALE);
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
            if grid[y / SCALE][x / SCALE] {
                0
            } else {
                255
            }
        });
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code expected");
        grids[0].decode().unwrap().1
    }

    const URI: &str =
        "otpauth://totp/host1:alice%40host1?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=host1";

    #[test]
    fn decodes_to_the_uri() {
        let text = render(URI).unwrap();
        assert_eq!(decode(&grid(&text)), URI);
    }

    #[test]
    fn plain_text_only() {
        let text = render(URI).unwrap();
        assert!(text.ends_with('\n'));
        assert!(text
            .chars()
            .all(|c| matches!(c, '█' | '▀' | '▄' | ' ' | '\n')));
        // Every line is as wide as the code with its quiet zone (4 modules each side).
        let widths: Vec<usize> = text.lines().map(|l| l.chars().count()).collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]));
        assert!(widths[0] >= 21 + 8);
    }
}
