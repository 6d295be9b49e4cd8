//! Charts drawn on the server as SVG: they need no JavaScript, print, and each comes with a
//! text alternative (`role="img"`, a title and a description) and the data table beside it.

use leptos::prelude::*;

/// One series of a bar chart.
pub struct Series {
    pub name: String,
    /// A CSS class giving its colour (`chart-a`, `chart-b`, `chart-c`).
    pub class: &'static str,
    pub values: Vec<i64>,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 28.0;

/// The top of the axis: a round number at or above `max`.
fn axis_top(max: i64) -> i64 {
    if max <= 5 {
        return 5;
    }
    let magnitude = 10_i64.pow((max as f64).log10().floor() as u32);
    [1, 2, 5, 10]
        .into_iter()
        .map(|s| s * magnitude)
        .find(|s| *s >= max)
        .unwrap_or(10 * magnitude)
}

/// Grouped vertical bars: one group per label, one bar per series.
pub fn bars(
    id: &str,
    title: String,
    description: String,
    labels: &[String],
    series: &[Series],
) -> impl IntoView {
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .max()
        .unwrap_or(0);
    let top = axis_top(max) as f64;
    let plot_w = WIDTH - LEFT - 8.0;
    let plot_h = HEIGHT - BOTTOM - 8.0;
    let group_w = plot_w / labels.len().max(1) as f64;
    let bar_w = (group_w * 0.8) / series.len().max(1) as f64;
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    // Five steps: every axis top (5, 10, 20, 50, ...) divides into whole numbers.
    let grid = (0..=5)
        .map(|i| {
            let value = top * i as f64 / 5.0;
            let y = 8.0 + plot_h - plot_h * i as f64 / 5.0;
            view! {
                <line class="chart-grid" x1=LEFT.to_string() x2=(WIDTH - 8.0).to_string() y1=y.to_string() y2=y.to_string() />
                <text class="chart-axis" x=(LEFT - 4.0).to_string() y=(y + 4.0).to_string() text-anchor="end">{super::group_digits(value.round() as i64)}</text>
            }
        })
        .collect_view();
    let mut rects = Vec::new();
    for (g, label) in labels.iter().enumerate() {
        for (s, serie) in series.iter().enumerate() {
            let v = serie.values.get(g).copied().unwrap_or(0);
            let h = if top > 0.0 {
                plot_h * v as f64 / top
            } else {
                0.0
            };
            let x = LEFT + g as f64 * group_w + group_w * 0.1 + s as f64 * bar_w;
            let y = 8.0 + plot_h - h;
            rects.push(view! {
                <rect class=serie.class x=format!("{x:.1}") y=format!("{y:.1}") width=format!("{:.1}", (bar_w - 1.0).max(1.0)) height=format!("{h:.1}")>
                    <title>{format!("{label}, {}: {}", serie.name, super::group_digits(v))}</title>
                </rect>
            });
        }
    }
    let ticks = labels
        .iter()
        .enumerate()
        .map(|(g, label)| {
            let x = LEFT + g as f64 * group_w + group_w / 2.0;
            view! { <text class="chart-axis" x=format!("{x:.1}") y=(HEIGHT - 8.0).to_string() text-anchor="middle">{label.clone()}</text> }
        })
        .collect_view();
    let legend = series
        .iter()
        .map(|s| view! { <li><span class=format!("chart-key {}", s.class) aria-hidden="true"></span>{s.name.clone()}</li> })
        .collect_view();
    view! {
        <figure class="chart">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-labelledby=format!("{title_id} {desc_id}") preserveAspectRatio="xMidYMid meet">
                <title id=title_id.clone()>{title}</title>
                <desc id=desc_id.clone()>{description}</desc>
                {grid}
                {rects}
                {ticks}
            </svg>
            <ul class="chart-legend">{legend}</ul>
        </figure>
    }
}

/// One horizontal bar split in two (provided / not provided), with the percentages written in.
pub fn split(id: &str, title: String, left: (String, i64), right: (String, i64)) -> impl IntoView {
    let title_id = format!("{id}-title");
    let left_w = left.1.clamp(0, 100) as f64 * 6.0;
    view! {
        <figure class="chart">
            <svg viewBox="0 0 600 48" role="img" aria-labelledby=title_id.clone()>
                <title id=title_id.clone()>{format!("{title}: {} {}%, {} {}%", left.0, left.1, right.0, right.1)}</title>
                <rect class="chart-a" x="0" y="4" width=format!("{left_w:.1}") height="40" />
                <rect class="chart-b" x=format!("{left_w:.1}") y="4" width=format!("{:.1}", 600.0 - left_w) height="40" />
            </svg>
            <ul class="chart-legend">
                <li><span class="chart-key chart-a" aria-hidden="true"></span>{format!("{} {}%", left.0, left.1)}</li>
                <li><span class="chart-key chart-b" aria-hidden="true"></span>{format!("{} {}%", right.0, right.1)}</li>
            </ul>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(super::axis_top(0), 5);
        assert_eq!(super::axis_top(7), 10);
        assert_eq!(super::axis_top(43), 50);
        assert_eq!(super::axis_top(1234), 2000);
        assert_eq!(super::axis_top(15_348), 20_000);
    }
}
