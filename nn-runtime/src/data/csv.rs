//! Tabular data from CSV files: a header line naming the columns, then one sample per line.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::InMemory;
use crate::{Error, Result};

/// The most classes whole-number labels may index: a label column of class indices names
/// classes `0..=max`, so one stray `100000000000` would otherwise size a table of 10^11
/// names. 65,536 is far beyond any classifier trained on a CSV file (ImageNet-21k has 21,841).
pub const MAX_CLASSES: usize = 65_536;

/// A CSV file read into memory: its column names and its rows, each remembering its line.
///
/// The first line is the header. Fields are separated by commas and may be quoted (`"a, b"`,
/// with `""` for a quote inside), as RFC 4180 and Python's `csv` module write them; spaces around
/// a field are ignored and blank lines are skipped. Parsing is the [`csv`](https://docs.rs/csv)
/// crate's. Every row must have as many fields as the header names.
///
/// Choose the features and the label by column name; the number of feature columns is the
/// input size `N` of `[f32; N]`, and errors name the file, the line and the column:
///
/// ```
/// use nn::data::{Csv, Dataset};
/// let table = Csv::from_text(
///     "flowers.csv",
///     "petal_length,petal_width,species\n1.4,0.2,setosa\n4.7,1.4,versicolor\n",
/// )
/// .unwrap();
/// let (data, classes) = table.classification(["petal_length", "petal_width"], "species").unwrap();
/// assert_eq!(data.get(1), ([4.7, 1.4], 1));
/// assert_eq!(classes, ["setosa", "versicolor"]);
///
/// let bad = Csv::from_text("flowers.csv", "petal_length,species\n1.4,setosa\nabc,setosa\n").unwrap();
/// let error = bad.classification(["petal_length"], "species").unwrap_err();
/// assert_eq!(error.to_string(), "flowers.csv:3: column `petal_length` (1): `abc` is not a number");
/// ```
#[derive(Debug, Clone)]
pub struct Csv {
    path: PathBuf,
    columns: Vec<String>,
    rows: Vec<Row>,
}

/// One data row: the line it starts on and its fields, already trimmed.
#[derive(Debug, Clone)]
struct Row {
    line: u64,
    fields: ::csv::StringRecord,
}

