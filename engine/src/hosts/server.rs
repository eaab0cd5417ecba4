//! A request/response server loop shared by `log`, `sink` and `store`: one
//! task per connection, requests answered in order by a synchronous handler
//! over the host's state.

use crate::io::{spawn, TcpListener};
use crate::wire;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::cell::RefCell;
use std::rc::Rc;

pub async fn serve<S, Q, A>(
    port: u16,
    state: Rc<RefCell<S>>,
    handle: fn(&mut S, Q) -> A,
) -> super::HostResult
where
    S: 'static,
    Q: DeserializeOwned + 'static,
    A: Serialize + 'static,
{
    let listener = TcpListener::bind(("0.0.0.0", port)).await?;
    loop {
        let (mut stream, _) = listener.accept().await?;
        let state = state.clone();
        spawn(async move {
            // A broken or corrupt connection ends; the client notices and retries.
            while let Ok(req) = wire::recv::<_, Q>(&mut stream).await {
                let answer = handle(&mut state.borrow_mut(), req);
                if wire::send(&mut stream, &answer).await.is_err() {
                    break;
                }
            }
        });
    }
}
