//! A small Markdown report builder for run directories (`report.md`).

use std::path::{Path, PathBuf};

use crate::error::{EvalError, Result};
use crate::summary::EvalSummary;

/// The report's file name inside a run directory.
pub const REPORT_FILE: &str = "report.md";

#[derive(Debug, Clone, PartialEq)]
enum Block {
    Heading(String),
    Paragraph(String),
    Table(Vec<String>, Vec<Vec<String>>),
    Image(String, String),
}

/// A Markdown document: a `#` title, then `##` headings, paragraphs, tables and image links
/// in the order they were added.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    title: String,
    blocks: Vec<Block>,
}

/// Escapes a table cell: `|` becomes `\|` and line breaks become `<br>`.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace('\n', "<br>")
}

/// A Markdown table (header, `---` separator, one line per row; no trailing newline), cells as
/// given (no escaping): what [`Report`] writes for its tables, and what examples print to the
/// console.
pub fn markdown_table<H: AsRef<str>, C: AsRef<str>>(headers: &[H], rows: &[Vec<C>]) -> String {
    let line = |cells: Vec<&str>| format!("| {} |", cells.join(" | "));
    let mut t = vec![
        line(headers.iter().map(AsRef::as_ref).collect()),
        line(vec!["---"; headers.len()]),
    ];
    t.extend(
        rows.iter()
            .map(|r| line(r.iter().map(AsRef::as_ref).collect())),
    );
    t.join("\n")
}

