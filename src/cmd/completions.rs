//! `dq completions SHELL`: the completion script clap derives from the command line.

use std::process::ExitCode;

use anyhow::Result;

use super::print;
use crate::cli::{self, CompletionsArgs};

pub fn run(args: &CompletionsArgs) -> Result<ExitCode> {
    let mut command = cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "dq", &mut script);
    print(&String::from_utf8_lossy(&script))?;
    Ok(ExitCode::SUCCESS)
}
