//! The one error type of the library.

use std::path::PathBuf;

/// Everything that can go wrong at run time, each variant saying what and where.
///
/// ```
/// let error = nn::Error::InvalidArgument("batch size must be at least 1".into());
/// assert_eq!(error.to_string(), "invalid argument: batch size must be at least 1");
/// ```
///
/// `Debug` prints the same sentence as `Display`, because that is what a program whose
/// `main` returns `nn::Result<()>` prints for its error (`Error: no/such/dir: No such file or
/// directory (os error 2)`, not a dump of the variant); `{:#?}` shows the variant and its
/// fields:
///
/// ```
/// let error = nn::Error::InvalidArgument("batch size must be at least 1".into());
/// assert_eq!(format!("{error:?}"), "invalid argument: batch size must be at least 1");
/// assert_eq!(format!("{error:#?}"), "InvalidArgument(\n    \"batch size must be at least 1\",\n)");
/// ```
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A file was read but its contents are not what the format requires.
    #[error("{path}: {problem}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it, in words.
        problem: String,
    },
    /// An image file and its label file disagree on the number of samples.
    #[error(
        "{images} holds {image_count} images but {labels} holds {label_count} labels; \
         they must hold the same number"
    )]
    CountMismatch {
        /// The image file.
        images: PathBuf,
        /// How many images it holds.
        image_count: usize,
        /// The label file.
        labels: PathBuf,
        /// How many labels it holds.
        label_count: usize,
    },
    /// A weights file does not fit the network it is loaded into.
    #[error("{path}: the weights do not fit this network:{details}")]
    WeightsMismatch {
        /// The weights file.
        path: PathBuf,
        /// One line per missing, unexpected or mis-shaped tensor.
        details: String,
    },
    /// The training loss became NaN or infinite. The trainer has put back the network's
    /// weights of the end of the last completed epoch (or those it started with).
    #[error(
        "the training loss became {loss} at epoch {epoch}, step {step}; lower the learning rate or check the inputs \
         (the network holds its weights from before epoch {epoch} again)"
    )]
    NonFiniteLoss {
        /// The loss value (NaN or infinite).
        loss: f32,
        /// The epoch, counted from 1.
        epoch: usize,
        /// The step within the epoch, counted from 1.
        step: usize,
    },
    /// A step of training made a weight NaN or infinite although the loss was finite (an
    /// update that overflowed). The trainer has put back the network's weights of the end of
    /// the last completed epoch (or those it started with), and saved no checkpoint of them.
    #[error(
        "parameter `{key}` became {value} during epoch {epoch}; lower the learning rate \
         (the network holds its weights from before epoch {epoch} again)"
    )]
    NonFiniteWeights {
        /// The parameter's key, as in a safetensors file (`1.weight`).
        key: String,
        /// Its first non-finite value.
        value: f32,
        /// The epoch, counted from 1.
        epoch: usize,
    },
    /// A token id of an input sequence is outside the vocabulary of the network's `Embedding`.
    #[error("sample {sample}: token id {token} at position {position} is outside the vocabulary of {vocab} tokens (0..={max})", max = vocab.saturating_sub(1))]
    TokenOutOfRange {
        /// The sample's index in its dataset (0 for a single input).
        sample: usize,
        /// The position of the token in the sequence, counted from 0.
        position: usize,
        /// The token id.
        token: usize,
        /// The vocabulary size: valid ids are `0..vocab`.
        vocab: usize,
    },
    /// A label of a sequence's position is not a valid class for the network's output.
    #[error("sample {index} has label {label} at position {position}, but the network has only {classes} outputs (classes 0..{classes})")]
    PositionLabelOutOfRange {
        /// The sample's index in its dataset.
        index: usize,
        /// The position in the sequence, counted from 0.
        position: usize,
        /// Its label.
        label: usize,
        /// How many classes the network's output has.
        classes: usize,
    },
    /// A label is not a valid class for the network's output.
    #[error("sample {index} has label {label}, but the network has only {classes} outputs (classes 0..{classes})")]
    LabelOutOfRange {
        /// The sample's index in its dataset.
        index: usize,
        /// Its label.
        label: usize,
        /// How many classes the network's output has.
        classes: usize,
    },
    /// A CSV file has a value, or a row, that does not fit: the message names the file, the line
    /// (counted from 1, the header being line 1) and, for a value, its column.
    ///
    /// ```
    /// let error = nn::Error::Csv {
    ///     path: "data.csv".into(),
    ///     line: 17,
    ///     column: Some("petal_width".into()),
    ///     problem: "column `petal_width` (4): `abc` is not a number".into(),
    /// };
    /// assert_eq!(error.to_string(), "data.csv:17: column `petal_width` (4): `abc` is not a number");
    /// ```
    #[error("{path}:{line}: {problem}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The line, counted from 1 (the header is line 1).
        line: u64,
        /// The column's name, when one value is at fault (`None` when the whole row is).
        column: Option<String>,
        /// What is wrong, in words (for a value: its column's name and number, and the value).
        problem: String,
    },
    /// An argument is out of its allowed range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !f.alternate() {
            return std::fmt::Display::fmt(self, f);
        }
        match self {
            Error::Io { path, source } => f
                .debug_struct("Io")
                .field("path", path)
                .field("source", source)
                .finish(),
            Error::Format { path, problem } => f
                .debug_struct("Format")
                .field("path", path)
                .field("problem", problem)
                .finish(),
            Error::CountMismatch {
                images,
                image_count,
                labels,
                label_count,
            } => f
                .debug_struct("CountMismatch")
                .field("images", images)
                .field("image_count", image_count)
                .field("labels", labels)
                .field("label_count", label_count)
                .finish(),
            Error::WeightsMismatch { path, details } => f
                .debug_struct("WeightsMismatch")
                .field("path", path)
                .field("details", details)
                .finish(),
            Error::NonFiniteLoss { loss, epoch, step } => f
                .debug_struct("NonFiniteLoss")
                .field("loss", loss)
                .field("epoch", epoch)
                .field("step", step)
                .finish(),
            Error::NonFiniteWeights { key, value, epoch } => f
                .debug_struct("NonFiniteWeights")
                .field("key", key)
                .field("value", value)
                .field("epoch", epoch)
                .finish(),
            Error::TokenOutOfRange {
                sample,
                position,
                token,
                vocab,
            } => f
                .debug_struct("TokenOutOfRange")
                .field("sample", sample)
                .field("position", position)
                .field("token", token)
                .field("vocab", vocab)
                .finish(),
            Error::PositionLabelOutOfRange {
                index,
                position,
                label,
                classes,
            } => f
                .debug_struct("PositionLabelOutOfRange")
                .field("index", index)
                .field("position", position)
                .field("label", label)
                .field("classes", classes)
                .finish(),
            Error::LabelOutOfRange { index, label, classes } => f
                .debug_struct("LabelOutOfRange")
                .field("index", index)
                .field("label", label)
                .field("classes", classes)
                .finish(),
            Error::Csv {
                path,
                line,
                column,
                problem,
            } => f
                .debug_struct("Csv")
                .field("path", path)
                .field("line", line)
                .field("column", column)
                .field("problem", problem)
                .finish(),
            Error::InvalidArgument(problem) => f.debug_tuple("InvalidArgument").field(problem).finish(),
        }
    }
}

/// `Result` with [`Error`](enum@Error) as its error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn format(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        Error::Format {
            path: path.into(),
            problem: problem.into(),
        }
    }
}
