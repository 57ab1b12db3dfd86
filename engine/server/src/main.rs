//! The `ramal` binary: parses the command line and hands over to [`ramal::cli`].

fn main() -> std::process::ExitCode {
    ramal::cli::main()
}
