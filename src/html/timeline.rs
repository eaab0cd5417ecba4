//! The timeline as inline SVG: simulated time on x, a track for the job's
//! states and failovers, one for checkpoints, one for sink transactions,
//! then one lane per host with its fault bands and event marks, and a
//! vertical line at each moment a violation refers to.
//!
//! Every element that stands for something carries a `class` and `data-*`
//! attributes (`class="fault" data-fault="0" data-kind="crash_restart"
//! data-host="taskmanager-2"`) and a `<title>` child, the hover text; the
//! browser test and a person's inspector read the same attributes. Colours
//! are the page's CSS, keyed on those classes. Every SVG element is written
//! with an end tag (`<rect ...></rect>`): inline in HTML, an SVG start tag
//! without one would swallow the elements after it.

use super::intervals::{
    CheckpointBar, Ended, EventMark, FaultBand, Fired, Moment, Span, Thinned, Timeline,
};
use maud::{html, Markup};
use std::time::Duration;

/// Width of the whole SVG, in CSS pixels.
pub const WIDTH: f64 = 1200.0;
/// Room for the lane labels, left of the plotting area.
const LABEL: f64 = 150.0;
/// Room right of the plotting area.
const RIGHT: f64 = 20.0;
/// Height of the time axis above the tracks.
const AXIS: f64 = 30.0;
/// Height of a host lane.
const LANE: f64 = 24.0;
/// Height of the job track.
const JOB: f64 = 30.0;
/// Height of one row of checkpoint bars.
const CHECKPOINT_ROW: f64 = 10.0;
/// Height of one row of transaction marks.
const TXN_ROW: f64 = 8.0;
/// Space below the lanes, for the axis title.
const BOTTOM: f64 = 34.0;
/// The narrowest anything is drawn: an instant is this wide.
const MIN_WIDTH: f64 = 2.0;
/// At most this many ticks on the time axis.
const MAX_TICKS: f64 = 12.0;

/// Maps simulated time to x.
#[derive(Clone, Copy)]
struct Scale {
    /// Seconds at the right edge (never zero).
    end: f64,
}

impl Scale {
    fn x(self, t: Duration) -> f64 {
        LABEL + (t.as_secs_f64() / self.end).min(1.0) * (WIDTH - LABEL - RIGHT)
    }

    /// The left edge and width of `span`, at least [`MIN_WIDTH`] wide.
    fn span(self, span: Span) -> (f64, f64) {
        let (a, b) = (self.x(span.start), self.x(span.end));
        (a, (b - a).max(MIN_WIDTH))
    }
}

/// A coordinate, to a tenth of a pixel (enough, and the page stays small).
fn px(v: f64) -> String {
    format!("{v:.1}")
}

/// Simulated time as the trace writes it: `1.234 s`.
pub fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

/// The tick spacing, in seconds, that puts at most [`MAX_TICKS`] ticks on
/// an axis `end` seconds long.
pub fn tick_step(end: f64) -> f64 {
    const STEPS: [f64; 16] = [
        0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0,
    ];
    (STEPS.iter().copied())
        .find(|step| end / step <= MAX_TICKS)
        .unwrap_or(600.0 * (end / 600.0 / MAX_TICKS).ceil().max(1.0))
}

