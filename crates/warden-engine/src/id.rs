//! A check's identity inside one running engine: its position in the
//! config, resolved from its name once at load. Names stay only at the
//! edges that outlive a config edit or face a person (the state file,
//! reload carry-over, the CLI, API paths, logs).

/// One check of the running config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CheckId(u32);

impl CheckId {
    /// The check at `index` in the config's checks; None past u32 (no
    /// config holds that many).
    pub fn new(index: usize) -> Option<CheckId> {
        u32::try_from(index).ok().map(CheckId)
    }

    /// Where the engine's per-check vectors and the status board keep it.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}
