//! Proposing a session to its players, and the runner's request every player
//! makes from the same checked client request: shared by the signing
//! coordinator, the subset picker, keygen and the players.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::join_all;
use tessera_runner::SignRequest;
use tessera_session::derive::DerivationPath;
use tessera_transport::subjects;
use tessera_types::{ErrorCode, NodeId, PublicIdentity, SessionId, WalletId};

use crate::proposal::{self, Proposal, Reply};
use crate::shared::Shared;

/// Why a request ended without running to its own result: the code and the reason.
type Refusal = (ErrorCode, String);

/// How long a player has to answer a proposal.
const PROPOSAL_TIMEOUT: Duration = Duration::from_secs(5);

/// A proposal some player did not accept: the code, the reason, and that player.
pub(crate) type ProposalFailure = (ErrorCode, String, NodeId);

/// Sends the proposal to every other player; all must join.
pub(crate) async fn propose(shared: &Shared, p: &Proposal) -> Result<(), ProposalFailure> {
    let sealed = proposal::seal(shared.node.identity(), p);
    // Tenants are not asked: they join the session by its id on their own.
    let asks = p
        .players
        .iter()
        .filter(|n| *n != shared.me() && shared.is_server(n))
        .map(|n| {
            let subject = subjects::node_proposal(n);
            let sealed = sealed.clone();
            async move {
                let ask = shared.client.request(subject, sealed.into());
                let answer = match tokio::time::timeout(PROPOSAL_TIMEOUT, ask).await {
                    Ok(Ok(m)) => Reply::from_bytes(&m.payload),
                    Ok(Err(_)) | Err(_) => None,
                };
                match answer {
                    Some(Reply::Joined) => Ok(()),
                    Some(Reply::Refused { code, reason }) => {
                        Err((code, format!("{n} refused: {reason}"), n.clone()))
                    }
                    Some(Reply::Served { .. }) | None => Err((
                        ErrorCode::PeerUnavailable,
                        format!("{n} did not answer the session proposal"),
                        n.clone(),
                    )),
                }
            }
        });
    join_all(asks).await.into_iter().collect()
}

/// The runner's request for a checked client request (used by coordinator and players).
pub(crate) fn sign_request(
    session_id: &SessionId,
    m: &tessera_types::wire::SignTxMessage,
    players: Vec<NodeId>,
    dynamic_keys: BTreeMap<NodeId, PublicIdentity>,
) -> Result<SignRequest, Refusal> {
    let wallet_id =
        WalletId::new(&m.wallet_id).map_err(|e| (ErrorCode::MsgValidation, e.to_string()))?;
    Ok(SignRequest {
        session_id: session_id.clone(),
        wallet_id,
        key_type: m.key_type,
        signers: players,
        message: m.tx.clone(),
        path: DerivationPath::new(m.derivation_path.clone().unwrap_or_default()),
        dynamic_keys,
    })
}
