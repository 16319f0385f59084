//! Benchmark results as text for the human and Markdown reports: one line per bench with its
//! decision, a line per metric (medians, MAD, ratio and interval, outliers), and a small strip chart
//! of candidate against reference (min-max as `-`, middle half as `=`, median as `|`).

use std::fmt::Write as _;

use super::result::{BenchResult, BenchStatus, MetricResult};
use super::score::figure_name;
use super::stats::Summary;
use crate::spec::{Bytes, Metric};

/// Width of a strip chart, in characters.
const CHART_WIDTH: usize = 48;

/// Points without needless decimals: `10`, `9.5`, `9.57`.
#[must_use]
pub fn points(value: f64) -> String {
    let rounded = (value * 100.0).round() / 100.0;
    let text = format!("{rounded:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A measured value with its unit.
#[must_use]
pub fn value(metric: Metric, value: f64) -> String {
    if !value.is_finite() {
        return "-".into();
    }
    match metric {
        Metric::Memory => Bytes(value.max(0.0) as u64).to_string(),
        Metric::Wall | Metric::Cpu if value < 1e-3 => format!("{:.1} µs", value * 1e6),
        Metric::Wall | Metric::Cpu if value < 1.0 => format!("{:.2} ms", value * 1e3),
        Metric::Wall | Metric::Cpu => format!("{value:.3} s"),
    }
}

/// The mark a bench gets in a list.
#[must_use]
pub fn mark(status: BenchStatus) -> &'static str {
    match status {
        BenchStatus::Scored => "✓",
        BenchStatus::TooNoisy => "~",
        BenchStatus::Failed => "✗",
        BenchStatus::NotRun => "-",
        BenchStatus::JudgeError => "!",
    }
}

fn points_text(result: &BenchResult) -> String {
    match result.points {
        Some(earned) => format!("{}/{}", points(earned), points(result.max_points)),
        None => format!("?/{}", points(result.max_points)),
    }
}

fn metric_line(metric: &MetricResult) -> String {
    let side =
        |summary: &Summary| format!("{} ± {}", value(metric.metric, summary.median), value(metric.metric, summary.mad));
    let outliers = metric.candidate.outliers.len() + metric.reference.outliers.len();
    let flagged = if outliers > 0 { format!(" · {outliers} outlier(s) flagged, kept") } else { String::new() };
    format!(
        "{:<12} candidate {}  reference {}  ratio {:.3} [{:.3}, {:.3}]{flagged}",
        figure_name(metric.metric),
        side(&metric.candidate),
        side(&metric.reference),
        metric.ratio.ratio,
        metric.ratio.low,
        metric.ratio.high,
    )
}

/// Two strip charts on one scale, for the scored metric's samples.
#[must_use]
pub fn chart(result: &BenchResult) -> Option<String> {
    let metric = result.scored_metric;
    let values = |samples: &[super::Sample]| -> Vec<f64> { samples.iter().map(|s| s.value(metric)).collect() };
    let candidate = values(&result.samples.candidate);
    let reference = values(&result.samples.reference);
    if candidate.is_empty() || reference.is_empty() {
        return None;
    }
    let low = candidate.iter().chain(&reference).copied().fold(f64::INFINITY, f64::min);
    let high = candidate.iter().chain(&reference).copied().fold(f64::NEG_INFINITY, f64::max);
    let mut out = String::new();
    let _ = writeln!(out, "candidate |{}|", strip(&candidate, low, high, CHART_WIDTH));
    let _ = writeln!(out, "reference |{}|", strip(&reference, low, high, CHART_WIDTH));
    let _ = writeln!(out, "          {:<w$}{:>w$}", value(metric, low), value(metric, high), w = CHART_WIDTH / 2 + 1);
    Some(out)
}

/// One side's distribution on the scale `low..=high`.
fn strip(values: &[f64], low: f64, high: f64, width: usize) -> String {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let position = |x: f64| -> usize {
        if high > low { (((x - low) / (high - low)) * (width - 1) as f64).round() as usize } else { width / 2 }
    };
    let quartile = |q: f64| sorted[((q * (sorted.len() - 1) as f64).round() as usize).min(sorted.len() - 1)];
    let mut cells = vec![' '; width];
    for cell in &mut cells[position(sorted[0])..=position(sorted[sorted.len() - 1])] {
        *cell = '-';
    }
    for cell in &mut cells[position(quartile(0.25))..=position(quartile(0.75))] {
        *cell = '=';
    }
    cells[position(super::stats::median(values))] = '|';
    cells.into_iter().collect()
}

/// What a bench ran on, and how, in one line.
fn provenance(result: &BenchResult) -> String {
    let mut parts = vec![format!(
        "{} + {} runs after {} warm-up each, workload seed {}, bootstrap seed {}",
        result.samples.candidate.len(),
        result.samples.reference.len(),
        result.plan.warmup,
        result.workload.seed,
        result.metrics.first().map_or(0, |m| m.ratio.seed)
    )];
    // The usual way (a repeater per side) goes without saying; the slower one says why.
    if result.launch.starts_with("one sandbox per run") {
        parts.push(result.launch.clone());
    }
    if let Some(env) = &result.environment {
        let load = env.load_average.map_or_else(String::new, |l| format!(", load {:.2}", l[0]));
        parts.push(format!("{}, {} cores{load}", env.cpu_model.as_deref().unwrap_or("unknown CPU"), env.cores));
    }
    parts.join(" · ")
}

/// The benchmarks section of the terminal report.
#[must_use]
pub fn human(results: &[BenchResult]) -> String {
    let mut out = String::new();
    let reference = results.iter().find_map(|r| r.reference.as_deref());
    let against = reference.map_or_else(String::new, |r| format!(" (against the reference {r})"));
    let _ = writeln!(out, "benchmarks{against}");
    for result in results {
        let _ = writeln!(
            out,
            "  {} {:<20} {:>9}  {}",
            mark(result.status),
            result.name,
            points_text(result),
            result.message
        );
        if result.metrics.is_empty() {
            continue;
        }
        for metric in &result.metrics {
            let _ = writeln!(out, "      {}", metric_line(metric));
        }
        let instructions = match (&result.instructions.unavailable, result.instructions.ratio) {
            (Some(why), _) => format!("unavailable: {why}"),
            (None, Some(ratio)) => format!("ratio {ratio:.4}"),
            (None, None) => "unavailable".into(),
        };
        let _ = writeln!(out, "      instructions {instructions}");
        if let Some(chart) = chart(result) {
            for line in chart.lines() {
                let _ = writeln!(out, "      {line}");
            }
        }
        let _ = writeln!(out, "      {}", provenance(result));
    }
    out
}

/// The benchmarks section of the Markdown report: a table and, per bench, its chart.
#[must_use]
pub fn markdown(results: &[BenchResult]) -> String {
    let escape = |text: &str| text.replace('|', "\\|").replace('<', "&lt;").replace('`', "'");
    let mut out =
        String::from("#### Benchmarks\n\n| Bench | Points | Figure | Candidate | Reference | Ratio (95% CI) |\n");
    out.push_str("|---|---:|---|---:|---:|---|\n");
    for result in results {
        let Some(metric) = result.metrics.iter().find(|m| m.metric == result.scored_metric) else {
            let _ = writeln!(
                out,
                "| {} {} | {} | {} | | | |",
                mark(result.status),
                escape(&result.name),
                points_text(result),
                escape(&result.message)
            );
            continue;
        };
        let _ = writeln!(
            out,
            "| {} {} | {} | {} | {} | {} | {:.3} ({:.3}–{:.3}){} |",
            mark(result.status),
            escape(&result.name),
            points_text(result),
            figure_name(metric.metric),
            value(metric.metric, metric.candidate.median),
            value(metric.metric, metric.reference.median),
            metric.ratio.ratio,
            metric.ratio.low,
            metric.ratio.high,
            if result.status == BenchStatus::TooNoisy { " too noisy to score" } else { "" },
        );
    }
    for result in results {
        if let Some(chart) = chart(result) {
            let _ =
                write!(out, "\n`{}`: {}\n\n```text\n{chart}```\n", escape(&result.name), escape(&provenance(result)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_carry_readable_units() {
        assert_eq!(value(Metric::Wall, 0.005_123), "5.12 ms");
        assert_eq!(value(Metric::Cpu, 0.000_250), "250.0 µs");
        assert_eq!(value(Metric::Wall, 2.5), "2.500 s");
        assert_eq!(value(Metric::Memory, 2.0 * 1024.0 * 1024.0), "2 MiB");
        assert_eq!(points(9.5), "9.5");
        assert_eq!(points(10.0), "10");
    }

    #[test]
    fn strip_marks_range_middle_half_and_median() {
        let strip = strip(&[0.0, 1.0, 2.0, 3.0, 4.0], 0.0, 8.0, 9);
        assert_eq!(strip, "-=|=-    ");
    }

    #[test]
    fn strip_of_equal_values_is_one_mark() {
        assert_eq!(strip(&[1.0, 1.0], 1.0, 1.0, 5), "  |  ");
    }

    #[test]
    fn the_provenance_says_why_runs_went_one_sandbox_each() {
        let bench: crate::spec::Bench =
            toml::from_str("name = \"speed\"\npoints = 10\n[workload]\ngenerator = \"g.py\"\n").unwrap();
        let mut result = super::super::base(&bench, 1, None, None);
        result.launch = "repeater: each side's runs inside one sandbox of its own".into();
        assert!(!provenance(&result).contains("sandbox"), "{}", provenance(&result));
        result.launch = "one sandbox per run (no repeater: permission denied)".into();
        assert!(provenance(&result).ends_with("· one sandbox per run (no repeater: permission denied)"));
    }
}
