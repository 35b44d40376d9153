//! The table printed by a generated network's `summary()`.

use crate::tensor::shape_to_string;

/// One row of a summary: a layer's key, its type as written, its output shape and parameter count.
#[derive(Debug, Clone, Copy)]
pub struct SummaryRow {
    /// The layer's name or position (its safetensors key prefix).
    pub key: &'static str,
    /// The layer as written in `network!`.
    pub layer: &'static str,
    /// Per-sample output shape.
    pub output_shape: &'static [usize],
    /// Trainable parameters.
    pub params: usize,
}

/// Formats a network summary like `torchinfo`'s: one row per layer, then the total.
pub fn format_summary(name: &str, input_shape: &[usize], rows: &[SummaryRow]) -> String {
    let cells: Vec<[String; 4]> = rows
        .iter()
        .map(|row| {
            [
                row.key.to_string(),
                row.layer.to_string(),
                shape_to_string(row.output_shape),
                group_digits(row.params),
            ]
        })
        .collect();
    let header = ["key", "layer", "output", "params"].map(String::from);
    let widths: Vec<usize> = (0..4)
        .map(|column| {
            cells
                .iter()
                .chain([&header])
                .map(|cell| cell[column].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cell: &[String; 4]| {
        format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {:>w3$}\n",
            cell[0],
            cell[1],
            cell[2],
            cell[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        )
    };
    let total: usize = rows.iter().map(|row| row.params).sum();
    let mut out = format!("{name}: input {}\n", shape_to_string(input_shape));
    out.push_str(&line(&header));
    cells.iter().for_each(|cell| out.push_str(&line(cell)));
    out.push_str(&format!("total: {} parameters\n", group_digits(total)));
    out
}

/// `109386` as `109,386`.
pub fn group_digits(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
