//! Entry point: parse the command line and settings, then run.

use std::process::ExitCode;

use clap::Parser;

use avenue_api::cli::{run, Cli};
use avenue_api::Settings;

#[tokio::main]
async fn main() -> ExitCode {
    avenue_shared::telemetry::init("avenue_api=info,tower_http=info");
    let cli = Cli::parse();
    let result = async { run(cli, Settings::from_env()?).await }.await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("avenue-api: {err:#}");
            ExitCode::FAILURE
        }
    }
}
