//! One signing session on the tenant, with the signers the servers use.

use tessera_runner::Signature;

use crate::error::TenantError;
use crate::requests;
pub use crate::requests::TenantSign;
use crate::tenant::Tenant;

impl Tenant {
    /// Runs the signing session. The signature is verified (with `k256` or
    /// `ed25519-dalek`) against the key it was made with before it is returned.
    pub async fn sign(&self, req: TenantSign) -> Result<Signature, TenantError> {
        Ok(self.node.sign(requests::sign(req)).await?)
    }
}
