//! `rlp fetch`: download, verify and unpack a pretrained artifact into the cache.

use std::path::PathBuf;

use anyhow::Result;

/// The arguments of `rlp fetch`.
#[derive(clap::Args)]
pub(crate) struct FetchArgs {
    /// Artifact name: smollm2, minilm or profanity.
    pub(crate) name: String,
    /// Cache root (default: $RLP_CACHE, else $XDG_CACHE_HOME/rlp, else ~/.cache/rlp).
    #[arg(long)]
    pub(crate) cache: Option<PathBuf>,
}

/// Runs `rlp fetch`.
pub(crate) fn run(a: FetchArgs) -> Result<()> {
    let FetchArgs { name, cache } = a;
    if name == "profanity" {
        let file =
            rlp::tasks::fetch::fetch_profanity(cache.as_deref()).map_err(anyhow::Error::msg)?;
        println!("{}", file.display());
        return Ok(());
    }
    let dir = rlp::models::fetch::fetch(&name, cache.as_deref())?;
    println!("{}", dir.display());
    Ok(())
}
