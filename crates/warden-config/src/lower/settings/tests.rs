//! Tests of `set` statements: text in, settings or diagnostics out.
