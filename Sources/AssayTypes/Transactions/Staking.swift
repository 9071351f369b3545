import AssayCodec

/// Bonds `amount` base units of the sender's balance as stake (validators and providers).
public struct Stake: Hashable, Sendable, CanonicalCodable {
    public var amount: Amount

    public init(amount: Amount) { self.amount = amount }

    public func encode(to writer: inout CanonicalWriter) { writer.write(amount) }
    public init(from reader: inout CanonicalReader) throws(CodecError) { amount = try reader.readUInt64() }
}

/// Starts unbonding `amount` of the sender's bonded stake; it returns to the balance after `unbonding_blocks`
/// and stays slashable until then.
public struct Unstake: Hashable, Sendable, CanonicalCodable {
    public var amount: Amount

    public init(amount: Amount) { self.amount = amount }

    public func encode(to writer: inout CanonicalWriter) { writer.write(amount) }
    public init(from reader: inout CanonicalReader) throws(CodecError) { amount = try reader.readUInt64() }
}
