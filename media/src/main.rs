//! Entry point: everything happens in [`avenue_media::cli`].

fn main() -> std::process::ExitCode {
    avenue_media::cli::main()
}