/// A tick's label: `0.25`, `1`, `120`.
fn tick_label(t: f64) -> String {
    let s = format!("{t:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Vertical layout: where each track and lane starts.
struct Layout {
    job: f64,
    checkpoints: f64,
    txns: f64,
    lanes: f64,
    bottom: f64,
}

impl Layout {
    fn of(lanes: usize) -> Layout {
        let job = AXIS;
        let checkpoints = job + JOB;
        let txns = checkpoints + 6.0 + super::intervals::CHECKPOINT_ROWS as f64 * CHECKPOINT_ROW;
        let first_lane = txns + 6.0 + 3.0 * TXN_ROW;
        let bottom = first_lane + lanes as f64 * LANE;
        Layout {
            job,
            checkpoints,
            txns,
            lanes: first_lane,
            bottom,
        }
    }

    fn height(&self) -> f64 {
        self.bottom + BOTTOM
    }
}

/// The timeline's SVG.
pub fn svg(t: &Timeline) -> Markup {
    let scale = Scale {
        end: t.end.as_secs_f64().max(0.001),
    };
    let layout = Layout::of(t.lanes.len());
    let height = layout.height();
    html! {
        svg.timeline xmlns="http://www.w3.org/2000/svg" width=(px(WIDTH)) height=(px(height))
            viewBox=(format!("0 0 {} {}", px(WIDTH), px(height)))
            role="img" aria-label="Timeline of the run in simulated time" {
            (axis(scale, &layout))
            (job_track(t, scale, &layout))
            (checkpoint_track(t, scale, &layout))
            (txn_track(t, scale, &layout))
            @for (i, host) in t.lanes.iter().enumerate() {
                (lane(t, host, layout.lanes + i as f64 * LANE, i, scale))
            }
            (failover_lines(t, scale, &layout))
            @for m in &t.moments.shown {
                (moment(m, scale, &layout))
            }
        }
    }
}

fn axis(scale: Scale, layout: &Layout) -> Markup {
    let step = tick_step(scale.end);
    let ticks = (scale.end / step).floor() as u64;
    let bottom = layout.bottom;
    html! {
        g.axis {
            @for k in 0..=ticks {
                @let t = k as f64 * step;
                @let x = px(scale.x(Duration::from_secs_f64(t)));
                line.grid x1=(x) x2=(x) y1=(px(AXIS - 4.0)) y2=(px(bottom)) {}
                text.tick x=(x) y=(px(AXIS - 8.0)) text-anchor="middle" { (tick_label(t)) }
            }
            text.axis-title x=(px((LABEL + WIDTH - RIGHT) / 2.0)) y=(px(bottom + 24.0))
                text-anchor="middle" { "simulated time (s)" }
        }
    }
}

fn track_label(y: f64, h: f64, text: &str) -> Markup {
    html! {
        text.label x=(px(LABEL - 8.0)) y=(px(y + h / 2.0 + 4.0)) text-anchor="end" { (text) }
    }
}

fn job_track(t: &Timeline, scale: Scale, layout: &Layout) -> Markup {
    let y = layout.job;
    html! {
        g.track data-track="job" {
            rect.track-bg x=(px(LABEL)) y=(px(y)) width=(px(WIDTH - LABEL - RIGHT)) height=(px(JOB)) {}
            (track_label(y, JOB, "job"))
            @for s in &t.job.shown {
                @let (x, w) = scale.span(s.span);
                rect.job-state data-state=(s.state) data-epoch=[s.epoch]
                    x=(px(x)) y=(px(y + 3.0)) width=(px(w)) height=(px(12.0)) {
                    title {
                        (s.state)
                        @if let Some(e) = s.epoch { " (attempt " (e) ")" }
                        @if let Some(r) = &s.reason { ": " (r) }
                        " from " (secs(s.span.start)) " to " (secs(s.span.end))
                    }
                }
            }
            @for f in &t.failovers.shown {
                @let (x, w) = scale.span(f.restart);
                rect.restart-delay data-epoch=(f.epoch) data-delay-ms=[f.delay_ms]
                    x=(px(x)) y=(px(y + 18.0)) width=(px(w)) height=(px(8.0)) {
                    title {
                        "restart delay before attempt " (f.epoch) ": failed over at "
                        (secs(f.restart.start))
                        @if f.deployed { ", tasks deployed again at " (secs(f.restart.end)) }
                        @else if f.replaced { ", replaced by another failover at " (secs(f.restart.end)) }
                        @else { ", tasks never deployed again" }
                        @if let Some(d) = f.delay_ms { " (the strategy's delay: " (d) " ms)" }
                    }
                }
            }
        }
    }
}

/// The failovers as lines across every track and lane, drawn over them.
fn failover_lines(t: &Timeline, scale: Scale, layout: &Layout) -> Markup {
    html! {
        @for f in &t.failovers.shown {
            @let x = px(scale.x(f.at));
            line.failover data-epoch=(f.epoch) x1=(x) x2=(x) y1=(px(layout.job)) y2=(px(layout.bottom)) {
                title {
                    "failover at " (secs(f.at)) " by " (f.host) ", restarting as attempt "
                    (f.epoch) ": " (f.cause)
                }
            }
        }
    }
}

fn checkpoint_title(b: &CheckpointBar) -> String {
    let what = b.savepoint.unwrap_or("checkpoint");
    let mut s = format!(
        "{what} {} (attempt {}, {}) triggered at {}, ",
        b.checkpoint,
        b.epoch,
        b.host,
        secs(b.span.start)
    );
    s.push_str(&match b.outcome {
        super::intervals::Outcome::Completed => format!("completed at {}", secs(b.span.end)),
        super::intervals::Outcome::Aborted => format!(
            "aborted at {}: {}",
            secs(b.span.end),
            b.reason.as_deref().unwrap_or("")
        ),
        super::intervals::Outcome::Unfinished => {
            format!("neither completed nor aborted by {}", secs(b.span.end))
        }
    });
    if !b.offsets.is_empty() {
        let offsets: Vec<String> = b.offsets.iter().map(u64::to_string).collect();
        s.push_str(&format!("; source offsets [{}]", offsets.join(", ")));
    }
    if b.restored {
        s.push_str("; restored later");
    }
    s
}

fn checkpoint_track(t: &Timeline, scale: Scale, layout: &Layout) -> Markup {
    let y = layout.checkpoints;
    let h = layout.txns - y;
    html! {
        g.track data-track="checkpoints" {
            rect.track-bg x=(px(LABEL)) y=(px(y)) width=(px(WIDTH - LABEL - RIGHT)) height=(px(h)) {}
            (track_label(y, h, "checkpoints"))
            @for b in &t.checkpoints.shown {
                @let (x, w) = scale.span(b.span);
                @let class = format!(
                    "checkpoint {}{}{}",
                    b.outcome.class(),
                    if b.savepoint.is_some() { " savepoint" } else { "" },
                    if b.restored { " was-restored" } else { "" },
                );
                rect class=(class) data-checkpoint=(b.checkpoint) data-epoch=(b.epoch)
                    data-savepoint=[b.savepoint]
                    x=(px(x)) y=(px(y + 3.0 + b.row as f64 * CHECKPOINT_ROW))
                    width=(px(w)) height=(px(CHECKPOINT_ROW - 2.0)) {
                    title { (checkpoint_title(b)) }
                }
            }
            @for r in &t.restores.shown {
                @let x = scale.x(r.at);
                @if let Some(done) = r.completed_at {
                    line.restore-link x1=(px(scale.x(done))) x2=(px(x))
                        y1=(px(y + h / 2.0)) y2=(px(y + h / 2.0)) {}
                }
                @let (cy, d) = (y + h / 2.0, 5.0);
                polygon.restored data-checkpoint=(r.checkpoint) data-epoch=(r.epoch)
                    points=(format!("{},{} {},{} {},{} {},{}",
                        px(x), px(cy - d), px(x + d), px(cy), px(x), px(cy + d), px(x - d), px(cy))) {
                    title {
                        "attempt " (r.epoch) " deployed at " (secs(r.at)) ", restoring checkpoint "
                        (r.checkpoint)
                        @if let Some(done) = r.completed_at { " (completed at " (secs(done)) ")" }
                    }
                }
            }
        }
    }
}

fn txn_track(t: &Timeline, scale: Scale, layout: &Layout) -> Markup {
    let y = layout.txns;
    let h = layout.lanes - y;
    html! {
        g.track data-track="transactions" {
            rect.track-bg x=(px(LABEL)) y=(px(y)) width=(px(WIDTH - LABEL - RIGHT)) height=(px(h)) {}
            (track_label(y, h, "transactions"))
            @for m in &t.txns.shown {
                @let (class, row) = m.step.class_and_row();
                rect class=(format!("txn {class}")) data-txn=(m.txn.to_string())
                    x=(px(scale.x(m.at) - MIN_WIDTH / 2.0)) y=(px(y + 3.0 + row as f64 * TXN_ROW))
                    width=(px(MIN_WIDTH)) height=(px(TXN_ROW - 1.0)) {
                    title {
                        (m.txn.to_string()) " " (class) " at " (secs(m.at))
                        @if let Some(n) = m.records { " (" (n) " records)" }
                    }
                }
            }
        }
    }
}

fn fault_title(b: &FaultBand) -> String {
    let when = match b.fired {
        Fired::Never => "never fired".to_owned(),
        Fired::Recorded | Fired::FromTrace => {
            let mut s = format!("fired at {}", secs(b.span.start));
            if b.fired == Fired::FromTrace {
                s.push_str(" (from the trace: the run broke)");
            }
            match b.ended {
                Ended::Instant => {}
                Ended::Traced => s.push_str(&format!(", ended at {}", secs(b.span.end))),
                Ended::Nominal => s.push_str(&format!(
                    ", ended at {} (untraced: nothing was left to heal)",
                    secs(b.span.end)
                )),
                Ended::Open => s.push_str(", had not ended when the run ended"),
            }
            s
        }
    };
    format!("fault[{}] {}: {when}", b.index, b.text)
}

fn lane(t: &Timeline, host: &str, y: f64, i: usize, scale: Scale) -> Markup {
    let bands = t.faults.iter().filter(|b| b.host == host);
    let echoes = t
        .faults
        .iter()
        .filter(|b| b.peer.as_deref() == Some(host) && b.fired != Fired::Never && b.host != host);
    let marks = t.events.shown.iter().filter(|m| m.host == host);
    html! {
        g.lane data-host=(host) {
            rect.lane-bg.odd[i % 2 == 1] x=(px(LABEL)) y=(px(y)) width=(px(WIDTH - LABEL - RIGHT))
                height=(px(LANE)) {}
            (track_label(y, LANE, host))
            @for b in echoes {
                @let (x, w) = scale.span(b.span);
                rect.fault-echo data-fault=(b.index) data-kind=(b.kind)
                    x=(px(x)) y=(px(y + 8.0)) width=(px(w)) height=(px(LANE - 16.0)) {
                    title { "the other end of fault[" (b.index) "] (" (b.kind) " " (b.host) ")" }
                }
            }
            @for b in bands {
                @let (x, w) = scale.span(b.span);
                @let h = (LANE - 6.0) / b.rows.max(1) as f64;
                rect.fault.unfired[b.fired == Fired::Never].open[b.ended == Ended::Open]
                    id=(format!("fault-{}", b.index)) data-fault=(b.index) data-kind=(b.kind)
                    data-host=(b.host) data-peer=[b.peer.as_deref()]
                    x=(px(x)) y=(px(y + 3.0 + b.row as f64 * h)) width=(px(w)) height=(px(h)) {
                    title { (fault_title(b)) }
                }
            }
            @for m in marks {
                (event_mark(m, y, scale))
            }
        }
    }
}

fn event_mark(m: &EventMark, y: f64, scale: Scale) -> Markup {
    html! {
        circle.event data-event=(m.event) cx=(px(scale.x(m.at))) cy=(px(y + LANE / 2.0)) r="3" {
            title { (m.line) }
        }
    }
}

fn moment(m: &Moment, scale: Scale, layout: &Layout) -> Markup {
    let x = px(scale.x(m.at));
    let n = m.violations.len();
    html! {
        g.violation id=(m.id()) data-at-ms=(m.at.as_millis()) {
            line x1=(x) x2=(x) y1=(px(AXIS - 4.0)) y2=(px(layout.bottom)) {}
            title {
                (n) " violation" @if n != 1 { "s" } " at " (secs(m.at)) ": "
                @for (k, v) in m.violations.iter().enumerate() {
                    @if k > 0 { ", " }
                    "#" (v + 1)
                }
            }
        }
    }
}

/// What the timeline left out, one sentence per thinned list; empty when
/// everything is drawn.
pub fn left_out(t: &Timeline) -> Vec<String> {
    fn note<T>(list: &Thinned<T>, what: &str, how: &str) -> Option<String> {
        let n = list.left_out();
        (n > 0).then(|| {
            format!(
                "{n} of {} {what} not drawn ({how}).",
                list.total,
                what = what,
                how = how
            )
        })
    }
    use super::intervals as limits;
    [
        note(
            &t.checkpoints,
            "checkpoints",
            &format!(
                "at most {}: aborted, unfinished, restored and savepoints first, completed ones \
                 thinned evenly",
                limits::MAX_CHECKPOINT_BARS
            ),
        ),
        note(
            &t.txns,
            "transaction steps",
            &format!(
                "at most {}: aborts, timeouts and losses first, pre-commits and commits thinned \
                 evenly",
                limits::MAX_TXN_MARKS
            ),
        ),
        note(
            &t.events,
            "event marks",
            &format!(
                "at most {}: failures and lifecycle steps first, the rest thinned evenly",
                limits::MAX_EVENT_MARKS
            ),
        ),
        note(
            &t.failovers,
            "failovers",
            &format!("at most {}, thinned evenly", limits::MAX_FAILOVERS),
        ),
        note(
            &t.restores,
            "restores",
            &format!("at most {}, thinned evenly", limits::MAX_FAILOVERS),
        ),
        note(
            &t.job,
            "job states",
            &format!("at most {}, thinned evenly", limits::MAX_JOB_STATES),
        ),
        note(
            &t.moments,
            "violation moments",
            &format!("the first {} in time", limits::MAX_VIOLATION_MARKS),
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_at_most_twelve_and_round() {
        for (end, step) in [
            (0.05, 0.01),
            (1.91, 0.2),
            (7.4, 1.0),
            (100.9, 10.0),
            (3600.0, 300.0),
            (36000.0, 3000.0),
        ] {
            assert_eq!(tick_step(end), step, "{end}");
            assert!(end / tick_step(end) <= MAX_TICKS, "{end}");
        }
        assert_eq!(tick_label(0.25), "0.25");
        assert_eq!(tick_label(2.0), "2");
        assert_eq!(tick_label(0.2), "0.2");
    }
}
