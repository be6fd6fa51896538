//! The verdict as a table: faults by kind, alerts, Warden's resources and
//! every check, from the results JSON (so a saved run prints the same).

use serde_json::Value;

fn secs(v: &Value) -> String {
    v.as_f64().map_or("-".into(), |s| format!("{s:.1}"))
}

fn slope(v: &Value, unit: &str) -> String {
    v.as_f64()
        .map_or("-".into(), |s| format!("{s:+.1} {unit}/h"))
}

pub fn print(r: &Value) {
    let run = &r["run"];
    println!(
        "\nsoak verdict: {} services, {} min, {} faults, seed {}",
        run["services"], run["minutes"], run["faults"], run["seed"]
    );
    println!(
        "\n| fault | count | detected | repaired | detect p50 / p99 (s) | repair p50 / p99 (s) |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for f in r["faults"].as_array().into_iter().flatten() {
        println!(
            "| {} | {} | {} | {} | {} / {} | {} / {} |",
            f["fault"].as_str().unwrap_or(""),
            f["count"],
            f["detected"],
            f["repaired"],
            secs(&f["detect_p50_s"]),
            secs(&f["detect_p99_s"]),
            secs(&f["repair_p50_s"]),
            secs(&f["repair_p99_s"]),
        );
    }
    println!("\n| alerts | expected | delivered | lost | duplicated (after a Warden SIGKILL) |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for c in ["mail", "webhook"] {
        let a = &r["alerts"][c];
        println!(
            "| {c} | {} | {} | {} | {} ({}) |",
            a["expected"],
            a["delivered"],
            a["lost"].as_array().map_or(0, Vec::len),
            a["duplicated"],
            a["duplicated_after_warden_kill"]
        );
    }
    let disk = &r["disk_full"];
    if let Some(why) = disk["skipped"].as_str() {
        println!("\ndisk-full fault skipped: {why}");
    }
    let periods = disk["periods"].as_array().into_iter().flatten();
    let mut header = true;
    for p in periods {
        if header {
            println!(
                "\n| disk full at | for (s) | write errors logged | written again after (s) | faults meanwhile ok | alerts lost mail / webhook |"
            );
            println!("| --- | ---: | ---: | ---: | ---: | ---: |");
            header = false;
        }
        println!(
            "| {:.0} | {} | {} | {} | {} / {} | {} / {} |",
            p["at"].as_f64().unwrap_or(0.0),
            secs(&p["for_s"]),
            p["write_errors"],
            secs(&p["written_again_after_s"]),
            p["faults_ok"],
            p["faults"],
            p["mail_lost"],
            p["webhook_lost"]
        );
    }
    let res = &r["resources"];
    println!(
        "\n| Warden (last instance, {} samples over {:.0} s) | first | last | max | slope |",
        res["samples"],
        res["span_s"].as_f64().unwrap_or(0.0)
    );
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (name, key, unit) in [
        ("fds", "fds", "fds"),
        ("threads", "threads", "threads"),
        ("RSS (kB)", "rss_kb", "kB"),
    ] {
        let v = &res[key];
        println!(
            "| {name} | {} | {} | {} | {} |",
            v[0],
            v[1],
            v[2],
            slope(&res[format!("{key}_per_hour").as_str()], unit)
        );
    }
    println!(
        "past its first 2 minutes ({} samples): fds {}, RSS {}",
        res["settled_samples"],
        slope(&res["settled_fds_per_hour"], "fds"),
        slope(&res["settled_rss_kb_per_hour"], "kB")
    );
    println!(
        "\nstatus polls: {} ({} unanswered)",
        r["polls"], r["unanswered_polls"]
    );
    for c in r["checks"].as_array().into_iter().flatten() {
        let mark = if c["ok"] == true { "ok  " } else { "FAIL" };
        println!(
            "{mark} {}: {}",
            c["check"].as_str().unwrap_or(""),
            c["detail"].as_str().unwrap_or("")
        );
    }
}
