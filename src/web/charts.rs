//! Usage charts as server-rendered SVG: bars per hour or per day, stacked by outcome, drawn on
//! whole pixels (the screenshot suites compare them), with the same numbers as a table for
//! screen readers. No script, no animation; colours come from CSS classes, so a brand applies.

use crate::models::usage::Outcome;
use crate::timefmt;

/// Chart area height in pixels (bars grow up from the baseline).
const PLOT_HEIGHT: i64 = 96;

/// One coloured part of a bar.
pub struct Segment {
    /// Top edge.
    pub y: i64,
    /// Height (at least 1 px for a non-zero count).
    pub height: i64,
    /// `accepted`, `scope`, `address`, `rate`, `expired`.
    pub class: &'static str,
}

/// One bar: an hour or a day.
pub struct Bar {
    /// Left edge.
    pub x: i64,
    /// Its parts, bottom up.
    pub segments: Vec<Segment>,
    /// Hover text: "15 Jan 2026, 09:00 UTC: 120 accepted, 3 refused".
    pub title: String,
}

/// One row of the accessible table.
pub struct Row {
    /// "15 Jan, 09:00" or "15 Jan".
    pub label: String,
    /// Counts by outcome, in `Outcome::ALL` order.
    pub counts: [i64; 5],
    /// Their sum.
    pub total: i64,
}

/// A whole chart.
pub struct Chart {
    /// Element id prefix and test hook: `hourly`, `daily`.
    pub id: &'static str,
    /// "Requests per hour, last 48 hours".
    pub title: &'static str,
    /// SVG width.
    pub width: i64,
    /// SVG height.
    pub height: i64,
    /// Bar width.
    pub bar_width: i64,
    /// The bars.
    pub bars: Vec<Bar>,
    /// The largest bar's total (the top of the scale).
    pub max: i64,
    /// Up to four labels under the axis, evenly spread.
    pub axis: Vec<String>,
    /// Accepted requests over the whole chart.
    pub accepted: i64,
    /// Refused requests over the whole chart.
    pub refused: i64,
    /// The last bucket's total, written out.
    pub last: i64,
    /// The rows of the table.
    pub rows: Vec<Row>,
    /// "85,040 accepted · 12 refused · this hour 2,000".
    pub summary: String,
    /// The top of the scale, written out ("max 4,400 per hour").
    pub max_text: String,
}

impl Chart {
    /// Any request at all.
    pub fn is_empty(&self) -> bool {
        self.accepted + self.refused == 0
    }
}

/// CSS class of an outcome's colour.
pub fn class_of(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Accepted => "accepted",
        Outcome::Scope => "scope",
        Outcome::Address => "address",
        Outcome::RateLimit => "rate",
        Outcome::Expired => "expired",
    }
}

/// How an outcome reads in a legend or table header.
pub fn label_of(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Accepted => "Accepted",
        Outcome::Scope => "Refused: scope",
        Outcome::Address => "Refused: address",
        Outcome::RateLimit => "Refused: rate limit",
        Outcome::Expired => "Refused: expired",
    }
}

/// `count` buckets of `step` seconds ending with the one that holds `now`, filled from
/// `hours` (hour start, counts by outcome; hours outside are ignored).
fn buckets(hours: &[(i64, [i64; 5])], now: i64, step: i64, count: i64) -> (i64, Vec<[i64; 5]>) {
    let last_start = now - now.rem_euclid(step);
    let first = last_start - (count - 1) * step;
    let mut out = vec![[0i64; 5]; usize::try_from(count).unwrap_or(0)];
    for (hour, counts) in hours {
        if *hour < first || *hour >= last_start + step {
            continue;
        }
        let i = usize::try_from((hour - first) / step).unwrap_or(0);
        if let Some(b) = out.get_mut(i) {
            for (a, c) in b.iter_mut().zip(counts) {
                *a += c;
            }
        }
    }
    (first, out)
}

/// The shape of one kind of chart.
struct Layout {
    id: &'static str,
    title: &'static str,
    /// Seconds per bar.
    step: i64,
    /// Bars.
    count: i64,
    bar_width: i64,
    gap: i64,
    /// A bar's period in words.
    label: fn(i64) -> String,
    /// "hour", "day".
    unit: &'static str,
}

