import AssayCrypto

/// When two nodes dial each other at once, each ends up with two connections to the other. Both must keep the
/// same one without talking about it: the connection opened by the node with the smaller key wins. Two
/// connections opened by the same side mean the older one is stale (the peer restarted), so the newer wins.
enum DuplicateConnections {
    static func keepsExisting(
        existing: ConnectionRole, new: ConnectionRole, ownKey: PublicKey, peerKey: PublicKey
    ) -> Bool {
        guard existing != new else { return false }
        let existingInitiator = existing == .initiator ? ownKey : peerKey
        let newInitiator = new == .initiator ? ownKey : peerKey
        return existingInitiator < newInitiator
    }
}
