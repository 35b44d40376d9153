//! The command line of the examples, read with lexopt: what they do the same way (a flag's
//! value, `--help`, errors as clap words them, exit codes). Every value is checked when the
//! command line is read, before any data is loaded or any epoch trained: a count of 0, a
//! learning rate that is NaN or negative, or an output path whose directory is missing or
//! read-only is an error at once, not after ten epochs.
// Each example uses the helpers it needs.
#![allow(dead_code)]

use std::ffi::OsString;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;

use lexopt::ValueExt;

/// The value of `--flag`, parsed; an error names the flag and the value.
pub fn value<T>(parser: &mut lexopt::Parser, flag: &str) -> Result<T, lexopt::Error>
where
    T: FromStr,
    T::Err: Display,
{
    let value = parser.value()?.string()?;
    value
        .parse()
        .map_err(|error| format!("invalid value '{value}' for '--{flag}': {error}").into())
}

/// The arguments `parse` reads (`None` for `--help`), or the exit code after printing `help`
/// (success) or the error with the usage line of `program` (2, as clap exits).
pub fn arguments<A>(
    program: &str,
    help: &str,
    parse: impl FnOnce() -> Result<Option<A>, lexopt::Error>,
) -> Result<A, ExitCode> {
    match parse() {
        Ok(Some(args)) => Ok(args),
        Ok(None) => {
            print!("{help}");
            Err(ExitCode::SUCCESS)
        }
        Err(error) => {
            eprintln!("error: {error}\n\nUsage: {program} [OPTIONS]\n\nFor more information, try '--help'.");
            Err(ExitCode::from(2))
        }
    }
}

/// The exit code of a run, printing its error as a sentence (`Display`, not `Debug`).
pub fn report(result: nn::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The value of `--flag` as a count of at least 1 (`--epochs`, `--batch-size`, `--threads`).
pub fn count(parser: &mut lexopt::Parser, flag: &str) -> Result<usize, lexopt::Error> {
    let count: usize = value(parser, flag)?;
    if count == 0 {
        return Err(format!("invalid value '0' for '--{flag}': it must be at least 1").into());
    }
    Ok(count)
}

/// The value of `--lr`: a finite number, 0 or more.
pub fn learning_rate(parser: &mut lexopt::Parser) -> Result<f32, lexopt::Error> {
    let lr: f32 = value(parser, "lr")?;
    if !(lr.is_finite() && lr >= 0.0) {
        return Err(
            format!("invalid value '{lr}' for '--lr': a learning rate must be a finite number, 0 or more").into(),
        );
    }
    Ok(lr)
}

/// The value of `--flag`, a file the example writes at the end: its directory must exist and
/// be writable now (checked by creating and removing a file in it), and its extension must be
/// one of `extensions` when that is not empty.
pub fn output_path(parser: &mut lexopt::Parser, flag: &str, extensions: &[&str]) -> Result<PathBuf, lexopt::Error> {
    let path: PathBuf = parser.value()?.into();
    check_output_path(&path, extensions)
        .map_err(|problem| format!("invalid value '{}' for '--{flag}': {problem}", path.display()))?;
    Ok(path)
}

/// Why the example could not write `path`, if it could not: a file in a writable directory,
/// with one of `extensions` (any if empty).
pub fn check_output_path(path: &Path, extensions: &[&str]) -> Result<(), String> {
    if !extensions.is_empty() {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        if !extensions.contains(&extension.as_str()) {
            return Err(format!("the file name must end in .{}", extensions.join(" or .")));
        }
    }
    nn::io::unwritable_reason(path).map_or(Ok(()), Err)
}

/// The one optional positional argument of `program` (a path), or the exit code after
/// printing `help` for `-h`/`--help` or an error for any other flag or a second argument.
pub fn path_argument(
    program: &str,
    help: &str,
    args: impl IntoIterator<Item = OsString>,
) -> Result<Option<PathBuf>, ExitCode> {
    arguments(program, help, || {
        let mut parser = lexopt::Parser::from_args(args);
        let mut path = None;
        while let Some(arg) = parser.next()? {
            match arg {
                lexopt::Arg::Short('h') | lexopt::Arg::Long("help") => return Ok(None),
                lexopt::Arg::Value(value) if path.is_none() => path = Some(PathBuf::from(value)),
                _ => return Err(arg.unexpected()),
            }
        }
        Ok(Some(path))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser(args: &[&str]) -> lexopt::Parser {
        let mut parser = lexopt::Parser::from_args(args.iter().copied());
        parser.next().unwrap(); // the flag itself
        parser
    }

    #[test]
    fn counts_of_zero_are_rejected() {
        let error = count(&mut parser(&["--epochs", "0"]), "epochs")
            .unwrap_err()
            .to_string();
        assert_eq!(error, "invalid value '0' for '--epochs': it must be at least 1");
        assert_eq!(count(&mut parser(&["--threads", "3"]), "threads").unwrap(), 3);
    }

    #[test]
    fn learning_rates_that_are_negative_or_not_finite_are_rejected() {
        for lr in ["-1", "nan", "inf", "-inf", "NaN"] {
            let error = learning_rate(&mut parser(&["--lr", lr])).unwrap_err().to_string();
            assert!(error.contains("for '--lr': a learning rate must be"), "{lr}: {error}");
        }
        assert_eq!(learning_rate(&mut parser(&["--lr", "0.01"])).unwrap(), 0.01);
    }

    #[test]
    fn output_paths_are_checked_before_training() {
        let dir = std::env::temp_dir().join(format!("nn-cli-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("curves.png");
        let good = good.to_str().unwrap();
        assert_eq!(
            output_path(&mut parser(&["--plot", good]), "plot", &["png", "svg"]).unwrap(),
            Path::new(good)
        );
        let missing = dir.join("no/such/dir/net.safetensors");
        let error = output_path(&mut parser(&["--save", missing.to_str().unwrap()]), "save", &[])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("for '--save'") && error.contains("does not exist"),
            "{error}"
        );
        let error = output_path(
            &mut parser(&["--plot", good.replace(".png", ".gif").as_str()]),
            "plot",
            &["png", "svg"],
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains(".png or .svg"), "{error}");
        // No probe file is left behind.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn help_is_help_not_a_path() {
        let args = |list: &[&str]| list.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(path_argument("p", "help\n", args(&["--help"])), Err(ExitCode::SUCCESS));
        assert_eq!(path_argument("p", "help\n", args(&["-h"])), Err(ExitCode::SUCCESS));
        assert_eq!(path_argument("p", "help\n", args(&["--other"])), Err(ExitCode::from(2)));
        assert_eq!(path_argument("p", "help\n", args(&["a", "b"])), Err(ExitCode::from(2)));
        assert_eq!(
            path_argument("p", "help\n", args(&["x.csv"])),
            Ok(Some(PathBuf::from("x.csv")))
        );
        assert_eq!(path_argument("p", "help\n", args(&[])), Ok(None));
    }
}