const HOURLY: Layout = Layout {
    id: "hourly",
    title: "Requests per hour, last 48 hours",
    step: 3_600,
    count: 48,
    bar_width: 10,
    gap: 2,
    label: timefmt::day_hour,
    unit: "hour",
};

const DAILY: Layout = Layout {
    id: "daily",
    title: "Requests per day, last 30 days",
    step: 86_400,
    count: 30,
    bar_width: 16,
    gap: 3,
    label: timefmt::day,
    unit: "day",
};

fn draw(l: &Layout, hours: &[(i64, [i64; 5])], now: i64) -> Chart {
    let (first, data) = buckets(hours, now, l.step, l.count);
    let Layout {
        id,
        title,
        step,
        bar_width,
        gap,
        label,
        unit,
        ..
    } = *l;
    let max = data
        .iter()
        .map(|c| c.iter().sum::<i64>())
        .max()
        .unwrap_or(0);
    let n = i64::try_from(data.len()).unwrap_or(0);
    let mut bars = vec![];
    let mut rows = vec![];
    let (mut accepted, mut refused) = (0, 0);
    for (i, counts) in data.iter().enumerate() {
        let i = i64::try_from(i).unwrap_or(0);
        let start = first + i * step;
        let total: i64 = counts.iter().sum();
        accepted += counts[0];
        refused += total - counts[0];
        // Heights from cumulative sums, so rounding never makes a stack taller than its total.
        let mut segments = vec![];
        let mut below = 0;
        let mut cumulative = 0;
        for (o, c) in Outcome::ALL.iter().zip(counts) {
            if *c == 0 {
                continue;
            }
            cumulative += c;
            let top = if max == 0 {
                0
            } else {
                (cumulative * PLOT_HEIGHT + max - 1) / max
            }
            .max(below + 1);
            segments.push(Segment {
                y: PLOT_HEIGHT - top,
                height: top - below,
                class: class_of(*o),
            });
            below = top;
        }
        let when = label(start);
        bars.push(Bar {
            x: i * (bar_width + gap),
            segments,
            title: format!(
                "{when}: {} accepted, {} refused",
                counts[0],
                total - counts[0]
            ),
        });
        rows.push(Row {
            label: when,
            counts: *counts,
            total,
        });
    }
    let axis = [0, n / 3, 2 * n / 3, n - 1]
        .iter()
        .filter_map(|i| rows.get(usize::try_from(*i).ok()?).map(|r| r.label.clone()))
        .collect();
    let last = rows.last().map_or(0, |r| r.total);
    Chart {
        summary: format!(
            "{} accepted · {} refused · this {unit} {}",
            count(accepted),
            count(refused),
            count(last)
        ),
        max_text: format!("{} per {unit}", count(max)),
        id,
        title,
        width: n * (bar_width + gap) - gap,
        height: PLOT_HEIGHT,
        bar_width,
        last,
        bars,
        max,
        axis,
        accepted,
        refused,
        rows,
    }
}

/// Requests per hour over the last 48 hours (the current hour last).
pub fn hourly(hours: &[(i64, [i64; 5])], now: i64) -> Chart {
    draw(&HOURLY, hours, now)
}

/// Requests per day over the last 30 days (UTC days, today last).
pub fn daily(hours: &[(i64, [i64; 5])], now: i64) -> Chart {
    draw(&DAILY, hours, now)
}

/// The keys page header's usage overview: the team's last 24 hours.
pub struct Overview {
    /// Accepted requests, written out.
    pub accepted: String,
    /// Refused requests of known keys, written out.
    pub refused: String,
    /// Any refusal (the number is then shown as a warning).
    pub any_refused: bool,
    /// Sparkline points, one per hour.
    pub points: String,
}

