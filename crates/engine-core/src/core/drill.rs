//! The engine's side of a live drill (docs/drills.md): the instructor's commands,
//! the reset of the site at the start, injects through the command path, the
//! retained `<p>/system/drill` and the debrief handed to the driver.

use super::*;

impl EngineCore {
    /// The drill loaded, if any.
    pub fn drill(&self) -> Option<&Drill> {
        self.drill.session.as_ref()
    }

    /// The retained `<p>/system/drill` payload as it stands.
    pub fn drill_status(&self) -> DrillStatus {
        let mut status = match &self.drill.session {
            Some(d) => d.status(),
            None => DrillStatus::default(),
        };
        status.library = self.drill.library.clone();
        status.message = self.drill.message.clone();
        status.answered = self.drill.answered;
        status.debrief = self.drill.debrief.clone();
        status
    }

    /// Loads a drill (`file` names it: its library name, or the path given to `up
    /// --drill`). Refused, with the reason also in `DrillStatus.message`, while a
    /// drill runs or when its site's node ids and kinds differ from the running
    /// site's.
    pub fn load_drill(&mut self, scenario: Scenario, file: &str) -> Result<(), String> {
        let result = self.try_load(scenario, file);
        self.drill.answered += 1;
        match &result {
            Ok(()) => self.drill_ok(),
            Err(reason) => self.drill_refused(reason.clone()),
        }
        result
    }

    fn try_load(&mut self, scenario: Scenario, file: &str) -> Result<(), String> {
        if let Some(running) = self.running_drill() {
            return Err(format!(
                "cannot load {file}: drill \"{}\" is running; stop it first",
                running.scenario().name
            ));
        }
        if let Some(mismatch) =
            winter_river_drill::site_mismatch(self.sim.topology(), &scenario.topology)
        {
            return Err(format!(
                "cannot load {file}: its site is not the one running ({mismatch}); \
                 start the engine with this drill's topology (`up --drill {file}` without --topology)"
            ));
        }
        self.drill.session = Some(Drill::new(scenario, file));
        self.drill.debrief = None;
        Ok(())
    }

    /// The driver could not read or parse library drill `file`.
    pub fn drill_load_failed(&mut self, file: &str, reason: &str) {
        self.drill.answered += 1;
        self.drill_refused(format!("cannot load {file}: {reason}"));
    }

    /// The drill files of the library folder, as the driver lists them.
    pub fn set_drill_library(&mut self, files: Vec<String>) {
        if self.drill.library != files {
            self.drill.library = files;
            self.drill.dirty = true;
        }
    }

    /// The next thing the driver must do for a drill (read a library file).
    pub fn poll_drill_request(&mut self) -> Option<DrillRequest> {
        self.drill.requests.pop_front()
    }

    /// The next finished drill whose debrief the driver must write.
    pub fn poll_debrief(&mut self) -> Option<FinishedDrill> {
        self.drill.finished.pop_front()
    }

    /// The driver wrote the debrief (its page is then served at `/drill/debrief`),
    /// or could not, and why.
    pub fn debrief_written(&mut self, result: Result<(), String>) {
        match result {
            Ok(()) => self.drill.debrief = Some(DEBRIEF_PAGE_PATH.to_string()),
            Err(reason) => {
                self.drill.debrief = None;
                self.drill.message = Some(format!("the debrief could not be written: {reason}"));
            }
        }
        self.drill.dirty = true;
    }

    fn running_drill(&self) -> Option<&Drill> {
        self.drill.session.as_ref().filter(|d| d.is_running())
    }

    /// An instructor's command from `<p>/system/drill/command`.
    pub(super) fn drill_command(&mut self, command: &DrillCommand) {
        let result = match command {
            DrillCommand::Start {} => self.start_drill(),
            DrillCommand::Stop {} => self.stop_drill(),
            DrillCommand::Inject { event } => self.inject_by_hand(*event),
            DrillCommand::Load { file } => self.request_load(file),
        };
        // A load is answered once the driver has read the file (`load_drill` or
        // `drill_load_failed`); every other command here and now.
        if !matches!(command, DrillCommand::Load { .. }) || result.is_err() {
            self.drill.answered += 1;
        }
        match result {
            Ok(()) => self.drill_ok(),
            Err(reason) => self.drill_refused(reason),
        }
    }

