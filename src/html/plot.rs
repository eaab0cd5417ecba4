//! The figure of source offsets and output over time, drawn with plotters'
//! SVG backend. Without plotters' default features it needs no system
//! font library: text is SVG `<text>`, its size estimated, and the browser
//! picks the font.
//!
//! [`figure`] reads the lines out of the trace (pure, tested apart);
//! [`svg`] draws them.

use super::intervals::{thin, Thinned, MAX_FAILOVERS};
use flinch_engine::event::Event;
use flinch_engine::record::TxnId;
use flinch_harness::seed::SeedReport;
use flinch_harness::trace::What;
use plotters::prelude::*;
use std::collections::BTreeSet;
use std::time::Duration;

/// Points drawn at most per line of the figure (before the steps are
/// drawn, which doubles them): beyond it the line's points are thinned
/// evenly, its first and last kept, and the page says so.
pub const MAX_PLOT_POINTS: usize = 400;
/// The figure's size, in CSS pixels.
pub const SIZE: (u32, u32) = (1200, 340);

/// One line of the figure: records (y) over simulated time (x), a step
/// that holds its value until the next point.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Its legend.
    pub name: &'static str,
    /// What it means, for the page.
    pub meaning: &'static str,
    /// (when, records), in time order.
    pub points: Thinned<(Duration, u64)>,
}

/// The figure's data.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// Checkpointed input, pre-committed output, committed output.
    pub lines: Vec<Line>,
    /// The run's input records: a horizontal line.
    pub input: u64,
    /// The end of the x axis.
    pub end: Duration,
    /// When the job failed over: vertical lines.
    pub failovers: Thinned<Duration>,
}

/// What each line means (the page prints these beside the figure).
pub const CHECKPOINTED: &str = "checkpointed input: the input records the sources had read at \
     each completed checkpoint (the sum over partitions of the offsets in checkpoint_completed). \
     A failover rewinds the sources to the restored checkpoint's offsets; they read on from there.";
/// See [`CHECKPOINTED`].
pub const PRE_COMMITTED: &str = "pre-committed output: output records the sink pre-committed \
     so far (txn_pre_committed, each transaction counted once), whether later committed or \
     aborted.";
/// See [`CHECKPOINTED`].
pub const COMMITTED: &str = "committed output: output records the sink committed so far \
     (txn_committed, each transaction counted once): what a reader sees. A job that writes one \
     output record per input record (keyed-count) ends on the input line; the gap between \
     pre-committed and committed is output that was aborted and written again.";

/// The figure of one run.
pub fn figure(report: &SeedReport) -> Figure {
    let mut checkpointed = vec![(Duration::ZERO, 0)];
    let mut pre_committed = vec![(Duration::ZERO, 0)];
    let mut committed = vec![(Duration::ZERO, 0)];
    let mut seen_pre: BTreeSet<TxnId> = BTreeSet::new();
    let mut seen_commit: BTreeSet<TxnId> = BTreeSet::new();
    let mut failovers = Vec::new();
    let add = |line: &mut Vec<(Duration, u64)>, at: Duration, n: u64| {
        let last = line.last().map_or(0, |&(_, v)| v);
        line.push((at, last.saturating_add(n)));
    };
    for e in &report.trace {
        let What::Engine(event) = &e.what else {
            continue;
        };
        match event {
            Event::CheckpointCompleted { offsets, .. } => {
                checkpointed.push((e.at, offsets.iter().sum()));
            }
            Event::TxnPreCommitted { txn, records } if seen_pre.insert(*txn) => {
                add(&mut pre_committed, e.at, *records);
            }
            Event::TxnCommitted { txn, records } if seen_commit.insert(*txn) => {
                add(&mut committed, e.at, *records);
            }
            Event::Failover { .. } => failovers.push(e.at),
            _ => {}
        }
    }
    let end = (report.trace.last().map(|e| e.at))
        .unwrap_or_default()
        .max(report.sim_time);
    let line = |name, meaning, points| Line {
        name,
        meaning,
        points: thin(points, MAX_PLOT_POINTS),
    };
    Figure {
        lines: vec![
            line("checkpointed input", CHECKPOINTED, checkpointed),
            line("pre-committed output", PRE_COMMITTED, pre_committed),
            line("committed output", COMMITTED, committed),
        ],
        input: report.records,
        end,
        failovers: thin(failovers, MAX_FAILOVERS),
    }
}

/// A line's points as a step: each value holds until the next point, and
/// the last until `end`; in seconds and records.
fn steps(points: &[(Duration, u64)], end: Duration) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 2 + 1);
    for (i, &(at, v)) in points.iter().enumerate() {
        if i > 0 {
            out.push((at.as_secs_f64(), points[i - 1].1 as f64));
        }
        out.push((at.as_secs_f64(), v as f64));
    }
    if let Some(&(at, v)) = points.last() {
        if at < end {
            out.push((end.as_secs_f64(), v as f64));
        }
    }
    out
}

/// Line colours, in the order of [`Figure::lines`].
const COLOURS: [RGBColor; 3] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
];

/// The figure as an SVG document (`<svg ...>...</svg>`), to inline.
///
/// # Errors
/// plotters' own, as text (drawing into a `String` does no IO, so none is
/// expected).
pub fn svg(figure: &Figure) -> Result<String, String> {
    let mut out = String::new();
    draw(figure, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

fn draw(figure: &Figure, out: &mut String) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let root = SVGBackend::with_string(out, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let x_end = figure.end.as_secs_f64().max(0.001);
    let top = (figure.lines.iter())
        .flat_map(|l| l.points.shown.iter().map(|&(_, v)| v))
        .chain([figure.input, 1])
        .max()
        .unwrap_or(1) as f64
        * 1.05;
    // Enough decimals to tell ticks apart, no more.
    let decimals = match x_end {
        e if e >= 20.0 => 0,
        e if e >= 2.0 => 1,
        _ => 2,
    };
    let mut chart = ChartBuilder::on(&root)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..x_end, 0f64..top)?;
    chart
        .configure_mesh()
        .x_desc("simulated time (s)")
        .y_desc("records")
        .x_label_formatter(&|x| format!("{x:.decimals$}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let grey = RGBColor(150, 150, 150);
    let red = RGBColor(214, 39, 40);
    for &at in &figure.failovers.shown {
        let x = at.as_secs_f64();
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(x, 0.0), (x, top)],
            red.mix(0.5),
        )))?;
    }
    if let Some(&at) = figure.failovers.shown.first() {
        let x = at.as_secs_f64();
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x, 0.0), (x, 0.0)],
                red.mix(0.5),
            )))?
            .label("failover")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], red.mix(0.5)));
    }
    let input = figure.input as f64;
    chart
        .draw_series(DashedLineSeries::new(
            vec![(0.0, input), (x_end, input)],
            6,
            4,
            grey.stroke_width(1),
        ))?
        .label("input records")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], grey));
    for (line, colour) in figure.lines.iter().zip(COLOURS) {
        chart
            .draw_series(LineSeries::new(
                steps(&line.points.shown, figure.end),
                colour.stroke_width(2),
            ))?
            .label(line.name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(grey)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_holds_each_value_until_the_next_point_and_the_end() {
        let ms = Duration::from_millis;
        assert_eq!(
            steps(&[(ms(0), 0), (ms(500), 10), (ms(1000), 30)], ms(2000)),
            [
                (0.0, 0.0),
                (0.5, 0.0),
                (0.5, 10.0),
                (1.0, 10.0),
                (1.0, 30.0),
                (2.0, 30.0)
            ]
        );
        assert!(steps(&[], ms(5)).is_empty());
    }
}
