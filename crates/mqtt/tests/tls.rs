//! Our MQTT links over TLS against a real Mosquitto's TLS listeners (its
//! certificate from `winter_river_tls::self_signed`): `mqtts://` and `wss://`
//! carry messages both ways, OpenSSL's `mosquitto_pub` trusts the same
//! certificate, and a wrong CA or a plain port is refused with a sentence that
//! says what to do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use winter_river_mqtt::{BrokerUrl, ClientTls, Link, LinkEvent, LinkOptions};
use winter_river_protocol::Qos;
use winter_river_testkit::{Mosquitto, MosquittoOptions, TempDir, mosquitto_available};

const WAIT: Duration = Duration::from_secs(10);

fn tls_mosquitto() -> Option<Mosquitto> {
    if !mosquitto_available() {
        eprintln!("skipped: mosquitto is not installed");
        return None;
    }
    Some(
        Mosquitto::start_with(&MosquittoOptions {
            websockets: true,
            tls: true,
            ..MosquittoOptions::default()
        })
        .unwrap(),
    )
}

fn options(name: &str) -> LinkOptions {
    let mut o = LinkOptions::new(format!("wr-test-tls-{name}-{}", std::process::id()));
    o.backoff_bounds(100, 500);
    o
}

/// Waits for the ConnAck, failing with the last reason the link gave.
async fn connected(url: &BrokerUrl, name: &str) -> Link {
    let mut link = Link::connect(url, &options(name));
    let mut last = String::from("nothing");
    let found = tokio::time::timeout(WAIT, async {
        loop {
            match link.recv().await {
                Some(LinkEvent::Connected) => return,
                Some(LinkEvent::Disconnected { reason }) => last = reason,
                Some(LinkEvent::Message { .. }) => {}
                None => panic!("{name}: link closed"),
            }
        }
    })
    .await;
    assert!(found.is_ok(), "{name} did not connect to {url}: {last}");
    link
}

/// The first reason the link gives for not connecting.
async fn refusal(url: &BrokerUrl, name: &str) -> String {
    let mut link = Link::connect(url, &options(name));
    let reason = tokio::time::timeout(WAIT, async {
        loop {
            match link.recv().await {
                Some(LinkEvent::Disconnected { reason }) => return reason,
                Some(LinkEvent::Connected) => panic!("{name} connected to {url}"),
                _ => {}
            }
        }
    })
    .await
    .unwrap();
    link.kill();
    reason
}

/// Subscribes `link` to `filter` and waits until `publisher` gets a message
/// through to it (publishing again until the subscription is in place).
async fn carries(publisher: &Link, subscriber: &mut Link, topic: &str, text: &str) {
    subscriber.subscribe(topic, Qos::AtLeastOnce).unwrap();
    let got = tokio::time::timeout(WAIT, async {
        loop {
            publisher
                .publish(topic, text.as_bytes().to_vec(), Qos::AtLeastOnce, false)
                .unwrap();
            let heard = tokio::time::timeout(Duration::from_millis(300), async {
                loop {
                    if let Some(LinkEvent::Message { topic: t, payload }) = subscriber.recv().await
                    {
                        if t == topic && payload == text.as_bytes() {
                            return;
                        }
                    }
                }
            })
            .await;
            if heard.is_ok() {
                return;
            }
        }
    })
    .await;
    assert!(got.is_ok(), "`{text}` on {topic} never arrived");
}

