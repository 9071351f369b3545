import NIOCore
import NIOPosix

/// A bare TCP client, for bytes no HTTP or WebSocket client library would send.
enum RawTCP {
    struct Reply {
        /// Everything the server sent.
        let bytes: [UInt8]
        /// True when the server closed the connection (or sent what `until` waited for) before the client gave up.
        let ended: Bool

        var text: String { String(decoding: bytes, as: UTF8.self) }

        /// The bytes after the HTTP head (the first blank line), e.g. WebSocket frames after a 101 response.
        var afterHead: [UInt8] {
            let blank: [UInt8] = Array("\r\n\r\n".utf8)
            guard let start = bytes.indices.first(where: { bytes[$0...].starts(with: blank) }) else { return [] }
            return Array(bytes[(start + blank.count)...])
        }
    }

    /// Connects to 127.0.0.1:`port`, sends `bytes` (then each of `pieces`, `pause` apart) and reads until the server
    /// closes the connection or what it sent satisfies `until`. `giveUp` only keeps a broken server from hanging the
    /// test; tests assert `ended`, never a duration.
    static func exchange(
        port: Int, sending bytes: [UInt8], then pieces: [[UInt8]] = [], pause: Duration = .zero,
        until: @escaping @Sendable (Reply) -> Bool = { _ in false }, giveUp: Duration = .seconds(30)
    ) async throws -> Reply {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            // On a loaded machine a short deadline can pass between the connect and this write, and the server
            // closes first: the write then fails, and what the server did (close, maybe after an answer) is what
            // the read below sees.
            do { try await outbound.write(ByteBuffer(bytes: bytes)) } catch {}
            return await withTaskGroup(of: Reply?.self) { group in
                group.addTask {
                    var received: [UInt8] = []
                    // A reset after the server's last bytes still counts as the server closing.
                    do {
                        for try await buffer in inbound {
                            received += Array(buffer: buffer)
                            if until(Reply(bytes: received, ended: true)) { break }
                        }
                    } catch {}
                    return Task.isCancelled ? nil : Reply(bytes: received, ended: true)
                }
                group.addTask {
                    try? await Task.sleep(for: giveUp)
                    return nil
                }
                // The pieces go out on timers of the channel's event loop, not from a sleeping task: the pauses
                // stay what they say even while synchronous tests hold every thread of the cooperative pool.
                let pauseAmount = TimeAmount.nanoseconds(Int64(pause / .nanoseconds(1)))
                for (index, piece) in pieces.enumerated() {
                    channel.channel.eventLoop.scheduleTask(in: pauseAmount * (index + 1)) {
                        channel.channel.writeAndFlush(ByteBuffer(bytes: piece), promise: nil)
                    }
                }
                let first = await group.next() ?? nil
                group.cancelAll()
                return first ?? Reply(bytes: [], ended: false)
            }
        }
    }

    /// A WebSocket upgrade request for `/websocket`.
    static func webSocketUpgrade() -> [UInt8] {
        Array("""
            GET /websocket HTTP/1.1\r
            Host: 127.0.0.1\r
            Upgrade: websocket\r
            Connection: Upgrade\r
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r
            Sec-WebSocket-Version: 13\r
            \r

            """.utf8)
    }

    /// One unfragmented WebSocket frame (payload under 126 bytes), masked with `mask` when given.
    static func webSocketFrame(opcode: UInt8, payload: [UInt8], mask: [UInt8]?) -> [UInt8] {
        precondition(payload.count < 126)
        guard let mask else { return [0x80 | opcode, UInt8(payload.count)] + payload }
        let masked = payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        return [0x80 | opcode, 0x80 | UInt8(payload.count)] + mask + masked
    }

    /// The status code of the close frame that follows the HTTP head, once it has arrived.
    static func closeCode(_ reply: Reply) -> UInt16? {
        let frames = reply.afterHead
        guard frames.count >= 4, frames[0] == 0x88 else { return nil }
        return UInt16(frames[2]) << 8 | UInt16(frames[3])
    }
}
