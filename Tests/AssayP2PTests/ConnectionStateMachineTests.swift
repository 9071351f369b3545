import AssayCrypto
import Crypto
import NIOCore
import Testing

@testable import AssayP2P

/// Two connection state machines wired back to back, no sockets.
struct Pair {
    var initiator: ConnectionStateMachine
    var responder: ConnectionStateMachine

    init(initiatorKey: SecretKey = node(1), responderKey: SecretKey = node(2), allowed: Set<PublicKey>? = nil,
         responderChain: String = "chain", frameBytesMax: Int = 1 << 16)
    {
        let allowed = allowed ?? [initiatorKey.publicKey, responderKey.publicKey]
        initiator = ConnectionStateMachine(
            role: .initiator, identity: initiatorKey, chainID: "chain", handshakeFrameBytesMax: 1_024,
            frameBytesMax: frameBytesMax, isAllowed: { allowed.contains($0) })
        responder = ConnectionStateMachine(
            role: .responder, identity: responderKey, chainID: responderChain, handshakeFrameBytesMax: 1_024,
            frameBytesMax: frameBytesMax, isAllowed: { allowed.contains($0) })
    }

    /// Runs the handshake, feeding each side's writes to the other in chunks of `chunk` bytes; returns
    /// every non-write action and all bytes that crossed the wire.
    mutating func handshake(chunk: Int = .max) -> (initiator: [ConnectionStateMachine.Action],
                                                   responder: [ConnectionStateMachine.Action], wire: [UInt8])
    {
        var toResponder = writes(initiator.start())
        var toInitiator = writes(responder.start())
        var wire: [UInt8] = []
        var seenByInitiator: [ConnectionStateMachine.Action] = []
        var seenByResponder: [ConnectionStateMachine.Action] = []
        while !toResponder.isEmpty || !toInitiator.isEmpty {
            wire += toResponder + toInitiator
            let forResponder = toResponder
            let forInitiator = toInitiator
            toResponder = []
            toInitiator = []
            for piece in chunks(forResponder, chunk) {
                let actions = responder.receive(piece)
                toInitiator += writes(actions)
                seenByResponder += actions.filter { if case .write = $0 { false } else { true } }
            }
            for piece in chunks(forInitiator, chunk) {
                let actions = initiator.receive(piece)
                toResponder += writes(actions)
                seenByInitiator += actions.filter { if case .write = $0 { false } else { true } }
            }
        }
        return (seenByInitiator, seenByResponder, wire)
    }
}

func node(_ seed: UInt8) -> SecretKey { try! SecretKey(bytes: [UInt8](repeating: seed, count: 32)) }

func writes(_ actions: [ConnectionStateMachine.Action]) -> [UInt8] {
    actions.flatMap { action -> [UInt8] in if case let .write(bytes) = action { bytes } else { [] } }
}

/// A frame as the bytes that cross the wire.
func wire(_ frame: ByteBuffer) -> [UInt8] { Array(frame.readableBytesView) }

func chunks(_ bytes: [UInt8], _ size: Int) -> [ArraySlice<UInt8>] {
    let step = max(1, min(size, bytes.count))
    return stride(from: 0, to: bytes.count, by: step).map { bytes[$0..<min($0 + step, bytes.count)] }
}

@Suite struct ConnectionStateMachineTests {
    @Test(arguments: [1, 7, Int.max])
    func handshakeEstablishesBothSidesWithTheirPeersKeys(chunk: Int) {
        var pair = Pair()
        let result = pair.handshake(chunk: chunk)
        #expect(result.initiator == [.established(node(2).publicKey)])
        #expect(result.responder == [.established(node(1).publicKey)])
    }

