//! `dq`: parse the command line (with the config file applied), run it, turn the outcome into
//! an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    let invocation = match dq::config::parse(std::env::args_os()) {
        Ok(invocation) => invocation,
        Err(dq::config::ParseError::Usage(error)) => return dq::cmd::report_usage(&error),
        Err(dq::config::ParseError::File(error)) => return dq::cmd::report(&error.into()),
    };
    match dq::cmd::run(invocation) {
        Ok(code) => code,
        Err(error) => dq::cmd::report(&error),
    }
}
