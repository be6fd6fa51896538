//! Lowering of a rule's test: existence, resources, file, filesystem,
//! program and network-interface facts. Connection tests go to `net.rs`.

use super::super::common::{
    SyntaxNode, compiled, cycles, duration, hash_algorithm, hex_digest, integer_in, number,
    operator, quantity, span, text,
};
use super::parts::is_keyword;
use crate::grammar_rule::Rule;
use crate::lower::context::LowerContext;
use crate::model::{Direction, Operator, Quantity, Regex, Resource, Test, TimestampKind, Unit};
use crate::span::Spanned;

/// The test and whether it is inverted (`if succeeded ...`, `if link up`).
pub fn lower_test(cx: &mut LowerContext, pair: SyntaxNode<'_>) -> Option<(Spanned<Test>, bool)> {
    let at = span(&pair);
    let inverted = pair.as_rule() == Rule::t_succeeded
        || (pair.as_rule() == Rule::t_link_state
            && pair
                .clone()
                .into_inner()
                .any(|p| p.as_rule() == Rule::link_up));
    let test = match pair.as_rule() {
        Rule::t_not_exist => Test::NotExist,
        Rule::t_exist => Test::Exist,
        Rule::t_restarts => restarts(cx, pair)?,
        Rule::t_failed | Rule::t_succeeded => failed(cx, pair.into_inner().nth(1)?)?,
        Rule::t_changed => changed(cx, pair.into_inner().nth(1)?)?,
        Rule::t_link_state => Test::Link {
            changed: false,
            capacity: false,
        },
        Rule::t_timestamp => timestamp(cx, pair)?,
        Rule::t_io => io(cx, pair)?,
        Rule::t_transfer => transfer(cx, pair)?,
        _ => measured(cx, pair)?,
    };
    Some((Spanned::new(test, at), inverted))
}

fn restarts(cx: &mut LowerContext, pair: SyntaxNode<'_>) -> Option<Test> {
    let mut parts = pair.into_inner().filter(|p| !is_keyword(p));
    let count = integer_in(cx, &parts.next()?, "the number of restarts", 1, 1_000_000)? as u32;
    let cycles = cycles(cx, &parts.next()?)?;
    Some(Test::Restarts { count, cycles })
}

fn failed(cx: &mut LowerContext, pair: SyntaxNode<'_>) -> Option<Test> {
    let rule = pair.as_rule();
    let value = pair.clone().into_inner().find(|p| !is_keyword(p));
    Some(match rule {
        Rule::f_permission => Test::Permission(permission(cx, &value?)?),
        Rule::f_uid => Test::Uid(text(&value?)),
        Rule::f_gid => Test::Gid(text(&value?)),
        Rule::f_checksum => checksum(cx, pair, false)?,
        Rule::f_link => Test::Link {
            changed: false,
            capacity: false,
        },
        Rule::f_security => {
            cx.not_supported(span(&pair), "the security attribute test");
            return None;
        }
        _ => super::net::lower_net_test(cx, pair)?,
    })
}

/// `0644`, `644`, `755`: octal, at most `7777`.
fn permission(cx: &mut LowerContext, pair: &SyntaxNode<'_>) -> Option<u32> {
    match u32::from_str_radix(pair.as_str(), 8) {
        Ok(mode) if mode <= 0o7777 => Some(mode),
        _ => {
            cx.push(
                crate::Diagnostic::error(
                    span(pair),
                    format!("'{}' is not a file mode", pair.as_str()),
                )
                .with_hint("write up to four octal digits (0-7), e.g. 0644 or 755"),
            );
            None
        }
    }
}

/// `[md5|sha1|sha256] checksum [expect HEX]`: the hex must be a digest
/// of the named algorithm (or of the one its length names).
fn checksum(cx: &mut LowerContext, pair: SyntaxNode<'_>, changed: bool) -> Option<Test> {
    let mut algorithm = None;
    let mut expected = None;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::hash_algorithm => algorithm = hash_algorithm(&p),
            Rule::kw_checksum | Rule::kw_expect => {}
            _ => expected = Some(p),
        }
    }
    let expected = match expected {
        Some(p) => Some(hex_digest(cx, &p, algorithm)?.1),
        None => None,
    };
    Some(Test::Checksum {
        algorithm,
        expected,
        changed,
    })
}

