//! `client`: commands sent to the job from outside, as Flink's CLI or an
//! operator's script sends them to the REST endpoint of the leading
//! jobmanager. One command per start: the harness sets it and (re)starts
//! the host; a crash of the client loses its connection, and its restart
//! sends the same command again, under the same request id.
//!
//! Savepoints and stop-with-savepoint follow Flink's REST shape: trigger
//! (`POST /jobs/:id/stop` or `/savepoints`), then poll the request's status
//! (`GET /jobs/:id/savepoints/:trigger`) until the savepoint completed and
//! the job finished, or it failed; a failed stop is asked again, each
//! jobmanager in turn, until [`PATIENCE`] runs out.

use super::HostContext;
use super::HostResult;
use crate::io::{addr, now, sleep};
use crate::proto::{ClientRequest, ClientResponse};
use crate::wire::RpcClient;
use std::time::Duration;

/// How long the client keeps at a command, from its start, before it gives
/// up (a bound on its retries): 60 s of simulated time.
pub const PATIENCE: Duration = Duration::from_secs(60);
/// How long it waits before asking again after a refusal, a failure or an
/// unreachable jobmanager.
pub const RETRY: Duration = Duration::from_millis(200);
/// How often it polls a stop under way.
pub const POLL: Duration = Duration::from_millis(50);

/// A command for the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Stop run `run` of the job with a savepoint (no drain), request id
    /// `request`.
    StopWithSavepoint { run: u32, request: u64 },
    /// Take a savepoint of run `run` while it runs on, request id `request`.
    TriggerSavepoint { run: u32, request: u64 },
}

/// Run `command` against the leading jobmanager until it is done (the
/// savepoint completed, and for a stop the job finished; or the job ended
/// anyway) or [`PATIENCE`] runs out, then idle.
pub async fn run(ctx: HostContext, command: Command) -> HostResult {
    let (trigger, run, request) = match command {
        Command::StopWithSavepoint { run, request } => (
            ClientRequest::StopWithSavepoint { run, request },
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
    'asking: while now().saturating_sub(started) < PATIENCE {
        for jobmanager in &jobmanagers {
            let Ok(mut rest) = RpcClient::connect(jobmanager, addr::REST_PORT, limit).await else {
                continue;
            };
            match rest.call::<_, ClientResponse>(&trigger).await {
                Ok(ClientResponse::Accepted) => {}
                Ok(ClientResponse::Ended(_)) => break 'asking,
                Ok(_) | Err(_) => continue,
            }
            // Poll until the stop is decided (a broken connection: ask
            // again, of whichever jobmanager leads by then).
            while now().saturating_sub(started) < PATIENCE {
                sleep(POLL).await;
                match rest.call(&ClientRequest::Status { run, request }).await {
                    Ok(ClientResponse::Pending) => {}
                    Ok(ClientResponse::Completed { .. } | ClientResponse::Ended(_)) => {
                        break 'asking
                    }
                    Ok(_) | Err(_) => break,
                }
            }
        }
        sleep(RETRY).await;
    }
    std::future::pending::<()>().await;
    Ok(())
}
