//! Winter River ESP32 board: joins the hotspot, connects to the broker with its Last
//! Will, and pumps the node core — commands and ticks in, publishes and the OLED page
//! out — with the fault button (on every kind but a room) and (load boards) the load
//! knob as inputs. Wi-Fi and broker losses are retried with the protocol's `Backoff`. Every decision is in
//! `winter-river-node` (and the reconnect policy in `winter-river-protocol`); this
//! file is pins, tasks and plumbing.
#![no_std]
#![no_main]
#![deny(
    clippy::mem_forget,
    reason = "mem::forget is generally not safe to do with esp_hal types, especially those \
    holding buffers for the duration of a data transfer."
)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use core::sync::atomic::{AtomicI32, Ordering};

use embassy_executor::Spawner;
use embassy_futures::select::{Either, select};
use embassy_net::tcp::TcpSocket;
use embassy_net::{IpAddress, IpEndpoint, Ipv4Address, Runner, StackResources};
use embassy_time::{Duration, Instant, Timer};
use esp_backtrace as _;
use esp_hal::analog::adc::{Adc, AdcConfig, Attenuation};
use esp_hal::clock::CpuClock;
use esp_hal::gpio::{Input, InputConfig, Pull};
use esp_hal::i2c::master::{Config as I2cConfig, I2c};
use esp_hal::rng::Rng;
use esp_hal::time::Rate;
use esp_hal::timer::timg::TimerGroup;
use esp_radio::wifi::sta::StationConfig;
use esp_radio::wifi::{
    AuthenticationMethodConfig, Config as WifiConfig, ControllerConfig, Interface, WifiController,
};
use ssd1306::prelude::*;
use ssd1306::{I2CDisplayInterface, Ssd1306};
use static_cell::StaticCell;
use winter_river_esp32::config;
use winter_river_esp32::mqtt::{
    Session, SessionError, TCP_RX_BYTES, TCP_TX_BYTES, close_at_once, now_ms,
};
use winter_river_node::{Debouncer, Frame, NodeConfig, NodeCore, input, knob_kw};
use winter_river_protocol::{Backoff, NodeKind};

#[cfg(all(feature = "esp32", feature = "esp32c3"))]
compile_error!("enable exactly one chip feature: `esp32` or `esp32c3`");
#[cfg(not(any(feature = "esp32", feature = "esp32c3")))]
compile_error!("enable a chip feature: `esp32` (default) or `esp32c3`");

// The app descriptor the esp-idf second-stage bootloader requires.
esp_bootloader_esp_idf::esp_app_desc!();

/// RSSI of the access point's last beacon \[dBm\], written by the Wi-Fi task;
/// `i32::MIN` while not joined. Load/store only: the C3 has no atomic CAS.
static RSSI_DBM: AtomicI32 = AtomicI32::new(i32::MIN);

/// How often the button is sampled \[ms\].
const INPUT_PERIOD_MS: u64 = 20;
/// How often the knob is read \[ms\].
const KNOB_PERIOD_MS: u64 = 100;
/// ADC readings averaged per knob reading (the SAR ADC is noisy).
const KNOB_SAMPLES: u32 = 8;
/// How often the screen is re-rendered \[ms\]; it is sent over I2C only if it changed.
const REDRAW_PERIOD_MS: u64 = 250;
/// How often the Wi-Fi task reads the RSSI while joined.
const RSSI_PERIOD: Duration = Duration::from_secs(2);
/// While waiting for an IP address, how often to look \[ms\].
const NET_WAIT_STEP_MS: u64 = 100;