fn changed(cx: &mut LowerContext, pair: SyntaxNode<'_>) -> Option<Test> {
    Some(match pair.as_rule() {
        Rule::c_pid => Test::PidChanged,
        Rule::c_ppid => Test::PpidChanged,
        Rule::c_checksum => checksum(cx, pair, true)?,
        Rule::c_timestamp => Test::Timestamp {
            which: pair.into_inner().next().and_then(timestamp_kind),
            compare: None,
            changed: true,
        },
        Rule::c_size => Test::Size {
            compare: None,
            changed: true,
        },
        Rule::c_fsflags => Test::FsFlagsChanged,
        Rule::c_permission => Test::PermissionChanged,
        Rule::c_status => Test::Status {
            compare: None,
            changed: true,
        },
        _ => Test::Link {
            changed: true,
            capacity: pair
                .into_inner()
                .any(|p| p.as_rule() == Rule::link_capacity),
        },
    })
}

fn timestamp_kind(kind: SyntaxNode<'_>) -> Option<TimestampKind> {
    match kind.into_inner().next()?.as_rule() {
        Rule::kw_atime | Rule::kw_access => Some(TimestampKind::Access),
        Rule::kw_mtime | Rule::kw_modification => Some(TimestampKind::Modify),
        Rule::kw_ctime | Rule::kw_change => Some(TimestampKind::Change),
        _ => None,
    }
}

/// The operator of a test, `=` when none is written (as in Monit).
fn op_of(pair: &SyntaxNode<'_>) -> Operator {
    pair.clone()
        .into_inner()
        .find(|p| matches!(p.as_rule(), Rule::operator | Rule::compare_op))
        .map_or(Operator::Equal, |p| match p.as_rule() {
            Rule::compare_op => compare_op(&p),
            _ => operator(&p),
        })
}

/// `older` is more seconds ago (greater), `newer` fewer.
fn compare_op(pair: &SyntaxNode<'_>) -> Operator {
    let Some(inner) = pair.clone().into_inner().next() else {
        return Operator::Equal;
    };
    match inner.as_rule() {
        Rule::age_operator if inner.as_str().eq_ignore_ascii_case("older") => Operator::Greater,
        Rule::age_operator => Operator::Less,
        _ => operator(&inner),
    }
}

fn child<'i>(pair: &SyntaxNode<'i>, rule: Rule) -> Option<SyntaxNode<'i>> {
    pair.clone().into_inner().find(|p| p.as_rule() == rule)
}

/// A `duration`, or a bare number of seconds (Monit's default unit).
fn seconds_quantity(cx: &mut LowerContext, pair: &SyntaxNode<'_>) -> Option<Quantity> {
    let value = match child(pair, Rule::duration) {
        Some(d) => duration(cx, &d)?.as_secs_f64(),
        None => {
            let n = child(pair, Rule::number)?;
            let seconds = number(cx, &n)?;
            if seconds < 0.0 {
                cx.error(span(&n), "a time cannot be negative");
                return None;
            }
            seconds
        }
    };
    Some(Quantity {
        value,
        unit: Unit::Seconds,
    })
}

fn timestamp(cx: &mut LowerContext, pair: SyntaxNode<'_>) -> Option<Test> {
    let limit = seconds_quantity(cx, &pair)?;
    Some(Test::Timestamp {
        which: child(&pair, Rule::timestamp_kind).and_then(timestamp_kind),
        compare: Some((op_of(&pair), limit)),
        changed: false,
    })
}

/// A quantity that must be a plain count (or a percentage when
/// `percent_too`): no size unit.
fn count(
    cx: &mut LowerContext,
    q: &SyntaxNode<'_>,
    what: &str,
    percent_too: bool,
) -> Option<Quantity> {
    let value = quantity(cx, q)?;
    let ok = match value.unit {
        Unit::Count => true,
        Unit::Percent => percent_too,
        _ => false,
    };
    if !ok {
        let hint = if percent_too {
            "write a number, or a percentage such as 90%"
        } else {
            "write a number without a unit"
        };
        cx.push(
            crate::Diagnostic::error(span(q), format!("{what} is a count, not a size"))
                .with_hint(hint),
        );
        return None;
    }
    Some(value)
}

/// A quantity that must be a size (a bare number is bytes) or a count.
fn no_percent(cx: &mut LowerContext, q: &SyntaxNode<'_>, what: &str) -> Option<Quantity> {
    let value = quantity(cx, q)?;
    if value.unit == Unit::Percent {
        cx.error(span(q), format!("{what} cannot be a percentage"));
        return None;
    }
    Some(value)
}

