//! Table-driven tests for the lowering of `check` blocks.
