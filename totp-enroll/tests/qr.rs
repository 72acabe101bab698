//! The QR code printed by `enroll` decodes back to the printed otpauth URI.

mod common;

use common::*;

/// One terminal cell of qr2term's output: background colour = upper module, and for `▄` the
/// foreground colour = lower module (a space is the background colour twice).
/// Cells look like `ESC[48;5;{bg}m ESC[38;5;{fg}m {char} ESC[49m ESC[39m`; 0 is black, 15 white.
fn parse_row(line: &str) -> Option<(Vec<bool>, Vec<bool>)> {
    let mut upper = Vec::new();
    let mut lower = Vec::new();
    for cell in line.split("\x1b[48;5;").skip(1) {
        let (bg, rest) = cell.split_once('m')?;
        let rest = rest.strip_prefix("\x1b[38;5;")?;
        let (fg, rest) = rest.split_once('m')?;
        let ch = rest.chars().next()?;
        let dark = |c: &str| c == "0";
        upper.push(dark(bg));
        lower.push(if ch == '▄' { dark(fg) } else { dark(bg) });
    }
    (!upper.is_empty()).then_some((upper, lower))
}

/// Decodes a module grid (true = dark) with rqrr.
fn decode(grid: &[Vec<bool>]) -> String {
    let width = grid[0].len();
    // Scale each module to 4x4 pixels and add a wider light border for the detector.
    const SCALE: usize = 4;
    const BORDER: usize = 8;
    let w = width * SCALE + 2 * BORDER;
    let h = grid.len() * SCALE + 2 * BORDER;
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        if x < BORDER || y < BORDER || x >= w - BORDER || y >= h - BORDER {
            return 255;
        }
        if grid[(y - BORDER) / SCALE][(x - BORDER) / SCALE] {
            0
        } else {
            255
        }
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    let (_, content) = grids[0].decode().expect("decode QR");
    content
}

/// The URI line of the enroll output.
fn uri_of(text: &str) -> String {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("URI: "))
        .expect("URI line")
        .to_string()
}

#[test]
fn without_colour_the_code_is_still_readable() {
    let env = Env::new();
    let file = env.file();
    let out = run_with(
        &[
            "--secret-file",
            file.to_str().unwrap(),
            "enroll",
            "--secret",
            RFC_SHA1_KEY,
        ],
        &code(RFC_SHA1_KEY),
        |c| {
            c.env("NO_COLOR", "1");
        },
    );
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(!text.contains('\x1b'), "NO_COLOR: no escape sequences");
    assert!(text.contains("NO_COLOR is set"), "the user is told: {text}");
    let mut grid: Vec<Vec<bool>> = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && l.chars().all(|c| " █▀▄".contains(c)))
    {
        grid.push(line.chars().map(|c| c == '█' || c == '▀').collect());
        grid.push(line.chars().map(|c| c == '█' || c == '▄').collect());
    }
    assert!(grid.len() > 20, "no QR block found in:\n{text}");
    assert_eq!(decode(&grid), uri_of(&text));
}

#[test]
fn qr_code_decodes_to_the_uri() {
    let env = Env::new();
    let out = env.run(
        &["enroll", "--secret", RFC_SHA1_KEY, "--issuer", "QR Test"],
        &code(RFC_SHA1_KEY),
    );
    assert_exit(&out, 0);
    let text = stdout(&out);
    let uri = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("URI: "))
        .expect("URI line")
        .to_string();
    assert!(uri.starts_with("otpauth://totp/QR%20Test:"), "{uri}");

    let mut grid: Vec<Vec<bool>> = Vec::new();
    for line in text.lines() {
        if let Some((upper, lower)) = parse_row(line) {
            grid.push(upper);
            grid.push(lower);
        }
    }
    assert!(grid.len() > 20, "no QR block found in:\n{text}");
    let width = grid[0].len();
    assert!(grid.iter().all(|r| r.len() == width));

    let content = decode(&grid);
    assert_eq!(content, uri);
    assert!(content.contains(&format!("secret={RFC_SHA1_KEY}")));

    // --no-qr prints the URI and key without the block.
    let env = Env::new();
    let out = env.run(
        &["enroll", "--secret", RFC_SHA1_KEY, "--no-qr"],
        &code(RFC_SHA1_KEY),
    );
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(!text.contains('\x1b'), "no QR block with --no-qr");
    assert!(
        text.contains("Key: GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"),
        "{text}"
    );
}