impl Report {
    /// An empty report with a title.
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            blocks: Vec::new(),
        }
    }

    /// Adds a `##` section heading.
    pub fn heading(&mut self, text: impl Into<String>) -> &mut Self {
        self.blocks.push(Block::Heading(text.into()));
        self
    }

    /// Adds a paragraph (Markdown inside is kept as written).
    pub fn paragraph(&mut self, text: impl Into<String>) -> &mut Self {
        self.blocks.push(Block::Paragraph(text.into()));
        self
    }

    /// Adds a table. Errors on no headers or a row whose length differs from the headers
    /// (naming the row).
    pub fn table(&mut self, headers: &[&str], rows: &[Vec<String>]) -> Result<&mut Self> {
        if headers.is_empty() {
            return Err(EvalError::input(
                "headers",
                "a table needs at least one column",
            ));
        }
        if let Some(i) = rows.iter().position(|r| r.len() != headers.len()) {
            return Err(EvalError::input(
                &format!("rows[{i}]"),
                format!(
                    "has {} cells but there are {} headers",
                    rows[i].len(),
                    headers.len()
                ),
            ));
        }
        self.blocks.push(Block::Table(
            headers.iter().map(|h| cell(h)).collect(),
            rows.iter()
                .map(|r| r.iter().map(|c| cell(c)).collect())
                .collect(),
        ));
        Ok(self)
    }

    /// Adds an image link `![alt](path)`; give `path` relative to the report's directory.
    pub fn image(&mut self, alt: impl Into<String>, path: impl AsRef<Path>) -> &mut Self {
        let p = path
            .as_ref()
            .to_string_lossy()
            .replace('\\', "/")
            .replace(' ', "%20");
        self.blocks.push(Block::Image(alt.into(), p));
        self
    }

    /// Adds a table of [`EvalSummary`]s, one row per named run: gold and proxy (mean ± SE),
    /// k1 and k3 KL, drift perplexity, distinct-1/2, self-BLEU, mean length and `n`.
    pub fn summary_table(&mut self, runs: &[(String, EvalSummary)]) -> Result<&mut Self> {
        let pm = |m: &crate::stats::MeanSe| format!("{:.4} ± {:.4}", m.mean, m.se);
        let opt = |x: Option<f64>| x.map_or("–".to_string(), |v| format!("{v:.4}"));
        let rows: Vec<Vec<String>> = runs
            .iter()
            .map(|(name, s)| {
                vec![
                    name.clone(),
                    pm(&s.gold),
                    s.proxy.as_ref().map_or("–".into(), pm),
                    pm(&s.kl_k1),
                    pm(&s.kl_k3),
                    opt(s.drift_ppl),
                    format!("{:.4}", s.distinct_1),
                    format!("{:.4}", s.distinct_2),
                    opt(s.self_bleu),
                    format!("{:.2}", s.mean_len),
                    s.n.to_string(),
                ]
            })
            .collect();
        self.table(
            &[
                "run",
                "gold",
                "proxy",
                "KL k1",
                "KL k3",
                "drift ppl",
                "distinct-1",
                "distinct-2",
                "self-BLEU",
                "mean len",
                "n",
            ],
            &rows,
        )
    }

    /// The Markdown text: blocks separated by blank lines, ending with a newline.
    pub fn render(&self) -> String {
        let mut parts = vec![format!("# {}", self.title)];
        for b in &self.blocks {
            parts.push(match b {
                Block::Heading(h) => format!("## {h}"),
                Block::Paragraph(p) => p.trim_end().to_string(),
                Block::Image(alt, path) => format!("![{alt}]({path})"),
                Block::Table(headers, rows) => markdown_table(headers, rows),
            });
        }
        parts.join("\n\n") + "\n"
    }

    /// Writes [`Self::render`] to `dir/report.md` (creating `dir`) and returns the path.
    pub fn write(&self, dir: impl AsRef<Path>) -> Result<PathBuf> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| EvalError::io(dir, e))?;
        let path = dir.join(REPORT_FILE);
        std::fs::write(&path, self.render()).map_err(|e| EvalError::io(&path, e))?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::MeanSe;

    #[test]
    fn renders_markdown_exactly() {
        let mut r = Report::new("Run 7");
        r.paragraph("PPO against the *gold* scorer.")
            .heading("Results");
        r.table(
            &["method", "win-rate"],
            &[
                vec!["ppo".into(), "0.52 | 0.01".into()],
                vec!["rlp\nspg".into(), "0.55".into()],
            ],
        )
        .unwrap()
        .image("gold vs KL", "plots/gold kl.svg");
        let want = "# Run 7\n\n\
PPO against the *gold* scorer.\n\n\
## Results\n\n\
| method | win-rate |\n\
| --- | --- |\n\
| ppo | 0.52 \\| 0.01 |\n\
| rlp<br>spg | 0.55 |\n\n\
![gold vs KL](plots/gold%20kl.svg)\n";
        assert_eq!(r.render(), want);
        let d = rlp_core::ScratchDir::new("report").unwrap();
        let p = r.write(d.join("run")).unwrap();
        assert_eq!(p.file_name().unwrap(), REPORT_FILE);
        assert_eq!(std::fs::read_to_string(p).unwrap(), want);
    }

    #[test]
    fn ragged_tables_are_errors_and_summaries_tabulate() {
        let mut r = Report::new("t");
        let e = r
            .table(&["a", "b"], &[vec!["1".into()]])
            .unwrap_err()
            .to_string();
        assert!(e.contains("rows[0]") && e.contains("1 cells"), "{e}");
        assert!(r.table(&[], &[]).is_err());
        let m = MeanSe {
            mean: 0.5,
            se: 0.01,
            n: 10,
        };
        let s = EvalSummary {
            n: 10,
            prompts: 5,
            gold: m,
            proxy: None,
            kl_k1: m,
            kl_k3: m,
            drift_ppl: Some(12.0),
            distinct_1: 0.3,
            distinct_2: 0.6,
            self_bleu: None,
            mean_len: 7.25,
            finished_frac: 1.0,
        };
        r.summary_table(&[("ppo".into(), s)]).unwrap();
        let md = r.render();
        assert!(md.contains("| run | gold | proxy |"), "{md}");
        assert!(md.contains("| ppo | 0.5000 ± 0.0100 | – | 0.5000 ± 0.0100 | 0.5000 ± 0.0100 | 12.0000 | 0.3000 | 0.6000 | – | 7.25 | 10 |"), "{md}");
    }
}