fn only_percent(cx: &mut LowerContext, q: &SyntaxNode<'_>, what: &str) -> Option<Quantity> {
    let value = quantity(cx, q)?;
    if value.unit != Unit::Percent {
        cx.push(
            crate::Diagnostic::error(span(q), format!("{what} is a percentage"))
                .with_hint("write it with '%', e.g. 90%"),
        );
        return None;
    }
    Some(value)
}

/// Tests that compare one measured value with a limit.
fn measured(cx: &mut LowerContext, pair: SyntaxNode<'_>) -> Option<Test> {
    let op = op_of(&pair);
    let q = child(&pair, Rule::quantity);
    Some(match pair.as_rule() {
        Rule::t_size => Test::Size {
            compare: Some((op, as_bytes(no_percent(cx, &q?, "a file size")?))),
            changed: false,
        },
        Rule::t_content => {
            let value = pair
                .clone()
                .into_inner()
                .find(|p| !is_keyword(p) && p.as_rule() != Rule::operator)?;
            // `if not match "x"` is Monit's old spelling of `content != "x"`.
            let negated = child(&pair, Rule::kw_not).is_some();
            // Reported at the whole test, as when validation checked it.
            let pattern = compiled(cx, span(&pair), &text(&value), Regex::new)?;
            Test::Content {
                matches: (op != Operator::NotEqual) != negated,
                pattern,
            }
        }
        Rule::t_space => {
            let inode = child(&pair, Rule::kw_inode)
                .or_else(|| child(&pair, Rule::kw_inodes))
                .is_some();
            let limit = if inode {
                count(cx, &q?, "an inode limit", true)?
            } else {
                quantity(cx, &q?)?
            };
            Test::Space {
                inode,
                free: child(&pair, Rule::space_free).is_some(),
                op,
                limit,
            }
        }
        Rule::t_status => {
            let n = child(&pair, Rule::number)?;
            let value = number(cx, &n)?;
            if value < 0.0 || value.fract() != 0.0 {
                cx.push(
                    crate::Diagnostic::error(
                        span(&n),
                        format!("'{}' is not an exit status", n.as_str()),
                    )
                    .with_hint("an exit status is a whole number from 0 (success) up"),
                );
                return None;
            }
            Test::Status {
                compare: Some((op, value as i64)),
                changed: false,
            }
        }
        Rule::t_saturation => Test::Saturation {
            op,
            limit: only_percent(cx, &q?, "saturation")?,
        },
        Rule::t_uptime => Test::Uptime {
            op,
            limit: seconds_quantity(cx, &pair)?,
        },
        Rule::t_service_time => Test::Resource {
            resource: Resource::ServiceTime,
            op,
            limit: seconds_quantity(cx, &pair)?,
        },
        _ => resource_test(cx, pair, op, q?)?,
    })
}

fn as_bytes(q: Quantity) -> Quantity {
    Quantity {
        value: q.value,
        unit: Unit::Bytes,
    }
}

fn resource_test(
    cx: &mut LowerContext,
    pair: SyntaxNode<'_>,
    op: Operator,
    q: SyntaxNode<'_>,
) -> Option<Test> {
    let r = child(&pair, Rule::resource)?.into_inner().next()?;
    let resource = match r.as_rule() {
        Rule::r_total_cpu => Resource::TotalCpu,
        Rule::r_total_memory => Resource::TotalMemory,
        Rule::r_total_fds => Resource::TotalFileDescriptors,
        Rule::r_cpu => match child(&r, Rule::cpu_kind).map(|k| k.as_str().to_ascii_lowercase()) {
            None => Resource::Cpu,
            Some(k) if k == "user" || k == "nice" || k == "guest" || k == "guestnice" => {
                Resource::CpuUser
            }
            Some(k) if k == "wait" => Resource::CpuWait,
            Some(_) => Resource::CpuSystem,
        },
        Rule::r_memory => Resource::Memory,
        Rule::r_swap => Resource::Swap,
        Rule::r_children => Resource::Children,
        Rule::r_threads => Resource::Threads,
        Rule::r_loadavg => loadavg(&r),
        _ => Resource::FileDescriptors,
    };
    let limit = match resource {
        Resource::Children => count(cx, &q, "a number of children", false)?,
        Resource::Threads => count(cx, &q, "a number of threads", false)?,
        Resource::TotalFileDescriptors => count(cx, &q, "a number of file descriptors", false)?,
        Resource::FileDescriptors => count(cx, &q, "a number of file descriptors", true)?,
        Resource::LoadAvg1
        | Resource::LoadAvg5
        | Resource::LoadAvg15
        | Resource::LoadAvg1PerCore
        | Resource::LoadAvg5PerCore
        | Resource::LoadAvg15PerCore => no_percent(cx, &q, "a load average")?,
        Resource::Cpu
        | Resource::TotalCpu
        | Resource::CpuUser
        | Resource::CpuSystem
        | Resource::CpuWait => {
            // Monit reads `cpu > 80` as 80%.
            let mut v = quantity(cx, &q)?;
            if v.unit == Unit::Bytes {
                cx.error(span(&q), "a CPU usage is a percentage, not a size");
                return None;
            }
            v.unit = Unit::Percent;
            v
        }
        _ => quantity(cx, &q)?,
    };
    Some(Test::Resource {
        resource,
        op,
        limit,
    })
}