#[tokio::test]
async fn mqtts_and_wss_links_carry_messages_through_mosquitto_tls_listeners() {
    let Some(m) = tls_mosquitto() else { return };
    let mqtts = m.mqtts_url().unwrap();
    let wss = m.wss_url().unwrap();
    assert_eq!(
        mqtts.to_string(),
        format!("mqtts://127.0.0.1:{}", m.tls_port().unwrap())
    );
    assert_eq!(
        wss.ws_address(),
        format!("wss://127.0.0.1:{}/mqtt", m.wss_port().unwrap())
    );
    let mut over_tls = connected(&mqtts, "mqtts").await;
    let mut over_wss = connected(&wss, "wss").await;
    let plain = connected(&m.broker_url(), "plain").await;
    carries(&over_wss, &mut over_tls, "wr-tls/a", "wss to mqtts").await;
    carries(&over_tls, &mut over_wss, "wr-tls/b", "mqtts to wss").await;
    carries(&plain, &mut over_tls, "wr-tls/c", "plain to mqtts").await;
    // What a user types: the URL and --ca.
    let typed = format!("mqtts://localhost:{}", m.tls_port().unwrap());
    let url = BrokerUrl::parse_with_ca(&typed, m.ca_file()).unwrap();
    assert_eq!(url.tls.as_ref().and_then(ClientTls::ca), m.ca_file());
    connected(&url, "typed").await.kill();
    over_tls.kill();
    over_wss.kill();
    plain.kill();
}

/// OpenSSL (Mosquitto's own client) trusts the certificate `self_signed` makes,
/// as Telegraf's and Grafana's Go TLS do with it as their CA.
#[tokio::test]
async fn mosquitto_pub_trusts_the_self_signed_certificate() {
    let Some(m) = tls_mosquitto() else { return };
    let mut sub = connected(&m.mqtts_url().unwrap(), "sub").await;
    sub.subscribe("wr-tls/openssl", Qos::AtLeastOnce).unwrap();
    let port = m.tls_port().unwrap().to_string();
    let ca = m.ca_file().unwrap().display().to_string();
    let got = tokio::time::timeout(WAIT, async {
        loop {
            let out = tokio::process::Command::new("mosquitto_pub")
                .args(["-h", "localhost", "-p", &port, "--cafile", &ca])
                .args(["-t", "wr-tls/openssl", "-m", "from openssl", "-q", "1"])
                .output()
                .await
                .unwrap();
            assert!(
                out.status.success(),
                "mosquitto_pub: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let heard = tokio::time::timeout(Duration::from_millis(500), async {
                loop {
                    if let Some(LinkEvent::Message { payload, .. }) = sub.recv().await {
                        return payload;
                    }
                }
            })
            .await;
            if let Ok(p) = heard {
                return p;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(got, b"from openssl");
    sub.kill();
}

#[tokio::test]
async fn a_wrong_ca_is_refused_saying_so_over_mqtts_and_wss() {
    let Some(m) = tls_mosquitto() else { return };
    let dir = TempDir::new("wrong-ca").unwrap();
    let other =
        winter_river_tls::write_self_signed(dir.path(), &["127.0.0.1".into()], false).unwrap();
    let wrong = ClientTls::new(Some(&other.cert)).unwrap();
    let urls = [
        BrokerUrl::mqtts("127.0.0.1", m.tls_port().unwrap(), wrong.clone()),
        BrokerUrl::wss("127.0.0.1", m.wss_port().unwrap(), wrong),
    ];
    for url in urls {
        let reason = refusal(&url, "wrong-ca").await;
        assert!(reason.contains("not trusted"), "{url}: {reason}");
        assert!(
            reason.contains(&other.cert.display().to_string()),
            "{url}: {reason}"
        );
        assert!(reason.contains("--ca"), "{url}: {reason}");
    }
}

#[tokio::test]
async fn tls_to_a_plain_port_is_refused_saying_so() {
    let Some(m) = tls_mosquitto() else { return };
    let tls = ClientTls::new(m.ca_file()).unwrap();
    let url = BrokerUrl::mqtts("127.0.0.1", m.port(), tls.clone());
    let reason = refusal(&url, "plain-port").await;
    assert!(reason.contains("is it a TLS listener?"), "{reason}");
    let url = BrokerUrl::wss("127.0.0.1", m.ws_port().unwrap(), tls);
    let reason = refusal(&url, "plain-ws-port").await;
    assert!(reason.contains("is it a TLS listener?"), "{reason}");
}
