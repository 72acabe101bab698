//! Plain-text tables with aligned columns, for human output.

/// Spaces between two columns.
const GAP: usize = 2;

/// `header` and `rows` as lines of aligned columns: each column is as wide as its widest cell
/// (counted in characters), the last one is not padded, and no line ends in spaces. Cells are
/// shown as given: the caller makes them safe for a terminal.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            let len = cell.chars().count();
            match widths.get_mut(i) {
                Some(w) => *w = (*w).max(len),
                None => widths.push(len),
            }
        }
    }
    let mut text = String::new();
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(&widths) {
            line.push_str(cell);
            let pad = width.saturating_sub(cell.chars().count()) + GAP;
            line.extend(std::iter::repeat_n(' ', pad));
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_and_lines_do_not_end_in_spaces() {
        let rows = vec![
            vec!["root".to_string(), "no".to_string(), String::new()],
            vec![
                "alice".to_string(),
                "yes".to_string(),
                "2026-12-01T07:59:30Z".to_string(),
            ],
            vec!["bøb".to_string(), "unknown".to_string(), "why".to_string()],
        ];
        assert_eq!(
            render(&["USER", "ENROLLED", "LAST"], &rows),
            "USER   ENROLLED  LAST\n\
             root   no\n\
             alice  yes       2026-12-01T07:59:30Z\n\
             bøb    unknown   why\n"
        );
        assert_eq!(render(&["A"], &[]), "A\n");
    }
}
