use super::*;

#[test]
fn ips_are_validated_and_canonical() {
    assert_eq!(
        parse_ip("ip", " 10.0.0.1 ").ok(),
        Some("10.0.0.1".to_string())
    );
    assert_eq!(
        parse_ip("ip", "2001:DB8:0:0::1").ok(),
        Some("2001:db8::1".to_string())
    );
    let err = parse_ip("ip", "10.0.0.256")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("`ip`") && err.contains("10.0.0.256"), "{err}");
}

#[test]
fn dates_take_both_seed_forms() {
    assert_eq!(
        parse_date("d", "2024-02-29")
            .ok()
            .map(|d| store::format_date(&d)),
        Some("2024-02-29 00:00:00".into())
    );
    assert_eq!(
        parse_date("d", "2024-02-29 13:14:15")
            .ok()
            .map(|d| store::format_date(&d)),
        Some("2024-02-29 13:14:15".into())
    );
    assert!(parse_date("d", "2023-02-29").is_err());
    assert!(parse_date("d", "yesterday").is_err());
}

#[test]
fn ports_and_filters_have_bounds() {
    assert!(check_port("port", 0).is_err());
    assert!(check_port("port", 65536).is_err());
    assert_eq!(check_port("port", 3306).ok(), Some(3306));
    assert!(check_stat_filter(3).is_err());
    assert!(check_count(-1).is_err());
}

#[test]
fn v6_targets_are_bracketed() {
    assert_eq!(instance_target("::1", 3306), "[::1]:3306");
    assert_eq!(database_target("10.0.0.1", 3306, "x"), "10.0.0.1:3306/x");
}

#[test]
fn probe_url_encodes_credentials() {
    let probe = ProbeConfig {
        user: "dba".into(),
        password: "p@ss:w/rd".into(),
        timeout_secs: 3,
    };
    assert_eq!(
        probe_url(&probe, "::1", 3307),
        "mysql://dba:p%40ss%3Aw%2Frd@[::1]:3307/"
    );
}
