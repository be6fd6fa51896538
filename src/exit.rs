//! Warden's exit codes, fixed and documented in the README: one list for
//! every command, whichever module ends it.

pub const OK: u8 = 0;
/// The control file has errors.
pub const CONFIG: u8 = 1;
/// Bad command-line usage (clap's own code).
pub const USAGE: u8 = 2;
/// `status`, `summary`, `report`, `validate`: a service is failed or
/// not monitored.
pub const SERVICE_DOWN: u8 = 3;
/// No daemon answers on the control socket.
pub const NOT_RUNNING: u8 = 4;
/// The control socket exists but this user may not use it.
pub const PERMISSION: u8 = 5;
/// No service or group has that name.
pub const UNKNOWN: u8 = 6;
/// The action was refused: the service is in passive mode.
pub const REFUSED: u8 = 7;
/// The action failed (a start program failed or timed out), a reload
/// found errors, or the daemon's answer could not be read.
pub const FAILED: u8 = 8;