    /// Resets the site to the drill's starting state (its topology with its
    /// overrides, fresh) and starts the drill clock at the fresh site's first step;
    /// simulated time runs on. A finished drill starts again from the top.
    fn start_drill(&mut self) -> Result<(), String> {
        let Some(drill) = &self.drill.session else {
            return Err(self.nothing_loaded("start"));
        };
        if drill.is_running() {
            return Err(format!(
                "drill \"{}\" is already running (t={:.1}s); stop it first to start it again",
                drill.scenario().name,
                drill.clock_s()
            ));
        }
        let scenario = drill.scenario().clone();
        let file = drill.file().to_string();
        let step_ms = self.config.step_ms.max(1);
        let next_step = (self.sim.next_time_s() * 1000.0 / f64::from(step_ms)).round() as u64;
        let site = Simulator::starting_at(scenario.topology.clone(), step_ms, next_step);
        self.replace_site(site);
        let mut drill = Drill::new(scenario, file);
        drill.start(self.sim.next_time_s(), self.sim.it_kwh_unserved());
        tracing::info!(drill = %drill.scenario().name, at_s = self.sim.next_time_s(), "drill started");
        self.drill.session = Some(drill);
        self.drill.debrief = None;
        Ok(())
    }

    fn stop_drill(&mut self) -> Result<(), String> {
        match &self.drill.session {
            None => Err(self.nothing_loaded("stop")),
            Some(d) if !d.is_running() => Err(format!(
                "drill \"{}\" is not running ({}); nothing to stop",
                d.scenario().name,
                state_words(d.state())
            )),
            Some(_) => {
                self.end_drill(EndedBy::Stop);
                Ok(())
            }
        }
    }

    /// The engine is stopping: a running drill ends here (its debrief is then
    /// [`EngineCore::poll_debrief`]'s, for the driver to write before it exits), and
    /// the drill's last status is queued.
    pub fn end_drill_at_shutdown(&mut self, now_ms: u64) {
        if self.running_drill().is_some() {
            self.end_drill(EndedBy::Shutdown);
        }
        self.publish_drill_if_changed(now_ms);
    }

    /// Queues the drill's status if it changed since it was last published (after
    /// the driver wrote a debrief on its way out).
    pub fn flush_drill_status(&mut self, now_ms: u64) {
        self.publish_drill_if_changed(now_ms);
    }

    fn inject_by_hand(&mut self, index: usize) -> Result<(), String> {
        let next_s = self.sim.next_time_s();
        let Some(drill) = self.drill.session.as_mut() else {
            return Err(self.nothing_loaded("inject"));
        };
        let clock = drill.clock_at(next_s);
        let (node, command) = drill.fire_by_hand(index, clock)?;
        self.send_inject(&node, &command);
        Ok(())
    }

    /// `load {file}`: only a plain file name of the library (no paths from the
    /// network); the driver reads it.
    fn request_load(&mut self, file: &str) -> Result<(), String> {
        if let Some(running) = self.running_drill() {
            return Err(format!(
                "cannot load {file}: drill \"{}\" is running; stop it first",
                running.scenario().name
            ));
        }
        if !winter_river_protocol::is_library_file_name(file) {
            return Err(format!(
                "load `{file}`: name a drill file of the library ({}), not a path",
                self.library_words()
            ));
        }
        self.drill.requests.push_back(DrillRequest::Load {
            file: file.to_string(),
        });
        Ok(())
    }

    fn nothing_loaded(&self, verb: &str) -> String {
        format!(
            "cannot {verb}: no drill is loaded; load one of the library ({}) or start the engine with --drill FILE",
            self.library_words()
        )
    }

    fn library_words(&self) -> String {
        if self.drill.library.is_empty() {
            "the library is empty".into()
        } else {
            self.drill.library.join(", ")
        }
    }

    fn drill_ok(&mut self) {
        self.drill.message = None;
        self.drill.dirty = true;
    }

    pub(super) fn drill_refused(&mut self, reason: String) {
        tracing::warn!("drill command refused: {reason}");
        self.drill.message = Some(reason);
        self.drill.dirty = true;
    }