#[esp_rtos::main]
async fn main(spawner: Spawner) -> ! {
    esp_println::logger::init_logger_from_env();
    let peripherals = esp_hal::init(esp_hal::Config::default().with_cpu_clock(CpuClock::max()));
    // As in esp-radio's quick start: Wi-Fi needs ~50 KiB of heap.
    esp_alloc::heap_allocator!(#[esp_hal::ram(reclaimed)] size: 64 * 1024);
    esp_alloc::heap_allocator!(size: 36 * 1024);

    // The scheduler must run before the radio starts (esp-radio's docs).
    let timg0 = TimerGroup::new(peripherals.TIMG0);
    esp_rtos::start(timg0.timer0, peripherals.FROM_CPU_INTR0);

    // Pins: README.md's wiring table.
    #[cfg(feature = "esp32")]
    let (sda, scl, button_pin, knob_pin) = (
        peripherals.GPIO21,
        peripherals.GPIO22,
        peripherals.GPIO27,
        peripherals.GPIO34, // ADC1_CH6, input only
    );
    #[cfg(feature = "esp32c3")]
    let (sda, scl, button_pin, knob_pin) = (
        peripherals.GPIO5,
        peripherals.GPIO6,
        peripherals.GPIO7,
        peripherals.GPIO3, // ADC1_CH3
    );

    // ---- the node core, from build-time settings (validated by build.rs)
    let kind = NodeKind::parse(config::NODE_KIND).expect("WR_NODE_KIND checked by build.rs");
    let mut node_config = NodeConfig::new(config::NODE_ID, kind);
    node_config.prefix = String::from(config::TOPIC_PREFIX);
    node_config.status_interval_ms = config::STATUS_INTERVAL_MS;
    let mut core = NodeCore::new(node_config, now_ms()).expect("settings checked by build.rs");
    log::info!("node {} ({})", config::NODE_ID, config::NODE_KIND);

    // ---- screen: SSD1306 at 0x3C; the board runs without one if it does not answer
    let i2c = I2c::new(
        peripherals.I2C0,
        I2cConfig::default().with_frequency(Rate::from_khz(400)),
    )
    .expect("I2C at 400 kHz")
    .with_sda(sda)
    .with_scl(scl);
    let mut display = Ssd1306::new(
        I2CDisplayInterface::new(i2c),
        DisplaySize128x64,
        DisplayRotation::Rotate0,
    )
    .into_buffered_graphics_mode();
    let display_ok = display.init().is_ok();
    if !display_ok {
        log::warn!("no SSD1306 answered on I2C (check SDA/SCL and 3V3): running without a screen");
    }
    let mut shown: Option<Frame> = None;
    let redraw = move |core: &NodeCore, at_ms: u64| {
        if !display_ok {
            return;
        }
        let frame = core.render(at_ms);
        if shown.as_ref() != Some(&frame) {
            if core.draw(at_ms, &mut display).is_ok() && display.flush().is_err() {
                log::warn!("SSD1306: I2C write failed");
            }
            shown = Some(frame);
        }
    };

    // ---- fault button to GND (internal pull-up) and the load knob on ADC1
    let button = Input::new(button_pin, InputConfig::default().with_pull(Pull::Up));
    // Held at boot does not count as a press (Debouncer::new).
    let held_at_boot = button.is_low();
    let button_pressed = move || button.is_low();
    let mut adc_config = AdcConfig::new();
    let mut knob_adc_pin = adc_config.enable_pin(knob_pin, Attenuation::_11dB);
    let mut adc = Adc::new(peripherals.ADC1, adc_config);
    let read_knob = move || -> Option<u16> {
        let mut sum = 0u32;
        for _ in 0..KNOB_SAMPLES {
            sum += u32::from(nb::block!(adc.read_oneshot(&mut knob_adc_pin)).ok()?);
        }
        u16::try_from(sum / KNOB_SAMPLES).ok()
    };
    let mut board = Board {
        debouncer: Debouncer::new(held_at_boot, input::DEFAULT_SETTLE_MS, now_ms()),
        button: button_pressed,
        knob: read_knob,
        redraw,
        next_knob_ms: 0,
        next_redraw_ms: 0,
    };
    board.service(&mut core, now_ms());

    // ---- Wi-Fi station and the IP stack
    let auth = if config::WIFI_PASSWORD.is_empty() {
        AuthenticationMethodConfig::Open
    } else {
        AuthenticationMethodConfig::Wpa2Personal(
            config::WIFI_PASSWORD
                .try_into()
                .expect("WR_WIFI_PASSWORD checked by build.rs"),
        )
    };
    let station = WifiConfig::Station(
        StationConfig::default()
            .with_ssid(
                config::WIFI_SSID
                    .try_into()
                    .expect("WR_WIFI_SSID checked by build.rs"),
            )
            .with_authentication(auth),
    );
    let mut controller =
        WifiController::new(peripherals.WIFI, ControllerConfig::default()).expect("Wi-Fi init");
    controller
        .set_config(&station)
        .expect("Wi-Fi station config");
    let device = Interface::station();
    let mac = device.mac_address();

    // Seeds: the hardware RNG (entropy from the radio) mixed with the MAC, so boards
    // restarted together by a power cut do not reconnect in lockstep.
    let rng = Rng::new();
    let mac_bits = mac.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    let seed = ((u64::from(rng.random()) << 32) | u64::from(rng.random())) ^ mac_bits;

    static NET_RESOURCES: StaticCell<StackResources<3>> = StaticCell::new();
    let (stack, runner) = embassy_net::new(
        device,
        embassy_net::Config::dhcpv4(Default::default()),
        NET_RESOURCES.init(StackResources::new()),
        seed,
    );
    spawner.spawn(net_task(runner).expect("net task"));
    spawner.spawn(wifi_task(controller, seed.rotate_left(17)).expect("wifi task"));

    // ---- MQTT, reconnected with the protocol's backoff
    let broker = IpEndpoint::new(
        IpAddress::Ipv4(Ipv4Address::from(config::BROKER_IPV4)),
        config::BROKER_PORT,
    );
    let client_id = format!(
        "wr-board-{}-{:02x}{:02x}{:02x}",
        config::NODE_ID,
        mac[3],
        mac[4],
        mac[5]
    );
    let command_topic = String::from(core.command_topic());
    let engine_topic = String::from(core.engine_availability_topic());
    static TCP_RX: StaticCell<[u8; TCP_RX_BYTES]> = StaticCell::new();
    static TCP_TX: StaticCell<[u8; TCP_TX_BYTES]> = StaticCell::new();
    let tcp_rx = TCP_RX.init([0; TCP_RX_BYTES]);
    let tcp_tx = TCP_TX.init([0; TCP_TX_BYTES]);
    let credentials = config::MQTT_USERNAME.map(|user| (user, config::MQTT_PASSWORD.unwrap_or("")));
    let mut backoff = Backoff::new(seed);

    loop {
        if let Some(at_ms) = backoff.poll_timeout() {
            board.idle(&mut core, at_ms).await;
        }
        while !stack.is_config_up() {
            board.idle(&mut core, now_ms() + NET_WAIT_STEP_MS).await;
        }

        let mut socket = TcpSocket::new(stack, &mut tcp_rx[..], &mut tcp_tx[..]);
        let will = core.last_will();
        let connect = Session::connect(
            &mut socket,
            broker,
            &client_id,
            config::MQTT_KEEP_ALIVE_S,
            &will,
            credentials,
        );
        let connected = match select(connect, board.idle(&mut core, u64::MAX)).await {
            Either::First(result) => result,
            Either::Second(()) => continue,
        };
        let mut session = match connected {
            Ok(session) => session,
            Err(e) => {
                log::warn!("broker {broker} unreachable: {e:?}");
                backoff.on_failure(now_ms());
                close_at_once(&mut socket).await;
                continue;
            }
        };
        log::info!("MQTT connected to {broker} as {client_id}");

        let ended = 'session: {
            if let Err(e) = session.subscribe(&command_topic, &engine_topic).await {
                break 'session e;
            }
            backoff.on_success();
            core.handle_link(now_ms(), true);
            loop {
                while let Some(transmit) = core.poll_transmit(now_ms()) {
                    if let Err(e) = session.publish(&transmit).await {
                        break 'session e;
                    }
                }
                let until_ms = core.poll_timeout().min(now_ms() + INPUT_PERIOD_MS);
                let polled = session
                    .poll(until_ms, |topic, payload| {
                        if let Err(e) = core.handle_message(now_ms(), topic, payload) {
                            log::warn!("message refused: {}", e.reason());
                        }
                    })
                    .await;
                if let Err(e) = polled {
                    break 'session e;
                }
                if !stack.is_link_up() || !stack.is_config_up() {
                    log::warn!("Wi-Fi lost");
                    break 'session SessionError::WifiLost;
                }
                board.service(&mut core, now_ms());
            }
        };
        log::warn!("MQTT session ended: {ended:?}");
        core.handle_link(now_ms(), false);
        backoff.on_failure(now_ms());
        // `session` is no longer used, so its borrow of the socket has ended.
        close_at_once(&mut socket).await;
    }
}

