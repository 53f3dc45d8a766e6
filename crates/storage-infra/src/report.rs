//! Rendering plans and apply reports for people (text) and pipelines (JSON).
//! Nothing here prints secrets: plans and reports hold none.

use crate::apply::ApplyReport;
use crate::plan::Plan;

/// A plan as text.
pub fn plan_text(plan: &Plan) -> String {
    let mut out = format!("{} ({}):\n", plan.provider, plan.target);
    if plan.changes.is_empty() {
        out.push_str("  no changes: the live state matches the manifest\n");
    }
    for change in &plan.changes {
        out.push_str(&format!("  + {}\n", change.describe()));
    }
    for note in &plan.notes {
        out.push_str(&format!("  note: {note}\n"));
    }
    out
}

/// An apply report as text.
pub fn apply_text(report: &ApplyReport) -> String {
    let plan = &report.plan;
    let mut out = format!("{} ({}):\n", plan.provider, plan.target);
    if plan.changes.is_empty() {
        out.push_str("  no changes: the live state matches the manifest\n");
    }
    for change in &report.done {
        out.push_str(&format!("  done: {}\n", change.describe()));
    }
    if let Some(failed) = &report.failed {
        out.push_str(&format!(
            "  FAILED: {}: {}\n",
            failed.change.describe(),
            failed.error
        ));
    }
    for change in &report.not_attempted {
        out.push_str(&format!("  not attempted: {}\n", change.describe()));
    }
    for note in &plan.notes {
        out.push_str(&format!("  note: {note}\n"));
    }
    out
}

/// Any serialisable report as one JSON document.
pub fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value)
        .unwrap_or_else(|e| format!("{{\"error\":\"cannot render JSON: {e}\"}}"))
}
