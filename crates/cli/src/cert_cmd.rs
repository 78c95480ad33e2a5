//! `winter-river cert`: a self-signed certificate and its key for a hotspot
//! (docs/security.md, "TLS"), and what to give to whom.

use std::path::PathBuf;

use anyhow::Result;

use crate::EXIT_OK;

/// The names every certificate also gets: the Pi's own processes (and `up`'s
/// printed URLs) reach it by loopback.
const LOOPBACK: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

#[derive(Debug, clap::Args)]
pub struct CertArgs {
    /// Folder to write cert.pem and key.pem into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// A name or address clients reach the server by (repeatable): the Pi's
    /// hotspot address (192.168.4.1), its host name (raspberrypi.local).
    /// localhost, 127.0.0.1 and ::1 are always added.
    #[arg(long = "host", value_name = "NAME", required = true)]
    pub hosts: Vec<String>,
    /// Replace an existing cert.pem and key.pem (clients that trust the old
    /// certificate must then be given the new one).
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &CertArgs) -> Result<u8> {
    let mut hosts = args.hosts.clone();
    for name in LOOPBACK {
        if !hosts.iter().any(|h| h.eq_ignore_ascii_case(name)) {
            hosts.push(name.to_string());
        }
    }
    let files = winter_river_tls::write_self_signed(&args.out, &hosts, args.force)?;
    let (cert, key) = (files.cert.display(), files.key.display());
    let host = &args.hosts[0];
    let me = crate::invocation::self_command();
    println!(
        "wrote {cert}: a self-signed certificate for {} (valid {} days)",
        hosts.join(", "),
        winter_river_tls::VALIDITY_DAYS
    );
    println!(
        "wrote {key}: its private key (mode 0600: for the server only, never copy it to clients)"
    );
    println!();
    println!("The server gets both:");
    println!(
        "  up          {me} up --tls-cert {cert} --tls-key {key}   (the dashboard on https://{host}:8080/, the embedded broker's mqtts on 8883 and wss on 8884; or `web` / `broker` alone)"
    );
    println!(
        "  Mosquitto   certfile {cert} and keyfile {key} on an 8883 listener (docs/deploy.md, \"TLS\")"
    );
    println!("Every client gets cert.pem only, as the CA it trusts:");
    println!("  our clients {me} engine|nodes|watch|web --broker mqtts://{host}:8883 --ca {cert}");
    println!("  watch       --dashboard https://{host}:8080 --dashboard-ca {cert}");
    println!(
        "  mosquitto   mosquitto_sub -h {host} -p 8883 --cafile {cert} -t 'winter-river/#' -v"
    );
    println!(
        "  Telegraf    servers = [\"ssl://{host}:8883\"] and tls_ca = \"{cert}\" in [[inputs.mqtt_consumer]]"
    );
    println!(
        "  Grafana     MQTT datasource: uri tls://{host}:8883, tlsAuthWithCACert true, tlsCACert: the text of cert.pem"
    );
    println!(
        "  browsers    open https://{host}:8080/ and accept the certificate, or import cert.pem as trusted"
    );
    Ok(EXIT_OK)
}