    /// Before each step: the injects due by its time, through the command path.
    pub(super) fn fire_due_injects(&mut self) {
        let next_s = self.sim.next_time_s();
        let Some(drill) = self.drill.session.as_mut().filter(|d| d.is_running()) else {
            return;
        };
        let clock = drill.clock_at(next_s);
        for (node, command) in drill.due_injects(clock) {
            self.send_inject(&node, &command);
        }
    }

    /// An inject goes in as an operator's command would, from channel `inject`.
    fn send_inject(&mut self, node: &str, command: &Command) {
        let topic = if node == SYSTEM_ID {
            Topic::SystemCommand
        } else {
            Topic::NodeCommand(node.to_string())
        };
        let topic = topic.to_topic(&self.config.prefix);
        let rejected = self.counters.rejected_total();
        self.accept_command(&topic, node, command, Channel::Inject);
        if self.counters.rejected_total() > rejected {
            // The drill file was checked against this site when loaded.
            tracing::error!(
                node,
                command = command.name(),
                "the engine dropped an inject"
            );
        }
    }

    /// After each step: the drill follows it, and ends at its duration.
    pub(super) fn drill_after_step(&mut self) {
        let now_s = self.sim.time_s();
        let Some(drill) = self.drill.session.as_mut().filter(|d| d.is_running()) else {
            return;
        };
        let clock = drill.clock_at(now_s);
        if drill.after_step(&self.sim, clock) {
            self.end_drill(EndedBy::Duration);
        }
    }

    fn end_drill(&mut self, ended_by: EndedBy) {
        let Some(drill) = self.drill.session.as_mut() else {
            return;
        };
        let Some(debrief) = drill.finish(ended_by) else {
            return;
        };
        tracing::info!(
            drill = %debrief.drill,
            score = debrief.score.total,
            "drill ended ({ended_by:?})"
        );
        self.drill.finished.push_back(FinishedDrill {
            file: drill.file().to_string(),
            json: debrief.to_json(),
            html: debrief_html(&debrief),
            debrief,
        });
        self.drill.dirty = true;
    }

    /// Puts a fresh site in place of the running one: the same nodes (checked on
    /// load), so the boards' links carry over by id; every node is sent its state
    /// again, and the topology again if its parameters changed.
    pub(super) fn replace_site(&mut self, site: Simulator) {
        let boards = (0..site.topology().len())
            .map(|i| {
                self.sim
                    .topology()
                    .node_index(&site.topology().node(i).id)
                    .map_or(BoardLink::Unknown, |old| self.boards[old])
            })
            .collect();
        self.boards = boards;
        self.last_update = vec![None; site.topology().len()];
        self.update_cursor = 0;
        self.sim = site;
        self.site_fingerprint = winter_river_sim::topology_fingerprint(self.sim.topology());
        match encode_topology(&self.sim.topology().to_json()) {
            Ok(payload) if payload != self.topology_payload => {
                self.topology_payload = payload;
                let topic = Topic::SystemTopology;
                self.push("topology", &topic, self.topology_payload.clone());
            }
            Ok(_) => {}
            Err(e) => tracing::error!("cannot encode the drill's topology: {e}"),
        }
    }

    /// Publishes `<p>/system/drill` when something changed, and about once a second
    /// while a drill runs (its clock).
    pub(super) fn publish_drill_if_changed(&mut self, now_ms: u64) {
        let changed =
            self.drill.dirty | self.drill.session.as_mut().is_some_and(Drill::take_changed);
        let running = self.running_drill().is_some();
        let due = self
            .drill
            .published_ms
            .is_none_or(|at| now_ms >= at + DRILL_PERIOD_MS);
        if changed || (running && due) {
            self.publish_drill(now_ms);
        }
    }

    pub(super) fn publish_drill(&mut self, now_ms: u64) {
        match encode_drill_status(&self.drill_status()) {
            Ok(payload) => {
                self.push("drill", &Topic::SystemDrill, payload);
                self.drill.published_ms = Some(now_ms);
                self.drill.dirty = false;
            }
            Err(e) => tracing::error!("cannot encode the drill status: {e}"),
        }
    }
}

fn state_words(state: DrillState) -> &'static str {
    match state {
        DrillState::None => "none loaded",
        DrillState::Loaded => "loaded, not started",
        DrillState::Running => "running",
        DrillState::Finished => "finished",
    }
}