fn loadavg(r: &SyntaxNode<'_>) -> Resource {
    let per_core = child(r, Rule::per_core).is_some();
    let period = child(r, Rule::loadavg_period)
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    match (period.starts_with("15"), period.starts_with('5'), per_core) {
        (true, _, false) => Resource::LoadAvg15,
        (true, _, true) => Resource::LoadAvg15PerCore,
        (_, true, false) => Resource::LoadAvg5,
        (_, true, true) => Resource::LoadAvg5PerCore,
        (_, _, false) => Resource::LoadAvg1,
        (_, _, true) => Resource::LoadAvg1PerCore,
    }
}

/// `[disk] read|write [activity|rate] > N unit/s | N operations/s`.
fn io(cx: &mut LowerContext, pair: SyntaxNode<'_>) -> Option<Test> {
    let op = op_of(&pair);
    let read = child(&pair, Rule::io_read).is_some();
    let ops = child(&pair, Rule::ops_unit).is_some();
    let mut limit = no_percent(cx, &child(&pair, Rule::quantity)?, "an I/O rate")?;
    limit.unit = if ops {
        Unit::OpsPerSecond
    } else {
        Unit::BytesPerSecond
    };
    let resource = match (read, ops) {
        (true, false) => Resource::ReadBytes,
        (true, true) => Resource::ReadOps,
        (false, false) => Resource::WriteBytes,
        (false, true) => Resource::WriteOps,
    };
    Some(Test::Resource {
        resource,
        op,
        limit,
    })
}

/// `upload > 10 MB/s`, `total downloaded > 1 GB in last 2 hours`.
fn transfer(cx: &mut LowerContext, pair: SyntaxNode<'_>) -> Option<Test> {
    let op = op_of(&pair);
    let direction =
        if child(&pair, Rule::kw_upload).is_some() || child(&pair, Rule::kw_uploaded).is_some() {
            Direction::Upload
        } else {
            Direction::Download
        };
    let total = child(&pair, Rule::transfer_total).is_some();
    let packets = child(&pair, Rule::packets_unit).is_some();
    let mut limit = no_percent(cx, &child(&pair, Rule::quantity)?, "a transfer")?;
    limit.unit = match (packets, total) {
        (true, false) => Unit::PacketsPerSecond,
        (true, true) => Unit::Count,
        (false, false) => Unit::BytesPerSecond,
        (false, true) => Unit::Bytes,
    };
    let window = match child(&pair, Rule::transfer_window) {
        Some(w) => Some(window(cx, w)?),
        None if total => {
            cx.push(
                crate::Diagnostic::error(span(&pair), "a total transfer needs its window")
                    .with_hint("add 'in last N minutes|hours' or 'in last day'"),
            );
            return None;
        }
        None => None,
    };
    Some(Test::Transfer {
        direction,
        op,
        limit,
        window,
    })
}

/// `in last 2 hours`, `in last day`: at most a day (Monit keeps 24 hours).
fn window(cx: &mut LowerContext, pair: SyntaxNode<'_>) -> Option<std::time::Duration> {
    let at = span(&pair);
    let value = pair.into_inner().find(|p| !is_keyword(p))?;
    let d = match value.as_rule() {
        Rule::duration => duration(cx, &value)?,
        _ => {
            let unit = value.as_str().to_ascii_lowercase();
            let secs = match unit.chars().next() {
                Some('d') => 86_400,
                Some('h') => 3_600,
                Some('s') => 1,
                _ => 60,
            };
            std::time::Duration::from_secs(secs)
        }
    };
    if d.is_zero() || d.as_secs() > 86_400 {
        cx.error(at, "the window must be between one second and one day");
        return None;
    }
    Some(d)
}