/// The board's own inputs and screen, polled between network waits.
struct Board<B, K, D> {
    debouncer: Debouncer,
    /// Raw button level: `true` while pressed.
    button: B,
    /// Averaged knob reading, 0..=4095.
    knob: K,
    /// Renders the node core's page and sends it if it changed.
    redraw: D,
    next_knob_ms: u64,
    next_redraw_ms: u64,
}

impl<B, K, D> Board<B, K, D>
where
    B: FnMut() -> bool,
    K: FnMut() -> Option<u16>,
    D: FnMut(&NodeCore, u64),
{
    /// Samples the inputs, feeds them to the core, redraws when due.
    fn service(&mut self, core: &mut NodeCore, at_ms: u64) {
        if self.debouncer.sample(at_ms, (self.button)()) {
            if core.press_fault_button(at_ms) {
                log::info!("fault button pressed");
                self.next_redraw_ms = at_ms;
            } else {
                // A room: `set_fault` does not apply, so the core sends nothing.
                log::info!(
                    "fault button pressed: a {} has nothing to fail",
                    core.config().kind.as_str()
                );
            }
        }
        if core.config().kind.is_load() && at_ms >= self.next_knob_ms {
            self.next_knob_ms = at_ms + KNOB_PERIOD_MS;
            if let Some(raw) = (self.knob)() {
                let kw = knob_kw(raw, config::ADC_FULL_SCALE, config::KNOB_MAX_KW);
                if core.set_load_knob(at_ms, kw) {
                    self.next_redraw_ms = at_ms;
                }
            }
        }
        let dbm = RSSI_DBM.load(Ordering::Relaxed);
        if dbm != i32::MIN {
            core.set_wifi_rssi(dbm);
        }
        if at_ms >= self.next_redraw_ms {
            self.next_redraw_ms = at_ms + REDRAW_PERIOD_MS;
            (self.redraw)(core, at_ms);
        }
    }

    /// Serves inputs and screen until `until_ms` (never returns for `u64::MAX`).
    async fn idle(&mut self, core: &mut NodeCore, until_ms: u64) {
        loop {
            let now = now_ms();
            self.service(core, now);
            if now >= until_ms {
                return;
            }
            Timer::after_millis(INPUT_PERIOD_MS.min(until_ms - now)).await;
        }
    }
}

