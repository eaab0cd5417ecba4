//! `client`: commands sent to the job from outside, as Flink's CLI or an
//! operator's script sends them to the REST endpoint of the leading
//! jobmanager. Whoever drives the client (the harness) gives it commands
//! through a shared [`Commands`] list; the client works at each on a task
//! of its own, so a savepoint asked for while a stop is under way does not
//! replace the stop. A command the client saw through is marked done; a
//! crash of the client loses its connections, and its restart sends every
//! command not yet done again, under the same request id.
//!
//! Savepoints and stop-with-savepoint follow Flink's REST shape: trigger
//! (`POST /jobs/:id/stop` or `/savepoints`), then poll the request's status
//! (`GET /jobs/:id/savepoints/:trigger`) until the savepoint completed and
//! the job finished, or it failed; a failed request is asked again, each
//! jobmanager in turn, until [`PATIENCE`] runs out.

use super::HostContext;
use super::HostResult;
use crate::io::{addr, now, sleep, spawn};
use crate::proto::{ClientRequest, ClientResponse};
use crate::wire::RpcClient;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use tokio::sync::Notify;

/// How long the client keeps at a command, from its start, before it gives
/// up (a bound on its retries): 60 s of simulated time.
pub const PATIENCE: Duration = Duration::from_secs(60);
/// How long it waits before asking again after a refusal, a failure or an
/// unreachable jobmanager.
pub const RETRY: Duration = Duration::from_millis(200);
/// How often it polls a request under way.
pub const POLL: Duration = Duration::from_millis(50);
/// The most commands one client is given over a simulation (a bound on
/// its tasks): [`Commands::give`] refuses more.
pub const MAX_COMMANDS: usize = 64;

/// A command for the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Stop run `run` of the job with a savepoint, request id `request`;
    /// `drain`: end its input first (`flink stop --drain`).
    StopWithSavepoint { run: u32, request: u64, drain: bool },
    /// Take a savepoint of run `run` while it runs on, request id `request`.
    TriggerSavepoint { run: u32, request: u64 },
}

/// The commands given to the client, in the order given, each with whether
/// it is done with: shared between the client, which marks them done, and
/// whoever gives them. Cloning shares the list.
#[derive(Debug, Clone, Default)]
pub struct Commands {
    given: Rc<RefCell<Vec<(Command, bool)>>>,
    more: Rc<Notify>,
}

impl Commands {
    /// Give the client `command`: a running client starts on it at once, a
    /// client that is down when it restarts. Errors: [`MAX_COMMANDS`] were
    /// given already.
    pub fn give(&self, command: Command) -> Result<(), String> {
        let mut given = self.given.borrow_mut();
        if given.len() >= MAX_COMMANDS {
            return Err(format!(
                "the client was given {MAX_COMMANDS} commands already"
            ));
        }
        given.push((command, false));
        self.more.notify_one();
        Ok(())
    }

    /// Mark every command done with: a client that restarts from now on
    /// sends none of them again (a task still at one runs on).
    pub fn retire_all(&self) {
        for (_, done) in self.given.borrow_mut().iter_mut() {
            *done = true;
        }
    }

    /// The commands from index `from` on that are not done, with their
    /// indices.
    fn undone(&self, from: usize) -> Vec<(usize, Command)> {
        let given = self.given.borrow();
        (given.iter().enumerate().skip(from))
            .filter(|(_, (_, done))| !done)
            .map(|(i, (command, _))| (i, *command))
            .collect()
    }

    fn len(&self) -> usize {
        self.given.borrow().len()
    }

    fn done(&self, index: usize) {
        if let Some((_, done)) = self.given.borrow_mut().get_mut(index) {
            *done = true;
        }
    }
}

/// Work at every command of `commands` not done yet, and at each one given
/// later, each on a task of its own ([`one`]); never returns.
pub async fn run(ctx: HostContext, commands: Commands) -> HostResult {
    let mut seen = 0;
    loop {
        for (index, command) in commands.undone(seen) {
            let (ctx, commands) = (ctx.clone(), commands.clone());
            spawn(async move {
                one(&ctx, command).await;
                commands.done(index);
            });
        }
        seen = commands.len();
        commands.more.notified().await;
    }
}

/// Run `command` against the leading jobmanager until it is done (the
/// savepoint completed, and for a stop the job finished; or the job ended
/// anyway) or [`PATIENCE`] runs out.
async fn one(ctx: &HostContext, command: Command) {
    let (trigger, run, request) = match command {
        Command::StopWithSavepoint {
            run,
            request,
            drain,
        } => (
            ClientRequest::StopWithSavepoint {
                run,
                request,
                drain,
            },
            run,
            request,
        ),
        Command::TriggerSavepoint { run, request } => (
            ClientRequest::TriggerSavepoint { run, request },
            run,
            request,
        ),
    };
    let started = now();
    let limit = ctx.config.timing.rpc_timeout;
    let jobmanagers = addr::jobmanagers(ctx.config.topology.jobmanagers);
    while now().saturating_sub(started) < PATIENCE {
        for jobmanager in &jobmanagers {
            let Ok(mut rest) = RpcClient::connect(jobmanager, addr::REST_PORT, limit).await else {
                continue;
            };
            match rest.call::<_, ClientResponse>(&trigger).await {
                Ok(ClientResponse::Accepted) => {}
                Ok(ClientResponse::Ended(_)) => return,
                Ok(_) | Err(_) => continue,
            }
            // Poll until the request is decided (a broken connection: ask
            // again, of whichever jobmanager leads by then).
            while now().saturating_sub(started) < PATIENCE {
                sleep(POLL).await;
                match rest.call(&ClientRequest::Status { run, request }).await {
                    Ok(ClientResponse::Pending) => {}
                    Ok(ClientResponse::Completed { .. } | ClientResponse::Ended(_)) => return,
                    Ok(_) | Err(_) => break,
                }
            }
        }
        sleep(RETRY).await;
    }
}
