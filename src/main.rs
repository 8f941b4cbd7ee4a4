//! The `rlp` command line (its verbs live in `cli/`).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let session = match data_parallel::start() {
        Ok(session) => session,
        Err(e) => {
            eprintln!("error: {}", describe(&e));
            return ExitCode::FAILURE;
        }
    };
    match cli::run(cli::Cli::parse()) {
        Ok(()) => {
            drop(session);
            ExitCode::SUCCESS
        }
        Err(e) => {
            let group = rlp_core::parallel::world();
            if group.size() > 1 {
                // The other ranks would wait for this one in their next collective: end them.
                eprintln!(
                    "error (rank {} of {}): {}",
                    group.rank(),
                    group.size(),
                    describe(&e)
                );
                group.abort(1);
            }
            eprintln!("error: {}", describe(&e));
            ExitCode::FAILURE
        }
    }
}

/// Joining the data-parallel group an MPI launcher started this process in (see
/// docs/distributed.md).
#[cfg(feature = "mpi")]
mod data_parallel {
    pub use rlp_train::mpi_world::MpiSession as Session;

    /// Joins the launcher's MPI job, if any; ranks other than 0 then print nothing on stdout
    /// (rank 0 reports for the group; errors still reach stderr).
    pub fn start() -> anyhow::Result<Option<Session>> {
        let session = rlp_train::mpi_world::start()?;
        if !rlp_core::parallel::is_writer() {
            let null = std::fs::OpenOptions::new().write(true).open("/dev/null")?;
            // SAFETY: dup2 on two valid descriptors; stdout's Rust handle keeps working and
            // now writes to /dev/null.
            let rc = unsafe { libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), 1) };
            if rc < 0 {
                anyhow::bail!("silencing stdout: {}", std::io::Error::last_os_error());
            }
        }
        Ok(session)
    }
}

/// Without the `mpi` feature: refuse to run as one of several copies a launcher started, each
/// of which would train alone and write the same files.
#[cfg(not(feature = "mpi"))]
mod data_parallel {
    /// Nothing to hold.
    pub struct Session;

    /// An error when an MPI launcher started more than one copy of this binary.
    pub fn start() -> anyhow::Result<Option<Session>> {
        rlp_core::parallel::refuse_without_mpi(
            rlp_core::parallel::launcher_size(),
            "rebuild rlp with `cargo build --release --features mpi` (docs/distributed.md)",
        )?;
        Ok(None)
    }
}

/// The error and its causes joined by `: `, as anyhow's `{:#}` does, but each once: a cause
/// whose text its parent's message already ends with (an I/O error that a library error quotes
/// as `{path}: {source}` and also chains as its source) is not repeated.
fn describe(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}
