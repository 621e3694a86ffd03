//! A cluster's audit logs for admins: pick a time range, see the shipped objects that cover
//! it, and download its lines.
//!
//! The page is a GET form (a range is a question, not a change), and the download link
//! points straight at the API twin `GET .../audit-logs/download`: the session cookie
//! authenticates safe requests there, so the console needs no second download path.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::cluster_nav::{self, ClusterTab};
use super::error::ConsoleError;
use super::form::Ids;
use super::session::Session;
use super::view::{self, OrgContext, Tab};
use crate::domain::Action as Perm;
use crate::http::AppState;
use crate::service::{AuditListing, ServiceError};

/// Range shown when the page is opened without one.
const DEFAULT_RANGE: Duration = Duration::hours(24);

#[derive(Deserialize, Default)]
pub struct RangeForm {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// `datetime-local` inputs send `2026-11-22T10:00` (no zone); the page says the times are
/// UTC, so that is what they mean. Full RFC 3339 times pass through unchanged.
fn to_rfc3339(input: &str) -> String {
    let t = input.trim();
    let has_zone = t.ends_with('Z')
        || t.ends_with('z')
        || t.get(10..).is_some_and(|rest| rest.contains('+') || rest.contains('-'));
    match (has_zone, t.len()) {
        (true, _) => t.to_owned(),
        // YYYY-MM-DDTHH:MM
        (false, 16) => format!("{t}:00Z"),
        (false, _) => format!("{t}Z"),
    }
}

/// The value a `datetime-local` input shows for `t` (UTC, minute precision).
fn local_input(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

fn query_string(from: &str, to: &str) -> String {
    serde_urlencoded::to_string([("from", from), ("to", to)]).unwrap_or_default()
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    session: Session,
    Ids((org_id, cluster_id)): Ids<(Uuid, Uuid)>,
    Query(q): Query<RangeForm>,
) -> Result<Response, ConsoleError> {
    let ctx = OrgContext::load(&state, &session, org_id).await?;
    if !ctx.can(Perm::AccessClusterData) {
        return Err(ConsoleError::Forbidden("audit logs need the admin role".into()));
    }
    let cluster = state.cp.get_cluster(session.caller, org_id, cluster_id).await?;
    let (from_in, to_in) = if q.from.is_empty() && q.to.is_empty() {
        let now = OffsetDateTime::now_utc();
        (local_input(now - DEFAULT_RANGE), local_input(now + Duration::minutes(1)))
    } else {
        (q.from.clone(), q.to.clone())
    };
    let (from, to) = (to_rfc3339(&from_in), to_rfc3339(&to_in));
    let (listing, error, status) =
        match state.cp.list_audit_logs(session.caller, org_id, cluster_id, &from, &to).await {
            Ok(l) => (Some(l), None, StatusCode::OK),
            Err(ServiceError::Invalid(m)) => (None, Some(m), StatusCode::UNPROCESSABLE_ENTITY),
            Err(e) => return Err(e.into()),
        };
    let download = format!(
        "/v1/orgs/{org_id}/clusters/{cluster_id}/audit-logs/download?{}",
        query_string(&from, &to)
    );
    let range = Range { from_in: &from_in, to_in: &to_in, download: &download };
    let body = html! {
        (cluster_nav::header(&ctx, &cluster, ClusterTab::AuditLogs))
        (range_form(&ctx, cluster_id, &range, error.as_deref()))
        @if let Some(l) = &listing { (objects(l, &range)) }
    };
    let title = format!("Audit logs · {}", cluster.name);
    Ok((status, view::org_page(&title, &session, &ctx, Tab::Clusters, body)).into_response())
}

struct Range<'a> {
    from_in: &'a str,
    to_in: &'a str,
    download: &'a str,
}

fn range_form(ctx: &OrgContext, cluster_id: Uuid, r: &Range<'_>, error: Option<&str>) -> Markup {
    let action = format!("/console/orgs/{}/clusters/{cluster_id}/audit-logs", ctx.id());
    html! {
        section.card {
            h2 { "Audit logs" }
            p.muted { "Every request the cluster served, as written by its audit device and shipped to the cluster's audit bucket. Times are UTC." }
            form.inline-form method="get" action=(action) aria-label="Audit log range" {
                div.col {
                    label for="from" { "From (UTC)" }
                    input #from type="datetime-local" name="from" value=(r.from_in) required
                        aria-invalid=[error.map(|_| "true")];
                }
                div.col {
                    label for="to" { "To (UTC)" }
                    input #to type="datetime-local" name="to" value=(r.to_in) required
                        aria-invalid=[error.map(|_| "true")];
                }
                div.col.end { button.button type="submit" { "Show" } }
                (view::form_error(error))
            }
        }
    }
}

fn objects(l: &AuditListing, r: &Range<'_>) -> Markup {
    let lines: u64 = l.objects.iter().filter_map(|o| o.lines).sum();
    html! {
        section.card #audit-objects {
            div.page-head {
                h2 { (l.objects.len()) " log objects" @if lines > 0 { span.muted { " · " (lines) " lines" } } }
                @if !l.objects.is_empty() && !l.truncated {
                    a.button.primary href=(r.download) download { "Download JSON lines" }
                }
            }
            @if l.truncated {
                p.notice { "More objects cover this range than one page lists; choose a shorter range to see and download them all." }
            }
            @if l.objects.is_empty() {
                p { "Nothing was logged in this range (or it has not been shipped yet; nodes ship every few minutes)." }
            } @else {
                div.table-wrap { table {
                    thead { tr { th { "Node" } th { "First line" } th { "Last line" } th.hide-sm { "Lines" } th.hide-sm { "Size" } } }
                    tbody { @for o in &l.objects { tr {
                        td { "node-" (o.node_index) }
                        td { (o.start.format(&Rfc3339).unwrap_or_default()) }
                        td { (o.end.format(&Rfc3339).unwrap_or_default()) }
                        td.hide-sm { (o.lines.map_or_else(|| "–".to_owned(), |n| n.to_string())) }
                        td.hide-sm { (o.size) " B" }
                    } } }
                } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_rfc3339_table() {
        let check = |input: &str, expect: &str| assert_eq!(to_rfc3339(input), expect, "{input}");
        check("2026-11-22T10:00", "2026-11-22T10:00:00Z");
        check("2026-11-22T10:00:30", "2026-11-22T10:00:30Z");
        check("2026-11-22T10:00:00Z", "2026-11-22T10:00:00Z");
        check("2026-11-22T10:00:00+02:00", "2026-11-22T10:00:00+02:00");
        check("2026-11-22T10:00:00-05:00", "2026-11-22T10:00:00-05:00");
        check(" 2026-11-22T10:00 ", "2026-11-22T10:00:00Z");
        // Garbage stays garbage for the service to refuse with its own message.
        check("yesterday", "yesterdayZ");
    }

    #[test]
    fn local_input_is_what_to_rfc3339_reads_back() {
        let t = OffsetDateTime::from_unix_timestamp(1_795_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let shown = local_input(t);
        assert_eq!(shown.len(), 16, "{shown}");
        let back = OffsetDateTime::parse(&to_rfc3339(&shown), &Rfc3339).ok();
        assert_eq!(
            back.map(|b| b.unix_timestamp()),
            Some(t.unix_timestamp() - t.unix_timestamp() % 60)
        );
    }

    #[test]
    fn query_string_escapes_offsets() {
        assert_eq!(
            query_string("2026-11-22T10:00:00+02:00", "2026-11-22T11:00:00Z"),
            "from=2026-11-22T10%3A00%3A00%2B02%3A00&to=2026-11-22T11%3A00%3A00Z"
        );
    }
}
