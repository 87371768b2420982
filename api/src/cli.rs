//! The `avenue-api` command line: `serve` (the default) and `create-admin`.

use std::io::BufRead;

use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::startup::{build_state, Application};

#[derive(Debug, Parser)]
#[command(name = "avenue-api", about = "Avenue's core business API")]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve HTTP (the default).
    Serve,
    /// Create an admin account. The password comes from
    /// AVENUE_ADMIN_PASSWORD, or else from the first line of stdin.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Administrator")]
        name: String,
    },
}

/// # Errors
/// Whatever the command fails with; `main` prints it and exits non-zero.
pub async fn run(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let bind = settings.bind;
            let app = Application::build(settings).await?;
            let shutdown = avenue_shared::shutdown::shutdown_signal()?;
            tracing::info!(port = app.port(), %bind, "avenue-api listening");
            app.run_until_stopped(shutdown).await
        }
        Command::CreateAdmin { email, name } => {
            let password = match std::env::var("AVENUE_ADMIN_PASSWORD") {
                Ok(password) if !password.is_empty() => password,
                _ => {
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let state = build_state(settings).await?;
            let admin = crate::users::routes::create_admin(&state, &email, &name, password)
                .await
                .map_err(|err| anyhow::anyhow!("{err}"))?;
            println!("created admin {} ({})", admin.email, admin.id);
            Ok(())
        }
    }
}
