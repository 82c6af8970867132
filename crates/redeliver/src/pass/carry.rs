//! The ledger carried between GitHub Actions runs in the variable `NAME_LEDGER`, next to the
//! docs script's `NAME` (format and limits in [`redeliver_core::state::carry`]): read with the
//! stored time, merged into the runner's fresh ledger before planning, written back at the end.
//! So the Actions-variable store keeps each event's ladder, the cap and give-ups across runs,
//! including redeliveries GitHub refused, which leave no trace in its record.

use super::client::client;
use crate::config::{Target, VariableSettings};
use crate::exit::Failure;
use redeliver_core::github::{ActionsVariable, Credentials, VariableName};
use redeliver_core::plan::Memory;
use redeliver_core::state::Ledger;
use redeliver_core::state::carry::{Carried, LEDGER_SUFFIX, VARIABLE_LIMIT};
use std::collections::HashMap;

/// The carried ledger as read at the start of a pass.
pub struct CarriedLedger {
    variable: ActionsVariable,
    /// The value as read; `None` when the variable does not exist yet.
    value: Option<String>,
    carried: Carried,
}

/// What the end of a pass wrote to the carried ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CarriedWrite {
    /// Events the variable now carries.
    pub events: u64,
    /// Entries left out to fit GitHub's size limit on a variable.
    pub dropped: u64,
}

impl CarriedLedger {
    /// Reads `NAME_LEDGER` (a missing variable is an empty ledger). A value that is not in
    /// redeliver's format is a state error (exit 4) that names the variable and how to fix it.
    pub async fn read(t: &Target, v: &VariableSettings) -> Result<Self, Failure> {
        let name: VariableName = format!("{}{LEDGER_SUFFIX}", v.name)
            .parse()
            .map_err(|e| Failure::config(format!("the variable that carries the ledger: {e}")))?;
        let c = client(t, Credentials::Token(v.token.clone()))?;
        let mut variable = ActionsVariable::new(c, v.owner.clone(), v.repo.clone(), name);
        let value = variable.read_value().await?;
        let carried = Carried::parse(value.as_deref().unwrap_or_default()).map_err(|e| {
            Failure::state(anyhow::Error::new(e).context(format!("reading the {}", variable.describe()))).with_hint(
                Some(format!(
                    "delete the variable {} in {}/{} (Settings > Secrets and variables > Actions > Variables), \
                     or name another variable: redeliver writes {} and {} there",
                    variable.name(),
                    v.owner,
                    v.repo,
                    v.name,
                    variable.name()
                )),
            )
        })?;
        Ok(Self { variable, value, carried })
    }

    /// Merges what earlier runs knew into the runner's ledger, before it is read for planning.
    pub fn import(&self, key: &str, ledger: &Ledger) -> Result<(), Failure> {
        Ok(ledger.import_carried(key, &self.carried)?)
    }

    /// For a dry run, which writes no ledger: folds what earlier runs knew of these events into
    /// the memory the planner gets, by the same rules as [`CarriedLedger::import`].
    pub fn overlay<'a>(&self, memory: &mut HashMap<String, Memory>, guids: impl IntoIterator<Item = &'a str>) {
        for guid in guids {
            if let Some(e) = self.carried.events.get(guid) {
                e.merge_into(memory.entry(guid.to_string()).or_default());
            }
        }
    }

    /// Writes what the runner's ledger now knows of `key` for the next run, within GitHub's
    /// size limit; nothing is sent when the value did not change.
    pub async fn write(&mut self, key: &str, ledger: &Ledger) -> Result<CarriedWrite, Failure> {
        let carried = ledger.export_carried(key)?;
        let (value, dropped) = carried.encode(VARIABLE_LIMIT);
        if dropped > 0 {
            tracing::warn!(
                dropped,
                variable = %self.variable.name(),
                "the carried ledger did not fit in an Actions variable; the oldest resolved and given-up events were left out"
            );
        }
        let unchanged = match &self.value {
            Some(old) => *old == value,
            None => carried.events.is_empty(),
        };
        if !unchanged {
            self.variable.write_value(&value).await.map_err(Failure::state)?;
            self.value = Some(value);
        }
        Ok(CarriedWrite { events: (carried.events.len() - dropped) as u64, dropped: dropped as u64 })
    }

    /// The receiver's health the variable carried (issue 11), for a dry run on a fresh runner.
    pub fn receiver(&self) -> Option<redeliver_core::health::Receiver> {
        self.carried.receiver
    }

    /// Events the variable carried when the pass read it.
    pub fn read_events(&self) -> u64 {
        self.carried.events.len() as u64
    }
}
