//! `dq`: parse the command line, run it, turn the outcome into an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match dq::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return dq::cmd::report_usage(&error),
    };
    match dq::cmd::run(cli) {
        Ok(code) => code,
        Err(error) => dq::cmd::report(&error),
    }
}