impl Csv {
    /// Reads the CSV file at `path`.
    ///
    /// Errors if the file cannot be read (naming it), is empty, has a header but no data rows,
    /// is not UTF-8, or has a row whose number of fields differs from the header's (naming the
    /// line and both counts).
    ///
    /// ```
    /// let error = nn::data::Csv::read("no/such/file.csv").unwrap_err();
    /// assert!(error.to_string().starts_with("no/such/file.csv: "));
    /// ```
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::io(path, source))?;
        Self::from_bytes(&bytes, path)
    }

    /// Parses CSV `text` held in memory; `name` stands for the file in error messages.
    ///
    /// ```
    /// let table = nn::data::Csv::from_text("inline.csv", "x, y\n1, 2\n3, 4\n").unwrap();
    /// assert_eq!(table.columns(), ["x", "y"]);
    /// assert_eq!(table.len(), 2);
    /// let error = nn::data::Csv::from_text("inline.csv", "x,y\n1,2\n3\n").unwrap_err();
    /// assert_eq!(
    ///     error.to_string(),
    ///     "inline.csv:3: this row has 1 field, but the header names 2 columns (x, y)"
    /// );
    /// ```
    pub fn from_text(name: impl Into<PathBuf>, text: &str) -> Result<Self> {
        Self::from_bytes(text.as_bytes(), &name.into())
    }

    fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(::csv::Trim::All)
            .from_reader(bytes);
        let lines = Lines::new(bytes);
        let header = reader
            .headers()
            .map_err(|error| csv_error(path, &lines, error))?
            .clone();
        if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
            return Err(Error::format(
                path,
                "the file is empty; a CSV file needs a header line naming its columns, then one line per sample",
            ));
        }
        let columns: Vec<String> = header.iter().map(str::to_owned).collect();
        let mut rows = Vec::new();
        for record in reader.records() {
            let fields = record.map_err(|error| csv_error(path, &lines, error))?;
            let line = lines.of_record(fields.position());
            if fields.len() != columns.len() {
                return Err(Error::Csv {
                    path: path.to_path_buf(),
                    line,
                    column: None,
                    problem: format!(
                        "this row has {} field{}, but the header names {} columns ({})",
                        fields.len(),
                        if fields.len() == 1 { "" } else { "s" },
                        columns.len(),
                        columns.join(", ")
                    ),
                });
            }
            rows.push(Row { line, fields });
        }
        if rows.is_empty() {
            return Err(Error::format(
                path,
                format!(
                    "the header names the columns ({}) but no data rows follow",
                    columns.join(", ")
                ),
            ));
        }
        Ok(Csv {
            path: path.to_path_buf(),
            columns,
            rows,
        })
    }

    /// The file's path (or the name given to [`Csv::from_text`]).
    ///
    /// ```
    /// let table = nn::data::Csv::from_text("inline.csv", "x\n1\n").unwrap();
    /// assert_eq!(table.path(), std::path::Path::new("inline.csv"));
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The column names, in the header's order.
    ///
    /// ```
    /// let table = nn::data::Csv::from_text("inline.csv", "a,b,label\n1,2,x\n").unwrap();
    /// assert_eq!(table.columns(), ["a", "b", "label"]);
    /// ```
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The number of data rows (the header not counted).
    ///
    /// ```
    /// let table = nn::data::Csv::from_text("inline.csv", "a\n1\n2\n\n3\n").unwrap();
    /// assert_eq!(table.len(), 3); // blank lines are skipped
    /// ```
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no data rows (never true for a table that was read: that is an error).
    ///
    /// ```
    /// let table = nn::data::Csv::from_text("inline.csv", "a\n1\n").unwrap();
    /// assert!(!table.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The position (from 0) of the column called `name`.
    ///
    /// Errors if no column has that name (listing the columns there are) or if two do.
    ///
    /// ```
    /// let table = nn::data::Csv::from_text("inline.csv", "a,b,Label\n1,2,x\n").unwrap();
    /// assert_eq!(table.column("b").unwrap(), 1);
    /// assert_eq!(
    ///     table.column("label").unwrap_err().to_string(),
    ///     "inline.csv: no column is named `label` (did you mean `Label`?); the columns are: a, b, Label"
    /// );
    /// ```
    pub fn column(&self, name: &str) -> Result<usize> {
        let mut matches = self.columns.iter().enumerate().filter(|(_, column)| *column == name);
        match (matches.next(), matches.next()) {
            (Some((index, _)), None) => Ok(index),
            (Some((first, _)), Some((second, _))) => Err(Error::format(
                &self.path,
                format!(
                    "columns {} and {} are both named `{name}`; rename one so the choice is clear",
                    first + 1,
                    second + 1
                ),
            )),
            (None, _) => {
                let hint = self
                    .columns
                    .iter()
                    .find(|column| column.eq_ignore_ascii_case(name))
                    .map_or(String::new(), |column| format!(" (did you mean `{column}`?)"));
                Err(Error::format(
                    &self.path,
                    format!(
                        "no column is named `{name}`{hint}; the columns are: {}",
                        self.columns.join(", ")
                    ),
                ))
            }
        }
    }

    /// The names of all columns except those in `except`, in the header's order, as an array of
    /// `N` names (to pass as the features of [`Csv::classification`] or [`Csv::regression`]).
    ///
    /// Errors if a name in `except` is not a column, or if the number of remaining columns is not
    /// `N` (saying how many there are).
    ///
    /// ```
    /// let table = nn::data::Csv::from_text("inline.csv", "a,b,label\n1,2,x\n").unwrap();
    /// let features: [&str; 2] = table.columns_except(&["label"]).unwrap();
    /// assert_eq!(features, ["a", "b"]);
    /// let error = table.columns_except::<3>(&["label"]).unwrap_err();
    /// assert_eq!(
    ///     error.to_string(),
    ///     "inline.csv: 3 feature columns expected, but the file has 2 besides `label`: a, b"
    /// );
    /// ```
    pub fn columns_except<const N: usize>(&self, except: &[&str]) -> Result<[&str; N]> {
        for name in except {
            self.column(name)?;
        }
        let rest: Vec<&str> = self
            .columns
            .iter()
            .map(String::as_str)
            .filter(|column| !except.contains(column))
            .collect();
        let count = rest.len();
        rest.try_into().map_err(|rest: Vec<&str>| {
            let excluded: Vec<String> = except.iter().map(|name| format!("`{name}`")).collect();
            Error::format(
                &self.path,
                format!(
                    "{N} feature columns expected, but the file has {count} besides {}: {}",
                    excluded.join(", "),
                    rest.join(", ")
                ),
            )
        })
    }

    /// The values of `columns` as one `[f32; N]` per row.
    ///
    /// Errors on a value that is empty, not a number, or not finite, naming its line, its
    /// column and the value.
    ///
    /// ```
    /// let table = nn::data::Csv::from_text("inline.csv", "a,b\n1,2\n3,4e1\n").unwrap();
    /// assert_eq!(table.numbers(["b", "a"]).unwrap(), [[2.0, 1.0], [40.0, 3.0]]);
    /// ```
    pub fn numbers<const N: usize>(&self, columns: [&str; N]) -> Result<Vec<[f32; N]>> {
        let mut indices = [0; N];
        for (index, name) in indices.iter_mut().zip(columns) {
            *index = self.column(name)?;
        }
        self.rows
            .iter()
            .map(|row| {
                let mut values = [0.0f32; N];
                for (value, &column) in values.iter_mut().zip(&indices) {
                    *value = self.number(row, column)?;
                }
                Ok(values)
            })
            .collect()
    }

    /// A classification dataset: the `features` columns as inputs and the `label` column as
    /// class indices, with the class names (`names[class]`).
    ///
    /// If every label is a whole number `0, 1, 2, ...`, it is the class index itself and the
    /// names are `"0"`, `"1"`, ... up to the largest, which must be below [`MAX_CLASSES`]
    /// (65,536; a larger one is an error naming its line). Otherwise the distinct labels, sorted, are
    /// the classes (as scikit-learn's `LabelEncoder` orders them). To fix the order yourself, use
    /// [`Csv::classification_with`].
    ///
    /// ```
    /// use nn::data::{Csv, Dataset};
    /// let table = Csv::from_text("inline.csv", "x,digit\n0.5,3\n0.25,1\n").unwrap();
    /// let (data, classes) = table.classification(["x"], "digit").unwrap();
    /// assert_eq!(data.get(0), ([0.5], 3));
    /// assert_eq!(classes, ["0", "1", "2", "3"]);
    /// ```
    #[allow(clippy::type_complexity)] // a pair to destructure: `let (data, classes) = ...`
    pub fn classification<const N: usize>(
        &self,
        features: [&str; N],
        label: &str,
    ) -> Result<(InMemory<[f32; N], usize>, Vec<String>)> {
        let inputs = self.numbers(features)?;
        let column = self.column(label)?;
        for row in &self.rows {
            if row.fields[column].is_empty() {
                return Err(self.value_error(row, column, "is empty (a missing label); fill it in or drop the row"));
            }
        }
        let labels = self.rows.iter().map(|row| &row.fields[column]);
        let (targets, names) = match labels.clone().map(|label| label.parse::<usize>()).collect() {
            Ok(indices) => {
                let indices: Vec<usize> = indices;
                // The class count comes from the file: bound it before it sizes the names.
                if let Some((row, &index)) = self.rows.iter().zip(&indices).find(|(_, &index)| index >= MAX_CLASSES) {
                    let problem = format!(
                        "`{index}` is a class index beyond the limit of {MAX_CLASSES} classes (0..{}); \
                         to use such labels as names, give the classes with `classification_with`",
                        MAX_CLASSES - 1
                    );
                    return Err(self.value_error(row, column, &problem));
                }
                let classes = indices.iter().max().map_or(0, |max| max + 1);
                (indices, (0..classes).map(|class| class.to_string()).collect())
            }
            Err(_) => {
                let names: Vec<String> = labels
                    .clone()
                    .collect::<BTreeSet<&str>>()
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
                let targets = labels
                    .map(|label| names.binary_search_by(|name| name.as_str().cmp(label)).unwrap_or(0))
                    .collect();
                (targets, names)
            }
        };
        Ok((InMemory::new(inputs, targets)?, names))
    }

    /// A classification dataset whose classes are `classes`, in that order: a row labelled
    /// `classes[i]` has target `i`.
    ///
    /// Errors on a label that is not in `classes`, naming its line and the classes.
    ///
    /// ```
    /// use nn::data::{Csv, Dataset};
    /// let table = Csv::from_text("inline.csv", "x,size\n1,small\n9,large\n").unwrap();
    /// let data = table.classification_with(["x"], "size", &["small", "large"]).unwrap();
    /// assert_eq!(data.get(1), ([9.0], 1));
    /// let error = table.classification_with(["x"], "size", &["small", "medium"]).unwrap_err();
    /// assert_eq!(
    ///     error.to_string(),
    ///     "inline.csv:3: column `size` (2): `large` is not one of the classes small, medium"
    /// );
    /// ```
    pub fn classification_with<const N: usize>(
        &self,
        features: [&str; N],
        label: &str,
        classes: &[&str],
    ) -> Result<InMemory<[f32; N], usize>> {
        let inputs = self.numbers(features)?;
        let column = self.column(label)?;
        let targets = self
            .rows
            .iter()
            .map(|row| {
                let value = &row.fields[column];
                classes.iter().position(|class| *class == value).ok_or_else(|| {
                    let problem = format!("`{value}` is not one of the classes {}", classes.join(", "));
                    self.value_error(row, column, &problem)
                })
            })
            .collect::<Result<Vec<usize>>>()?;
        InMemory::new(inputs, targets)
    }

    /// A regression dataset: the `features` columns as inputs and the `targets` columns as
    /// targets, both numeric.
    ///
    /// ```
    /// use nn::data::{Csv, Dataset};
    /// let table = Csv::from_text("inline.csv", "rooms,area,price\n3,70,250\n4,95,320\n").unwrap();
    /// let data = table.regression(["rooms", "area"], ["price"]).unwrap();
    /// assert_eq!(data.get(1), ([4.0, 95.0], [320.0]));
    /// ```
    pub fn regression<const N: usize, const M: usize>(
        &self,
        features: [&str; N],
        targets: [&str; M],
    ) -> Result<InMemory<[f32; N], [f32; M]>> {
        InMemory::new(self.numbers(features)?, self.numbers(targets)?)
    }

    /// The number in `row` at `column`, or an error naming line, column and value.
    fn number(&self, row: &Row, column: usize) -> Result<f32> {
        let text = &row.fields[column];
        if text.is_empty() {
            return Err(self.value_error(row, column, "is empty (a missing value); fill it in or drop the row"));
        }
        match text.parse::<f32>() {
            Ok(value) if value.is_finite() => Ok(value),
            Ok(_) => Err(self.value_error(row, column, &format!("`{text}` is not a finite number"))),
            Err(_) => Err(self.value_error(row, column, &format!("`{text}` is not a number"))),
        }
    }

    /// `file:line: column `name` (number): problem`.
    fn value_error(&self, row: &Row, column: usize, problem: &str) -> Error {
        let name = &self.columns[column];
        Error::Csv {
            path: self.path.clone(),
            line: row.line,
            column: Some(name.clone()),
            problem: format!("column `{name}` ({}): {problem}", column + 1),
        }
    }
}