    @Test func messagesCrossEncryptedInBothDirectionsWhateverTheSplit() throws {
        var pair = Pair()
        _ = pair.handshake()
        let secret = Array("attack at dawn, attack at dawn".utf8)
        let toResponder = try wire(pair.initiator.send(secret))
        let toInitiator = try wire(pair.responder.send(secret))
        // The plaintext never appears on the wire, and equal messages encrypt differently per direction.
        #expect(!(0...(toResponder.count - secret.count)).contains {
            Array(toResponder[$0..<$0 + secret.count]) == secret
        })
        #expect(toResponder != toInitiator)
        // Split at every boundary: two frames fed as two arbitrary pieces yield the two messages.
        let second = try wire(pair.initiator.send([1, 2, 3]))
        let stream = toResponder + second
        for split in 0...stream.count {
            var copy = pair.responder
            let delivered = copy.receive(stream[..<split]) + copy.receive(stream[split...])
            #expect(delivered == [.deliver(secret), .deliver([1, 2, 3])])
        }
        #expect(pair.initiator.receive(toInitiator) == [.deliver(secret)])
    }

    @Test func aTamperedOrReplayedFrameClosesTheConnection() throws {
        var pair = Pair()
        _ = pair.handshake()
        var frame = try wire(pair.initiator.send([9, 9, 9]))
        var replay = pair.responder
        #expect(replay.receive(frame) == [.deliver([9, 9, 9])])
        #expect(replay.receive(frame) == [.close(.decryptionFailed)])
        frame[frame.count - 1] ^= 1
        #expect(pair.responder.receive(frame) == [.close(.decryptionFailed)])
    }

    @Test func aBlobSizedMessageArrivesWholeWhateverTheReadSizes() throws {
        var pair = Pair(frameBytesMax: 2 << 20)
        _ = pair.handshake()
        let large = (0..<(1 << 20) + 3).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ $0 >> 16) }
        let stream = try wire(pair.initiator.send(large)) + wire(pair.initiator.send([1]))
        for piece in [3, 4_096, 65_536, 1 << 20, stream.count] {
            var copy = pair.responder
            let delivered = chunks(stream, piece).flatMap { copy.receive($0) }
            #expect(delivered == [.deliver(large), .deliver([1])], "read size \(piece)")
        }
    }

    @Test func aKeyOutsideTheAllowedSetIsRefused() {
        var pair = Pair(allowed: [node(2).publicKey])
        let result = pair.handshake()
        #expect(result.responder == [.close(.notAllowed(node(1).publicKey))])
        #expect(result.initiator == [])  // the refusing side never revealed or proved its own key
        #expect(ConnectionError.notAllowed(node(1).publicKey).description
            == "node key \(node(1).publicKey) is not in the chain's validator list")
    }

    @Test func aPeerOfAnotherChainIsRefused() {
        var pair = Pair(responderChain: "other")
        let result = pair.handshake()
        #expect(result.responder == [.close(.wrongChain("chain"))])
        #expect(result.initiator == [.close(.wrongChain("other"))])
    }

    @Test func simultaneousDialsKeepTheSameConnectionOnBothSides() {
        let (a, b) = (node(1).publicKey, node(2).publicKey)
        // Each side holds one connection it initiated and one it accepted; they must agree on which stays.
        let aKeepsItsOwnDial = !DuplicateConnections.keepsExisting(
            existing: .responder, new: .initiator, ownKey: a, peerKey: b)
        let bKeepsTheDialFromA = DuplicateConnections.keepsExisting(
            existing: .responder, new: .initiator, ownKey: b, peerKey: a)
        let smallerDials = a < b
        #expect(aKeepsItsOwnDial == smallerDials && bKeepsTheDialFromA == smallerDials)
        #expect(!DuplicateConnections.keepsExisting(existing: .initiator, new: .initiator, ownKey: a, peerKey: b))
    }

    @Test(arguments: [
        [UInt8](repeating: 0, count: 32),  // the all-zero key of issue 15
        [1] + [UInt8](repeating: 0, count: 31),  // u = 1, order 4
        hex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),  // order 8
        hex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),  // order 8
    ])
    func aLowOrderHelloKeyIsRefused(key: [UInt8]) {
        var responder = Pair().responder
        let hello = HandshakeHello(version: Handshake.version, chainID: "chain", ephemeralKey: key)
        #expect(responder.receive(FrameDecoder.frame(hello.canonicalBytes)) == [.close(.weakEphemeralKey)])
    }

    @Test func framesAreSmallUntilThePeerHasAuthenticated() throws {
        var early = Pair().responder
        #expect(early.receive([0xD0, 0x07, 0, 0]) == [.close(.frameTooLarge(bytes: 2_000, max: 1_024))])
        var pair = Pair()
        _ = pair.handshake()
        let large = [UInt8](repeating: 7, count: 2_000)
        #expect(pair.responder.receive(try wire(pair.initiator.send(large))) == [.deliver(large)])
    }

    @Test func keepalivesAreNotDeliveredAndKeepTheSessionInStep() throws {
        var pair = Pair()
        _ = pair.handshake()
        #expect(pair.responder.receive(try wire(pair.initiator.keepalive())) == [])
        #expect(pair.responder.receive(try wire(pair.initiator.send([5]))) == [.deliver([5])])
    }

    @Test func whereTheHandshakeStoodSaysWhyThePeerClosed() {
        var pair = Pair()
        #expect(pair.initiator.closedByPeerReason == .closedBeforeHello)
        // The initiator answers the responder's hello with its auth; a close now is the responder refusing it.
        _ = pair.initiator.receive(writes(pair.responder.start()))
        #expect(pair.initiator.closedByPeerReason == .closedAfterOwnAuth)
        // The responder that has the initiator's hello but not its auth saw it stop mid-handshake.
        _ = pair.responder.receive(writes(pair.initiator.start()))
        #expect(pair.responder.closedByPeerReason == .closedBeforeAuth)
        var established = Pair()
        _ = established.handshake()
        #expect(established.initiator.closedByPeerReason == nil)
    }
}

func hex(_ text: String) -> [UInt8] {
    stride(from: 0, to: text.count, by: 2).map {
        let start = text.index(text.startIndex, offsetBy: $0)
        return UInt8(text[start..<text.index(start, offsetBy: 2)], radix: 16)!
    }
}
