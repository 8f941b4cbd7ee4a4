//! Line plots written as SVG and PNG with plotters: "gold and proxy vs KL" and "reward vs
//! drift" curves. Text uses a system font found at run time ([`crate::font`]).

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use crate::best_of_n::BonPoint;
use crate::error::{EvalError, Result};
use crate::font::ensure_font;

/// Width and height in pixels of a saved plot.
pub const DEFAULT_SIZE: (u32, u32) = (800, 500);

/// Series colours (matplotlib's tab10).
const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// One named line of `(x, y)` points, drawn in the given order with a marker on each point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// The points.
    pub points: Vec<(f64, f64)>,
}

/// A line plot of one or more series.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LinePlot {
    /// Title above the plot.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// The lines.
    pub series: Vec<Series>,
}

impl LinePlot {
    /// An empty plot with a title and axis labels.
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            series: Vec::new(),
        }
    }

    /// Adds a series.
    pub fn with_series(mut self, name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        self.series.push(Series {
            name: name.into(),
            points,
        });
        self
    }

    /// "Gold and proxy vs KL" from a best-of-n curve: x = KL (nats), one series per score.
    pub fn gold_proxy_vs_kl(title: impl Into<String>, points: &[BonPoint]) -> Self {
        Self::new(title, "KL(π ‖ π_init) (nats)", "score")
            .with_series("gold", points.iter().map(|p| (p.kl, p.gold)).collect())
            .with_series("proxy", points.iter().map(|p| (p.kl, p.proxy)).collect())
    }

    /// "Reward vs drift": x = perplexity on the drift corpus, y = gold reward; one series per
    /// named run (e.g. one per method or KL coefficient).
    pub fn reward_vs_drift(title: impl Into<String>, runs: &[(String, Vec<(f64, f64)>)]) -> Self {
        let mut p = Self::new(title, "drift (perplexity on held-out text)", "gold reward");
        for (name, pts) in runs {
            p = p.with_series(name.clone(), pts.clone());
        }
        p
    }

    /// The axis ranges, padded by 5%; errors on no points or a non-finite one.
    fn ranges(&self) -> Result<((f64, f64), (f64, f64))> {
        let pts: Vec<(f64, f64)> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .collect();
        if pts.is_empty() {
            return Err(EvalError::input("series", "the plot has no points"));
        }
        if let Some(s) = self.series.iter().find(|s| {
            s.points
                .iter()
                .any(|(x, y)| !x.is_finite() || !y.is_finite())
        }) {
            return Err(EvalError::input(
                "series",
                format!("series `{}` has a non-finite point", s.name),
            ));
        }
        let span = |vals: &mut dyn Iterator<Item = f64>| {
            let (lo, hi) = vals.fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(v), h.max(v)));
            let pad = if hi > lo {
                0.05 * (hi - lo)
            } else {
                0.5 * lo.abs().max(1.0)
            };
            (lo - pad, hi + pad)
        };
        Ok((
            span(&mut pts.iter().map(|p| p.0)),
            span(&mut pts.iter().map(|p| p.1)),
        ))
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        let ((x0, x1), (y0, y1)) = self.ranges().map_err(|e| e.to_string())?;
        let e = |err: DrawingAreaErrorKind<DB::ErrorType>| err.to_string();
        root.fill(&WHITE).map_err(e)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(&self.title, ("sans-serif", 22))
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(e)?;
        for (i, s) in self.series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().copied(),
                    color.stroke_width(2),
                ))
                .map_err(e)?
                .label(s.name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
            chart
                .draw_series(s.points.iter().map(|&p| Circle::new(p, 3, color.filled())))
                .map_err(e)?;
        }
        chart
            .configure_series_labels()
            .label_font(("sans-serif", 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(e)?;
        root.present().map_err(e)
    }

    fn prepare(path: &Path) -> Result<()> {
        ensure_font()?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| EvalError::io(dir, e))?;
        }
        Ok(())
    }

    /// Writes the plot as SVG at [`DEFAULT_SIZE`].
    pub fn save_svg(&self, path: impl AsRef<Path>) -> Result<()> {
        self.save_svg_sized(path, DEFAULT_SIZE)
    }

    /// Writes the plot as SVG at `size` pixels. Errors on no points, non-finite points, no
    /// usable font (naming the paths searched) or a failed write.
    pub fn save_svg_sized(&self, path: impl AsRef<Path>, size: (u32, u32)) -> Result<()> {
        let path = path.as_ref();
        self.ranges()?;
        Self::prepare(path)?;
        self.draw(SVGBackend::new(path, size).into_drawing_area())
            .map_err(|message| EvalError::Plot {
                path: path.into(),
                message,
            })
    }

    /// Writes the plot as PNG at [`DEFAULT_SIZE`] (the file extension picks the encoding:
    /// use `.png`).
    pub fn save_png(&self, path: impl AsRef<Path>) -> Result<()> {
        self.save_png_sized(path, DEFAULT_SIZE)
    }

    /// Writes the plot as PNG at `size` pixels; errors as [`Self::save_svg_sized`].
    pub fn save_png_sized(&self, path: impl AsRef<Path>, size: (u32, u32)) -> Result<()> {
        let path = path.as_ref();
        self.ranges()?;
        Self::prepare(path)?;
        self.draw(BitMapBackend::new(path, size).into_drawing_area())
            .map_err(|message| EvalError::Plot {
                path: path.into(),
                message,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::best_of_n::best_of_n_curve;

    /// Width and height from a PNG's IHDR chunk, after checking the signature.
    fn png_size(bytes: &[u8]) -> (u32, u32) {
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
        assert_eq!(&bytes[12..16], b"IHDR");
        let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        (be(&bytes[16..20]), be(&bytes[20..24]))
    }

    #[test]
    fn writes_svg_and_png() {
        let d = rlp_core::ScratchDir::new("plot").unwrap();
        let proxy = [0.1, 0.5, 0.9, 0.3, 0.7, 0.2, 0.8, 0.4];
        let gold = [0.2, 0.4, 0.3, 0.35, 0.6, 0.1, 0.5, 0.45];
        let curve = best_of_n_curve(&proxy, &gold, &[1, 2, 4, 8]).unwrap();
        let plot = LinePlot::gold_proxy_vs_kl("Best-of-n overoptimisation", &curve);
        plot.save_svg(d.join("bon.svg")).unwrap();
        plot.save_png(d.join("sub/bon.png")).unwrap();
        let svg = std::fs::read_to_string(d.join("bon.svg")).unwrap();
        assert!(
            svg.starts_with("<svg") || svg.contains("<svg"),
            "{}",
            &svg[..100]
        );
        for needle in ["gold", "proxy", "Best-of-n overoptimisation"] {
            assert!(svg.contains(needle), "SVG lacks {needle}");
        }
        let png = std::fs::read(d.join("sub/bon.png")).unwrap();
        assert_eq!(png_size(&png), DEFAULT_SIZE);

        let drift = LinePlot::reward_vs_drift(
            "Reward vs drift",
            &[
                ("ppo".into(), vec![(10.0, 0.5), (12.0, 0.7)]),
                ("elastic reset".into(), vec![(10.5, 0.6)]),
            ],
        );
        drift
            .save_svg_sized(d.join("drift.svg"), (640, 400))
            .unwrap();
        drift
            .save_png_sized(d.join("drift.png"), (640, 400))
            .unwrap();
        assert!(
            std::fs::read_to_string(d.join("drift.svg"))
                .unwrap()
                .contains("elastic reset")
        );
        assert_eq!(
            png_size(&std::fs::read(d.join("drift.png")).unwrap()),
            (640, 400)
        );
        // To look at the plots: RLP_EVAL_PLOT_DIR=/some/dir keeps copies there.
        if let Some(keep) = std::env::var_os("RLP_EVAL_PLOT_DIR") {
            std::fs::create_dir_all(&keep).unwrap();
            for f in ["bon.svg", "sub/bon.png", "drift.svg", "drift.png"] {
                let name = f.replace('/', "_");
                std::fs::copy(d.join(f), std::path::Path::new(&keep).join(name)).unwrap();
            }
        }
    }

    #[test]
    fn empty_or_non_finite_plots_are_errors() {
        let d = rlp_core::ScratchDir::new("plot-bad").unwrap();
        let e = LinePlot::new("t", "x", "y")
            .save_svg(d.join("a.svg"))
            .unwrap_err();
        assert!(e.to_string().contains("no points"), "{e}");
        let p = LinePlot::new("t", "x", "y").with_series("bad", vec![(0.0, f64::NAN)]);
        assert!(
            p.save_png(d.join("a.png"))
                .unwrap_err()
                .to_string()
                .contains("`bad`")
        );
        // A single point (degenerate ranges) still draws.
        LinePlot::new("t", "x", "y")
            .with_series("one", vec![(1.0, 1.0)])
            .save_svg(d.join("one.svg"))
            .unwrap();
    }
}
