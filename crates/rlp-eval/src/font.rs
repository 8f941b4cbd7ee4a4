//! The font plot text is drawn with, found on the system at run time (no font is shipped and
//! plotters' `ttf`/font-kit path, which needs fontconfig, is not used).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::error::{EvalError, Result};

/// Environment variable naming a `.ttf`/`.otf` file to use before the system paths.
pub const FONT_ENV: &str = "RLP_PLOT_FONT";

/// System paths tried in order: DejaVu Sans (Debian/Ubuntu `fonts-dejavu-core`, Arch,
/// Fedora), Liberation Sans, then macOS and Windows defaults.
pub const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "/Library/Fonts/Arial.ttf",
    "C:\\Windows\\Fonts\\arial.ttf",
];

/// The candidate font files: `$RLP_PLOT_FONT` if set, then [`FONT_PATHS`].
pub fn font_candidates() -> Vec<PathBuf> {
    std::env::var_os(FONT_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .into_iter()
        .chain(FONT_PATHS.iter().map(PathBuf::from))
        .collect()
}

/// The first candidate that reads as a font plotters can use, with its bytes; an
/// [`EvalError::FontNotFound`] naming every path tried when none does.
pub fn find_font(candidates: &[PathBuf]) -> Result<(PathBuf, &'static [u8])> {
    for path in candidates {
        if let Some(bytes) = read_font(path) {
            return Ok((path.clone(), bytes));
        }
    }
    Err(EvalError::FontNotFound {
        searched: candidates.to_vec(),
    })
}

fn read_font(path: &Path) -> Option<&'static [u8]> {
    let bytes = std::fs::read(path).ok()?;
    // plotters keeps registered fonts for the life of the process and wants `'static` bytes:
    // leak the one file, once (see `ensure_font`).
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font("sans-serif", plotters::style::FontStyle::Normal, bytes)
        .ok()
        .map(|_| bytes)
}

/// Registers the first usable candidate as plotters' `sans-serif` font, once per process;
/// later calls return the same outcome.
pub fn ensure_font() -> Result<PathBuf> {
    static FONT: OnceLock<std::result::Result<PathBuf, Vec<PathBuf>>> = OnceLock::new();
    let found = FONT.get_or_init(|| {
        let c = font_candidates();
        find_font(&c).map(|(p, _)| p).map_err(|_| c)
    });
    found
        .clone()
        .map_err(|searched| EvalError::FontNotFound { searched })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_font_is_an_error_naming_the_paths() {
        let c = vec![
            PathBuf::from("/nonexistent/a.ttf"),
            PathBuf::from("/nonexistent/b.ttf"),
        ];
        let e = find_font(&c).unwrap_err().to_string();
        assert!(
            e.contains("/nonexistent/a.ttf") && e.contains("/nonexistent/b.ttf"),
            "{e}"
        );
        assert!(
            e.contains("RLP_PLOT_FONT") && e.contains("fonts-dejavu-core"),
            "{e}"
        );
        // A file that is not a font is passed over, not a panic.
        let d = rlp_core::ScratchDir::new("font").unwrap();
        let junk = d.join("junk.ttf");
        std::fs::write(&junk, b"not a font").unwrap();
        assert!(find_font(&[junk]).is_err());
    }
}
