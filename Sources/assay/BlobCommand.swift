import ArgumentParser
import AssayAPI
import AssayBlobs
import Foundation

/// `assay blob put` and `assay blob get`: blobs to and from a node over HTTP (docs/wallet.md, Blobs).
struct BlobCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blob", abstract: "Upload a file as a blob to a node, or download a blob into a file.",
        subcommands: [Put.self, Get.self])

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Upload FILE (resuming what the node already holds) and print its blob id.")
        @Argument(help: "The file to upload.") var file: String
        @OptionGroup var options: NodeOptions

        func run() async throws {
            let client = try BlobClient(node: options.node)
            let ref = try Self.hash(file)
            let status = try await client.status(ref.id, length: ref.length)
            if status?.complete != true {
                let missing = (0..<ref.chunkCount).filter { !(status?.held.contains($0) ?? false) }
                try await upload(missing, of: ref, with: client)
            }
            if options.json { return print(try Output.json(JSONValue.object(["id": .string(ref.id.hex), "length": .unsigned(ref.length)]))) }
            print(ref.id.hex)
        }

        /// The blob id of a file, read in chunks.
        static func hash(_ path: String) throws -> BlobRef {
            let file = try open(path)
            defer { try? file.close() }
            var hasher = BlobHasher()
            while let piece = try file.read(upToCount: blobChunkBytes), !piece.isEmpty {
                piece.withUnsafeBytes { hasher.update($0) }
            }
            return BlobRef(id: hasher.finish().id, length: hasher.byteCount)
        }

        /// Sends the `missing` chunks in runs of consecutive chunks, at most `BlobClient.requestChunks` per request.
        private func upload(_ missing: [Int], of ref: BlobRef, with client: BlobClient) async throws {
            let file = try Self.open(self.file)
            defer { try? file.close() }
            let progress = ProgressBar("uploading", total: ref.length, quiet: options.json)
            var sent = ref.length - missing.reduce(0) { $0 + UInt64(chunkLength(index: $1, length: ref.length)) }
            progress.show(sent)
            var complete = false
            for run in Self.runs(missing, longest: BlobClient.requestChunks) {
                try file.seek(toOffset: UInt64(run.lowerBound) * UInt64(blobChunkBytes))
                let byteCount = run.reduce(0) { $0 + chunkLength(index: $1, length: ref.length) }
                let bytes = try file.read(upToCount: byteCount) ?? Data()
                guard bytes.count == byteCount else { throw CommandFailure("\(self.file) changed while it was uploaded") }
                complete = try await client.put(ref, first: run.lowerBound, bytes: bytes).complete
                sent += UInt64(byteCount)
                progress.show(sent)
            }
            progress.end()
            guard complete || missing.isEmpty else {
                throw CommandFailure("the node did not report blob \(ref.id) complete after the upload")
            }
        }

        /// Consecutive indices grouped into ranges of at most `longest`.
        static func runs(_ indices: [Int], longest: Int) -> [Range<Int>] {
            var runs: [Range<Int>] = []
            for index in indices {
                if let last = runs.last, last.upperBound == index, last.count < longest {
                    runs[runs.count - 1] = last.lowerBound..<index + 1
                } else {
                    runs.append(index..<index + 1)
                }
            }
            return runs
        }

        static func open(_ path: String) throws -> FileHandle {
            guard let file = FileHandle(forReadingAtPath: path) else { throw CommandFailure("cannot read \(path)") }
            return file
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download blob ID into FILE, checking it against ID before FILE appears.")
        @Argument(help: "The blob id (64 lower-case hex digits).") var id: String
        @Option(help: "The file to write.") var out: String
        @OptionGroup var options: NodeOptions

        func run() async throws {
            guard let id = BlobID(hex: id) else { throw CommandFailure("'\(id)' is not a blob id: 64 lower-case hex digits") }
            let client = try BlobClient(node: options.node)
            guard let status = try await client.status(id), status.complete else {
                throw CommandFailure("the node at \(options.node) does not hold blob \(id) in full")
            }
            let progress = ProgressBar("downloading", total: status.length, quiet: options.json)
            try await BlobClient.writeFile(out) { file in
                try await client.download(BlobRef(id: id, length: status.length), progress: progress) {
                    try file.write(contentsOf: $0)
                }
            }
            if options.json { print(try Output.json(JSONValue.object(["id": .string(id.hex), "length": .unsigned(status.length), "file": .string(out)]))) }
        }
    }
}
