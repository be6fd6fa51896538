//! A generated control file of many checks in the shapes real files use,
//! valid for both Monit and Warden (shared by `parse` and `compare`).

use std::fmt::Write as _;

/// A control file of `n` checks in the shapes real files use.
pub fn generate(n: usize) -> String {
    let mut out = String::from("set daemon 30\nset logfile syslog\n\n");
    for i in 0..n {
        let _ = match i % 4 {
            0 => write!(
                out,
                "check process svc{i} with pidfile /run/svc{i}.pid\n  \
                 start program = \"/usr/bin/svc --id {i}\" with timeout 60 seconds\n  \
                 stop program = \"/usr/bin/pkill -f svc{i}\"\n  \
                 if failed port {port} protocol http request \"/health\" with timeout 5 seconds then restart\n  \
                 if cpu > 80% for 3 cycles then alert\n  \
                 if totalmem > 500 MB then restart\n  \
                 if 3 restarts within 5 cycles then unmonitor\n  \
                 group web\n\n",
                port = 1024 + i % 60000
            ),
            1 => write!(
                out,
                "check process worker{i} matching \"worker --queue q{i}\"\n  \
                 start program = \"/usr/bin/worker q{i}\"\n  \
                 if does not exist then restart\n  \
                 if children > 50 then alert\n\n"
            ),
            2 => write!(
                out,
                "check file log{i} with path /var/log/app{i}.log\n  \
                 if size > 100 MB then alert\n  \
                 if timestamp > 10 minutes then alert\n\n"
            ),
            _ => write!(
                out,
                "check host remote{i} with address 127.0.0.{}\n  \
                 if failed port 22 protocol ssh with timeout 10 seconds for 2 cycles then alert\n\n",
                1 + i % 250
            ),
        };
    }
    out
}
