import AssayConsensus
import AssayCrypto
import AssayEngine
import AssayLedger
import AssayP2P
import AssayTypes
import Foundation
import Logging
import Testing

@testable import AssayNode

/// Keys by role: the consensus key signs votes only; links authenticate with node keys, allowed through the
/// validators' ledger records.
@Suite(.serialized) struct NodeKeysTests {
    static let newcomer = testKey(20)
    static let newcomerNode = testKey(21)

    /// The fixture's chain after a governance addition of `newcomer` (the single genesis validator's yes passes it),
    /// and a tip whose set two heights on includes it.
    static func grownChain() throws -> (NodeFixture, ChainTip) {
        let node = try NodeFixture()
        let add = ProposalAction.addValidator(newcomer.publicKey, power: 10, nodeKey: newcomerNode.publicKey)
        try node.commit([try node.sign(node.validator, .governancePropose(GovernanceProposal(action: add)))])
        let genesisSet = node.genesis.validators
        let grown = try ValidatorSet(genesisSet.validators + [Validator(publicKey: newcomer.publicKey, power: 10)])
        let tip = ChainTip(
            height: 1, blockHash: .zero, timeMs: 1_000, lastValidators: genesisSet,
            nextRotation: ProposerRotation(validators: genesisSet), followingRotation: ProposerRotation(validators: grown))
        return (node, tip)
    }

    @Test func theConsensusKeyIsRefusedAsTheNodeOrTheAccountKey() throws {
        let validator = testKey(1)
        #expect(throws: NodeKeys.Reuse.self) { try NodeKeys(validatorKey: validator, nodeKey: validator, accountKey: nil) }
        #expect(throws: NodeKeys.Reuse.self) {
            try NodeKeys(validatorKey: validator, nodeKey: testKey(5), accountKey: validator)
        }
        let keys = try NodeKeys(validatorKey: validator, nodeKey: testKey(5), accountKey: nil)
        #expect(keys.validator.publicKey == validator.publicKey && keys.node.publicKey == testKey(5).publicKey)
    }

    @Test func theAllowListFollowsNodeKeysThroughASetChange() throws {
        let (node, tip) = try Self.grownChain()
        let genesisMember = [NodeFixture.nodeKey.publicKey: node.validator.publicKey]
        let before = ChainTip(genesisValidators: node.genesis.validators, genesisTimeMs: 0)
        #expect(try Node.members(before, store: node.store) == genesisMember)
        // Allowed from the commit that adds it, two heights before it votes; mapped to the consensus key it votes with.
        #expect(
            try Node.members(tip, store: node.store)
                == genesisMember.merging([Self.newcomerNode.publicKey: Self.newcomer.publicKey]) { $1 })
        // The transport numbers the new node key after the genesis ones and knows the validator behind it (a gossiped
        // transaction's sender is recorded as that validator, whose power the proposer's blob quorum counts).
        let transport = P2PTransport(
            p2p: P2PService(config: P2PConfig(chainID: NodeFixture.chainID, identity: NodeFixture.nodeKey, allowedKeys: [])),
            peers: [NodeFixture.nodeKey.publicKey])
        transport.admit(try Node.members(tip, store: node.store))
        #expect(transport.peerID(of: Self.newcomerNode.publicKey) == PeerID(1))
        #expect(transport.validator(ofNode: Self.newcomerNode.publicKey) == Self.newcomer.publicKey)
        #expect(transport.validator(ofNode: Self.newcomer.publicKey) == nil)
        // Once the genesis validator is in none of the three sets, its node key is no longer allowed.
        let onlyNewcomer = try ValidatorSet([Validator(publicKey: Self.newcomer.publicKey, power: 10)])
        let replaced = ChainTip(
            height: 5, blockHash: .zero, timeMs: 5_000, lastValidators: onlyNewcomer,
            nextRotation: ProposerRotation(validators: onlyNewcomer),
            followingRotation: ProposerRotation(validators: onlyNewcomer))
        #expect(try Node.members(replaced, store: node.store) == [Self.newcomerNode.publicKey: Self.newcomer.publicKey])
        // A set member without a ledger record is an error, not a silently shorter allow-list.
        let stranger = try ValidatorSet([Validator(publicKey: testKey(30).publicKey, power: 10)])
        let unknown = ChainTip(genesisValidators: stranger, genesisTimeMs: 0)
        #expect(throws: Node.StartError.self) { try Node.members(unknown, store: node.store) }
    }

    /// Over real P2P on 127.0.0.1: a node allowing the members of the grown chain refuses the newcomer dialing with
    /// its consensus key, and accepts it dialing with its node key.
    @Test func aLinkAuthenticatedByAConsensusKeyIsRefused() async throws {
        let (node, tip) = try Self.grownChain()
        let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let log = LogLines()
        let allowed = try Node.members(tip, store: node.store).keys.filter { $0 != NodeFixture.nodeKey.publicKey }
        let listener = P2PService(
            config: P2PConfig(chainID: NodeFixture.chainID, identity: NodeFixture.nodeKey, allowedKeys: Set(allowed)),
            logger: log.logger)
        let port = try await listener.start()
        func dial(as identity: SecretKey) async throws -> P2PService {
            let dialer = P2PService(
                config: P2PConfig(
                    chainID: NodeFixture.chainID, identity: identity, peers: [PeerAddress(host: "127.0.0.1", port: port)],
                    allowedKeys: [NodeFixture.nodeKey.publicKey]),
                logger: quiet)
            try await dialer.start()
            return dialer
        }
        let withConsensusKey = try await dial(as: Self.newcomer)
        let withNodeKey = try await dial(as: Self.newcomerNode)
        let refusal = "node key \(Self.newcomer.publicKey) is not in the chain's validator list"
        #expect(await eventually { log.all.contains { $0.hasSuffix(refusal) } })
        #expect(await eventually {
            listener.connectedPeers.map(\.key) == [Self.newcomerNode.publicKey] && withNodeKey.connectedPeers.count == 1
        })
        #expect(withConsensusKey.connectedPeers.isEmpty)
        await withConsensusKey.stop()
        await withNodeKey.stop()
        await listener.stop()
    }
}
