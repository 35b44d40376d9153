//! The command line of the `mnist` and `lenet` examples, read with lexopt: what both do the
//! same way (a flag's value, `--help`, errors as clap words them, exit codes).

use std::fmt::Display;
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
