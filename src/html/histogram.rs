//! Histograms of a sweep: how seeds spread over a per-seed figure (faults,
//! failovers, the longest recovery, the slowest checkpoint). Each seed
//! falls in exactly one bucket, so a histogram's counts add up to the
//! seeds of the sweep: seeds without the figure (no failover, so no
//! recovery time) and seeds without a verdict (timed out) have buckets of
//! their own.
//!
//! [`Histogram`] is the data (tested apart); [`svg`] draws it with
//! plotters, and the page lists the counts beside the figure.

use plotters::prelude::*;
use std::time::Duration;

/// Buckets of values at most, besides the `none` and `no verdict` ones:
/// wider values are grouped into ranges of a round width (1, 2, 5, 10,
/// 20, ...), from the multiple of it at or below the least value.
pub const MAX_BUCKETS: usize = 20;
/// A histogram's size, in CSS pixels.
pub const SIZE: (u32, u32) = (560, 260);

/// One seed's value of a figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// The figure: a count, or simulated milliseconds.
    Of(u64),
    /// The seed has none (no recovery: it never failed over).
    None,
    /// The seed has no verdict: it was stopped by `--timeout`.
    NoVerdict,
}

/// One bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// How the table names it: `3`, `4-7`, `100-199 ms`, `none`, `no verdict`.
    pub label: String,
    /// How the figure's axis names it, short enough not to overlap: the
    /// lower bound of a range (`100`), else the label.
    pub tick: String,
    /// Seeds in it.
    pub count: u64,
}

/// How seeds spread over one figure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Histogram {
    /// For `id` and `data-histogram` attributes: `faults`, `failovers`,
    /// `recovery`, `checkpoint`.
    pub id: &'static str,
    /// Its heading.
    pub title: &'static str,
    /// The x axis's description: what a bucket counts (`faults`, `ms`).
    pub axis: &'static str,
    /// What a seed's value is, for the page.
    pub meaning: &'static str,
    /// Buckets in axis order: values rising, then `none`, then `no
    /// verdict` (each only when some seed is in it).
    pub buckets: Vec<Bucket>,
}

impl Histogram {
    /// A histogram of `values`, one per seed. `axis` says what a value
    /// counts; `unit` is appended to value labels (`" ms"`), or `""` for
    /// counts.
    pub fn of(
        id: &'static str,
        title: &'static str,
        meaning: &'static str,
        (axis, unit): (&'static str, &str),
        values: &[Value],
    ) -> Histogram {
        let of = |v: &Value| match v {
            Value::Of(n) => Some(*n),
            _ => None,
        };
        let min = values.iter().filter_map(of).min();
        let max = values.iter().filter_map(of).max();
        let mut buckets = Vec::new();
        if let (Some(min), Some(max)) = (min, max) {
            let width = round_width(min, max);
            let first = min / width;
            let n = usize::try_from(max / width - first).expect("at most MAX_BUCKETS buckets") + 1;
            let mut counts = vec![0u64; n];
            for x in values.iter().filter_map(of) {
                counts[usize::try_from(x / width - first).expect("within the buckets")] += 1;
            }
            for (i, count) in counts.into_iter().enumerate() {
                let low = (first + i as u64).saturating_mul(width);
                let high = low.saturating_add(width - 1);
                let (label, tick) = match width {
                    1 => (format!("{low}{unit}"), low.to_string()),
                    _ => (format!("{low}-{high}{unit}"), format!("{low}-{high}")),
                };
                // A range too long for its bar's width names its lower bound.
                let tick = if tick.len() <= 5 {
                    tick
                } else {
                    low.to_string()
                };
                buckets.push(Bucket { label, tick, count });
            }
        }
        for (which, label) in [(Value::None, "none"), (Value::NoVerdict, "no verdict")] {
            let count = values.iter().filter(|v| **v == which).count() as u64;
            if count > 0 {
                let (label, tick) = (label.to_string(), label.to_string());
                buckets.push(Bucket { label, tick, count });
            }
        }
        Histogram {
            id,
            title,
            axis,
            meaning,
            buckets,
        }
    }

    /// Seeds counted: the sweep's.
    pub fn total(&self) -> u64 {
        self.buckets.iter().map(|b| b.count).sum()
    }
}

/// The width of buckets for values `min..=max`, buckets starting at a
/// multiple of it: the least of 1, 2 or 5 times a power of ten that makes
/// at most [`MAX_BUCKETS`].
fn round_width(min: u64, max: u64) -> u64 {
    let mut power = 1u64;
    loop {
        for m in [1, 2, 5] {
            let width = power.saturating_mul(m);
            if max / width - min / width < MAX_BUCKETS as u64 {
                return width;
            }
        }
        power = power.saturating_mul(10);
    }
}

/// A [`Duration`] as a [`Value`] in milliseconds.
pub fn millis(d: Option<Duration>) -> Value {
    match d {
        Some(d) => Value::Of(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        None => Value::None,
    }
}

/// The histogram as an SVG document (`<svg ...>...</svg>`), to inline: a
/// bar per bucket, labelled below, the count above each bar.
///
/// # Errors
/// plotters' own, as text (drawing into a `String` does no IO).
pub fn svg(histogram: &Histogram) -> Result<String, String> {
    let mut out = String::new();
    draw(histogram, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

fn draw(h: &Histogram, out: &mut String) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let root = SVGBackend::with_string(out, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let n = h.buckets.len().max(1) as u32;
    let top = h.buckets.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    let top = top + top / 8 + 1;
    let mut chart = ChartBuilder::on(&root)
        .margin(10)
        .x_label_area_size(48)
        .y_label_area_size(48)
        // n segments: 0..n-1 with its last value's segment (0..n would
        // draw one more, empty).
        .build_cartesian_2d((0u32..n - 1).into_segmented(), 0u64..top)?;
    let labels: Vec<&str> = h.buckets.iter().map(|b| b.tick.as_str()).collect();
    let label = |x: &SegmentValue<u32>| match x {
        SegmentValue::CenterOf(i) => (labels.get(*i as usize).copied())
            .unwrap_or_default()
            .to_string(),
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(h.buckets.len().max(1))
        .x_label_formatter(&label)
        .x_desc(h.axis)
        .y_desc("seeds")
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let blue = RGBColor(31, 119, 180);
    // Bars drawn one by one, in bucket order (plotters' own histogram
    // series keeps them in a hash map: its SVG's order would vary).
    chart.draw_series(h.buckets.iter().enumerate().map(|(i, b)| {
        let i = i as u32;
        let mut bar = Rectangle::new(
            [
                (SegmentValue::Exact(i), 0),
                (SegmentValue::Exact(i + 1), b.count),
            ],
            blue.filled(),
        );
        bar.set_margin(0, 0, 4, 4);
        bar
    }))?;
    root.present()?;
    Ok(())
}
