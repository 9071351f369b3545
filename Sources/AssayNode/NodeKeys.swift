import AssayCrypto
import AssaySafetyRules

/// The node's keys by role, each from its own file (docs/operations.md): the consensus key signs proposals and
/// votes and nothing else, the node key authenticates P2P links, the account key pays for what the node sends.
public struct NodeKeys: Sendable {
    /// The consensus key, wrapped at once in the signer the engine hands to SafetyRules, its only caller.
    let validator: SchnorrSigner
    /// Authenticates P2P links; peers allow it through this validator's ledger record.
    let node: SecretKey
    /// Signs the replay worker's challenges and the evidence reporter's evidence; nil: the node sends neither.
    let account: SecretKey?

    public struct Reuse: Error, CustomStringConvertible {
        public let description: String
    }

    /// Refuses the consensus key as the node or account key: each role has a key of its own.
    public init(validatorKey: SecretKey, nodeKey: SecretKey, accountKey: SecretKey?) throws(Reuse) {
        guard nodeKey.publicKey != validatorKey.publicKey else {
            throw Reuse(description: "the node key is the consensus key: give the node a key of its own (node_key_file)")
        }
        guard accountKey?.publicKey != validatorKey.publicKey else {
            throw Reuse(description: "the account key is the consensus key: give the account a key of its own ([account])")
        }
        validator = SchnorrSigner(key: validatorKey)
        node = nodeKey
        account = accountKey
    }
}