impl Overview {
    /// From the team's hours `(hour start, accepted, refused)`: the 24 ending with `now`'s.
    pub fn new(hours: &[(i64, i64, i64)], now: i64) -> Self {
        let by_outcome: Vec<(i64, [i64; 5])> = hours
            .iter()
            .map(|(hour, accepted, refused)| (*hour, [*accepted, *refused, 0, 0, 0]))
            .collect();
        let (_, per_hour) = buckets(&by_outcome, now, 3_600, 24);
        let accepted = per_hour.iter().map(|c| c[0]).sum();
        let refused = per_hour.iter().map(|c| c[1]).sum();
        let totals: Vec<i64> = per_hour.iter().map(|c| c[0] + c[1]).collect();
        Self {
            accepted: count(accepted),
            refused: count(refused),
            any_refused: refused > 0,
            points: sparkline(&totals, 120, 24),
        }
    }
}

/// `85040` → `85,040`.
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// A sparkline: the totals as one polyline in a `width` × `height` box, oldest first.
pub fn sparkline(totals: &[i64], width: i64, height: i64) -> String {
    let max = totals.iter().copied().max().unwrap_or(0).max(1);
    let n = i64::try_from(totals.len()).unwrap_or(0).max(2);
    totals
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let x = i64::try_from(i).unwrap_or(0) * width / (n - 1);
            let y = height - 1 - t * (height - 2) / max;
            format!("{x},{y}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_768_471_200 + 1_800; // 15 Jan 2026, 10:30 UTC

    #[test]
    fn bars_stack_by_outcome_on_whole_pixels_and_never_outgrow_the_plot() {
        let this_hour = NOW - 1_800;
        let hours = vec![
            (this_hour, [90, 5, 0, 5, 0]),
            (this_hour - 3_600, [1, 0, 0, 0, 0]),
            (this_hour - 49 * 3_600, [1_000, 0, 0, 0, 0]), // outside the 48 hours
        ];
        let c = hourly(&hours, NOW);
        assert_eq!(c.bars.len(), 48);
        assert_eq!(c.max, 100);
        assert_eq!((c.accepted, c.refused, c.last), (91, 10, 100));
        let last = c.bars.last().expect("bars");
        let total: i64 = last.segments.iter().map(|s| s.height).sum();
        assert_eq!(total, PLOT_HEIGHT, "the largest bar fills the plot");
        assert_eq!(
            last.segments.iter().map(|s| s.class).collect::<Vec<_>>(),
            ["accepted", "scope", "rate"]
        );
        assert!(last.segments.iter().all(|s| s.y >= 0 && s.height >= 1));
        // One request among a hundred is still a visible pixel.
        assert_eq!(c.bars[46].segments[0].height, 1);
        assert!(c.bars[0].segments.is_empty());
        assert_eq!(c.axis.len(), 4);
        assert_eq!(c.width, 48 * 12 - 2);
        assert_eq!(last.title, "15 Jan, 10:00: 90 accepted, 10 refused");
    }

    #[test]
    fn days_add_up_their_hours() {
        let day = NOW - NOW.rem_euclid(86_400);
        let hours = vec![
            (day, [1, 0, 0, 0, 0]),
            (day + 3_600, [2, 0, 0, 0, 1]),
            (day - 86_400, [4, 0, 0, 0, 0]),
        ];
        let c = daily(&hours, NOW);
        assert_eq!(c.rows.len(), 30);
        assert_eq!(c.rows[29].counts, [3, 0, 0, 0, 1]);
        assert_eq!(c.rows[28].total, 4);
        assert_eq!(c.rows[29].label, "15 Jan");
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(85_040), "85,040");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(-1_000), "-1,000");
    }

    #[test]
    fn the_overview_counts_the_last_24_hours_only() {
        let this_hour = NOW - 1_800;
        let o = Overview::new(
            &[
                (this_hour, 1_000, 2),
                (this_hour - 23 * 3_600, 500, 0),
                (this_hour - 24 * 3_600, 9_999, 9),
            ],
            NOW,
        );
        assert_eq!((o.accepted.as_str(), o.refused.as_str()), ("1,500", "2"));
        assert!(o.any_refused);
    }

    #[test]
    fn a_sparkline_spans_its_box() {
        assert_eq!(sparkline(&[0, 5, 10], 100, 20), "0,19 50,10 100,1");
        assert_eq!(sparkline(&[], 100, 20), "");
    }
}