/// Where each line of the file starts, to give every row and every error its line number.
///
/// The `csv` crate's own `Position::line` is off after blank lines and with CRLF line ends
/// (rust-csv issues 208 and 395), so lines are counted here from the record's byte offset,
/// which is right up to the line ends and blank lines before the record.
struct Lines<'a> {
    bytes: &'a [u8],
    /// Byte offset of the start of line 2, 3, ... (a line ends at `\n`, `\r\n` or a lone `\r`).
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        let starts = bytes
            .iter()
            .enumerate()
            .filter(|&(at, &byte)| byte == b'\n' || (byte == b'\r' && bytes.get(at + 1) != Some(&b'\n')))
            .map(|(at, _)| at + 1)
            .collect();
        Lines { bytes, starts }
    }

    /// The line (from 1) on which the record that the `csv` crate placed at `position` starts.
    fn of_record(&self, position: Option<&::csv::Position>) -> u64 {
        let mut at = position.map_or(0, |position| usize::try_from(position.byte()).unwrap_or(usize::MAX));
        while matches!(self.bytes.get(at), Some(b'\r' | b'\n')) {
            at += 1;
        }
        self.starts.partition_point(|&start| start <= at) as u64 + 1
    }
}

/// A parse error from the `csv` crate, with the line it happened on.
fn csv_error(path: &Path, lines: &Lines<'_>, error: ::csv::Error) -> Error {
    let line = error.position().map(|position| lines.of_record(Some(position)));
    let problem = match error.kind() {
        ::csv::ErrorKind::Utf8 { err, .. } => {
            format!("field {} is not valid UTF-8; save the file as UTF-8", err.field() + 1)
        }
        _ => error.to_string(),
    };
    match line {
        Some(line) => Error::Csv {
            path: path.to_path_buf(),
            line,
            column: None,
            problem,
        },
        None => Error::format(path, problem),
    }
}
