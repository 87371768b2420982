//! Entry point: parse settings, serve until Ctrl-C or SIGTERM.

use std::process::ExitCode;

use avenue_api::{Application, Settings};

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    let result = async {
        let settings = Settings::from_env()?;
        let app = Application::build(settings.clone()).await?;
        let shutdown = avenue_shared::shutdown::shutdown_signal()?;
        tracing::info!(port = app.port(), bind = %settings.bind, "avenue-api listening");
        app.run_until_stopped(shutdown).await
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("avenue-api: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("avenue_api=info,tower_http=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
