//! The column algorithm of Go's `text/tabwriter`, as go/printer configures
//! it (min width 0, padding 1, pad with spaces, `DiscardEmptyColumns`),
//! applied to rows whose cells are already split.

use super::Row;

/// Lays out `rows` (one alignment group) and returns the text of each line.
pub(super) fn align(rows: &[Row]) -> Vec<String> {
    let mut lines = vec![String::new(); rows.len()];
    let mut widths = Vec::new();
    format(rows, &mut widths, 0, rows.len(), &mut lines);
    lines
}

/// Port of `(*Writer).format`: finds the column blocks of column
/// `widths.len()` in `line0..line1`, sizes each, and recurses rightwards.
fn format(rows: &[Row], widths: &mut Vec<usize>, line0: usize, line1: usize, out: &mut [String]) {
    let column = widths.len();
    let mut line0 = line0;
    let mut this = line0;
    while this < line1 {
        if column >= rows[this].cells.len() {
            this += 1;
            continue;
        }
        write_lines(rows, widths, line0, this, out);
        line0 = this;

        let mut width = 0;
        let mut discardable = true;
        while this < line1 && column < rows[this].cells.len() {
            let cell = &rows[this].cells[column];
            let cell_width = cell.text.chars().count();
            width = width.max(cell_width + 1);
            if cell_width > 0 || !cell.soft {
                discardable = false;
            }
            this += 1;
        }
        if discardable {
            width = 0;
        }
        widths.push(width);
        format(rows, widths, line0, this, out);
        widths.pop();
        line0 = this;
    }
    write_lines(rows, widths, line0, line1, out);
}

/// Port of `(*Writer).writeLines` for cells after the indentation (so a
/// leading empty cell never occurs and padding is always spaces).
fn write_lines(rows: &[Row], widths: &[usize], line0: usize, line1: usize, out: &mut [String]) {
    for i in line0..line1 {
        let text = &mut out[i];
        for (j, cell) in rows[i].cells.iter().enumerate() {
            text.push_str(&cell.text);
            if let Some(&width) = widths.get(j) {
                let used = cell.text.chars().count();
                text.extend(std::iter::repeat_n(' ', width.saturating_sub(used)));
            }
        }
        text.push_str(&rows[i].last);
    }
}