/// Runs the IP stack.
#[embassy_executor::task]
async fn net_task(mut runner: Runner<'static, Interface>) -> ! {
    runner.run().await
}

/// Joins the access point, retrying with backoff, and reads the RSSI while joined.
#[embassy_executor::task]
async fn wifi_task(mut controller: WifiController<'static>, seed: u64) -> ! {
    let mut backoff = Backoff::new(seed);
    loop {
        if let Some(at_ms) = backoff.poll_timeout() {
            Timer::at(Instant::from_millis(at_ms)).await;
        }
        match controller.connect_async().await {
            Ok(_) => {
                log::info!("Wi-Fi joined {}", config::WIFI_SSID);
                backoff.on_success();
                loop {
                    let dropped = select(
                        controller.wait_for_disconnect_async(),
                        Timer::after(RSSI_PERIOD),
                    )
                    .await;
                    match dropped {
                        Either::First(_) => break,
                        Either::Second(()) => {
                            if let Ok(dbm) = controller.rssi() {
                                RSSI_DBM.store(dbm, Ordering::Relaxed);
                            }
                        }
                    }
                }
                log::warn!("Wi-Fi dropped");
                RSSI_DBM.store(i32::MIN, Ordering::Relaxed);
            }
            Err(e) => log::warn!("Wi-Fi: cannot join {}: {e:?}", config::WIFI_SSID),
        }
        backoff.on_failure(now_ms());
    }
}
