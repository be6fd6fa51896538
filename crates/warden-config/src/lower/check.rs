//! Lowering of `check ...` blocks into [`Check`]s.

use std::path::PathBuf;

use super::Cx;
use super::common::{P, span, text};
use crate::grammar::Rule;
use crate::model::{Check, CheckKind, Mode, Program, ProcessTarget, Schedule};
use crate::span::Spanned;

pub fn lower_check(statement: P<'_>, cx: &mut Cx) -> Option<Check> {
    let whole = span(&statement);
    let mut name = None;
    let mut kind = None;
    let mut start = None;
    let mut stop = None;
    for item in statement.into_inner() {
        match item.as_rule() {
            Rule::check_process => {
                for p in item.into_inner() {
                    match p.as_rule() {
                        Rule::service_name => name = Some(Spanned::new(text(&p), span(&p))),
                        Rule::string | Rule::path | Rule::bare => {
                            kind = Some(CheckKind::Process {
                                target: ProcessTarget::Pidfile(PathBuf::from(text(&p))),
                            })
                        }
                        _ => {}
                    }
                }
            }
            Rule::start_program => start = program(cx, item),
            Rule::stop_program => stop = program(cx, item),
            _ => {}
        }
    }
    Some(Check {
        name: name?,
        kind: kind?,
        start,
        stop,
        restart: None,
        depends_on: Vec::new(),
        groups: Vec::new(),
        schedule: Schedule::default(),
        mode: Mode::default(),
        onreboot: None,
        alerts: Vec::new(),
        noalerts: Vec::new(),
        rules: Vec::new(),
        backoff: None,
        span: whole,
    })
}

fn program(cx: &mut Cx, item: P<'_>) -> Option<Program> {
    let s = item.into_inner().find(|p| p.as_rule() == Rule::string)?;
    let command = text(&s);
    let argv = match shell_words::split(&command) {
        Ok(argv) if !argv.is_empty() => argv,
        Ok(_) => {
            cx.error(span(&s), "the program is empty");
            return None;
        }
        Err(e) => {
            cx.error(span(&s), format!("cannot split the command line: {e}"));
            return None;
        }
    };
    Some(Program {
        command,
        argv,
        uid: None,
        gid: None,
        timeout: None,
        span: span(&s),
    })
}
